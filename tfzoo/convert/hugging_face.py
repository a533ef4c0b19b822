"""`from_pretrained` / `save_pretrained`: local Hugging Face directories <-> tfzoo models.

Reads and writes `config.json` + safetensors only (never pickles, never downloads). Each family
that declares a `"hugging_face"` converter (`tfzoo/models/bert/bert_hf.py`, `gpt/gpt_hf.py`,
`llama/llama_hf.py` and the other decoders' `CONVERTER`) gives one slot table, walked here in both directions; a checkpoint is
matched to its family by `architectures`, else by `model_type`.
"""

import os
import types
import warnings

import numpy as np

from tfzoo.convert import gguf, sentence_transformers
from tfzoo.convert.checkpoint_io import SafetensorsCheckpoint, read_config, write_checkpoint
from tfzoo.models import SentenceEmbedding
from tfzoo.models.llama import LlamaBackbone
from tfzoo.zoo import FAMILIES

# What a family's converter module may leave out, and the value it then has.
_CONVERTER_DEFAULTS = dict(
    TIED={},  # tensor name -> the name it must equal (tied weights stored twice)
    IGNORED_SUFFIXES=(),  # buffers skipped without a warning
    NOT_SAVED={},  # architecture -> name prefixes `save_pretrained` leaves out
    LEGACY_SUFFIXES={},  # new name suffix -> the suffix older checkpoints use
    task_defaults=lambda config, task: {},  # task arguments implied by config.json
    extra_tensors=lambda model, prefix: {},  # tensors Hugging Face needs that tfzoo lacks
    unused_weights=lambda model: (),  # weights the outputs do not use: no warning if missing
)


def _converter(family):
    module = family.converters["hugging_face"]

    def architecture_of(model):
        # The architecture holding `model`'s task head, else the bare model (the backbone, or a
        # task without weights of its own such as mean pooling).
        for architecture, task in module.ARCHITECTURES.items():
            if task is not None and isinstance(model, family.tasks[task]):
                return architecture
        return next(a for a, task in module.ARCHITECTURES.items() if task is None)

    public = {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}
    defaults = dict(_CONVERTER_DEFAULTS, architecture_of=architecture_of)
    return types.SimpleNamespace(**{**defaults, **public})


# The zoo's families that declare a Hugging Face converter, by the `model_type` it reads, and
# their converters (the family's module with the defaults above filled in).
HF_FAMILIES = {
    f.converters["hugging_face"].MODEL_TYPE: f
    for f in FAMILIES.values()
    if "hugging_face" in f.converters
}
_CONVERTERS = {f.name: _converter(f) for f in HF_FAMILIES.values()}
SUPPORTED_ARCHITECTURES = tuple(a for c in _CONVERTERS.values() for a in c.ARCHITECTURES)
SUPPORTED_MODEL_TYPES = tuple(HF_FAMILIES)
# How errors list them: the base families, then the decoders built as Llama with options.
_RELATIVES = [
    t
    for t, f in HF_FAMILIES.items()
    if issubclass(f.backbone, LlamaBackbone) and f.backbone is not LlamaBackbone
]
_BASES = [t for t in SUPPORTED_MODEL_TYPES if t not in _RELATIVES]
MODEL_TYPES_TEXT = f"{_BASES} and Llama's relatives {_RELATIVES}"
# Absolute tolerance under which a tied tensor stored twice counts as the same tensor.
_TIED_ATOL = 1e-6


def _model_types(converter):
    return tuple(getattr(converter, "MODEL_TYPES", (converter.MODEL_TYPE,)))


def _family_and_architecture(config, path):
    """The zoo `Family` whose Hugging Face converter reads `config`, and the architecture."""
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    for architecture in architectures:
        for family in HF_FAMILIES.values():
            converter = _CONVERTERS[family.name]
            if architecture in converter.ARCHITECTURES:
                if model_type is not None and model_type not in _model_types(converter):
                    # e.g. model_type "roberta" with BertModel weights: converting it as BERT
                    # would silently drop RoBERTa's position offset; refuse the contradiction.
                    raise ValueError(
                        f"config.json in {path!r} contradicts itself: model_type={model_type!r} "
                        f"but architectures={architectures} names the {converter.MODEL_TYPE} "
                        f"architecture {architecture!r}. Fix config.json so both name the same "
                        f"model (model_type={converter.MODEL_TYPE!r} for {architecture}); tfzoo "
                        f"converts model types {MODEL_TYPES_TEXT}."
                    )
                return family, architecture
    if architectures:
        raise ValueError(
            f"{path!r} holds a {architectures[0]!r} checkpoint (model_type={model_type!r}), which "
            f"tfzoo cannot convert. Supported architectures: {list(SUPPORTED_ARCHITECTURES)}."
        )
    if isinstance(model_type, str) and model_type in HF_FAMILIES:
        # No `architectures`: the bare model.
        family = HF_FAMILIES[model_type]
        return family, next(iter(_CONVERTERS[family.name].ARCHITECTURES))
    raise ValueError(
        f"{path!r} has model_type={model_type!r} and no supported `architectures`. tfzoo converts "
        f"model types {MODEL_TYPES_TEXT} (architectures {list(SUPPORTED_ARCHITECTURES)})."
    )


def _prefix(converter, checkpoint):
    """`"bert."`-style prefix if the checkpoint was saved from a head model, else `""`."""
    return (
        converter.PREFIX if any(k.startswith(converter.PREFIX) for k in checkpoint.keys()) else ""
    )


def _lookup(converter, checkpoint, name):
    """The checkpoint name of `name`, accepting pre-rename names (`LayerNorm.gamma`)."""
    if name in checkpoint:
        return name
    for new, old in converter.LEGACY_SUFFIXES.items():
        if name.endswith(new) and name[: -len(new)] + old in checkpoint:
            return name[: -len(new)] + old
    return None


def _check_vocabulary(converter, config, checkpoint, slot_table, path):
    embedding = slot_table[0]  # every table starts with the token embedding
    stored = _lookup(converter, checkpoint, embedding.name)
    if stored is None:
        return  # reported as a missing tensor
    rows = checkpoint.get(stored).shape[0]
    if rows != config["vocab_size"]:
        raise ValueError(
            f"config.json in {path!r} says vocab_size={config['vocab_size']}, but the embedding "
            f"{stored!r} has {rows} rows. Fix vocab_size in config.json (or re-save the model "
            f"after `resize_token_embeddings`)."
        )


def _load_into(model, converter, config, checkpoint, path):
    """Fills `model`'s variables from `checkpoint`; returns the names of unused tensors."""
    prefix = _prefix(converter, checkpoint)
    table = converter.slots(model, prefix)
    _check_vocabulary(converter, config, checkpoint, table, path)
    missing, skipped, used = [], [], set()
    for slot in table:
        stored = _lookup(converter, checkpoint, slot.name)
        if stored is None:
            (skipped if slot.optional else missing).append(slot.name)
    if missing:
        raise ValueError(
            f"The checkpoint in {path!r} lacks {len(missing)} tensor(s) this model needs: "
            f"{missing[:8]}{' ...' if len(missing) > 8 else ''}. Is config.json from the same model "
            f"as the weights?"
        )
    for slot in table:
        stored = _lookup(converter, checkpoint, slot.name)
        if stored is None:
            continue
        array = checkpoint.get(stored)
        expected = slot.foreign_shape()
        if tuple(array.shape) != expected:
            raise ValueError(
                f"Tensor {stored!r} in {path!r} has shape {tuple(array.shape)}, but the model built "
                f"from config.json expects {expected}. The config and the weights disagree."
            )
        slot.write(array)
        used.add(stored)
    for alias, source in converter.TIED.items():
        alias = alias.replace("{p}", prefix)
        source = source.replace("{p}", prefix)
        if alias in checkpoint and source in checkpoint and alias not in used:
            a, s = checkpoint.get(alias), checkpoint.get(source)
            if a.shape != s.shape or not np.allclose(a, s, atol=_TIED_ATOL):
                raise ValueError(
                    f"Tensor {alias!r} differs from {source!r}, but tfzoo ties them (one shared "
                    f"table). This checkpoint has untied weights, which tfzoo cannot represent."
                )
            used.add(alias)
    quiet = converter.unused_weights(model)
    skipped = [name for name in skipped if not any(q in name for q in quiet)]
    if skipped:
        warnings.warn(
            f"The checkpoint in {path!r} has no {skipped}: these weights keep their random "
            f"initial values (train them, e.g. fine-tune a classifier head).",
            stacklevel=3,
        )
    ignored = {k for k in checkpoint.keys() if k.endswith(converter.IGNORED_SUFFIXES)}
    return sorted(set(checkpoint.keys()) - used - ignored)


def from_pretrained(path, task=None, dtype=None, **task_args):
    """Builds a tfzoo model from a local Hugging Face model directory.

    The directory needs `config.json` and `model.safetensors` (or shards listed in
    `model.safetensors.index.json`). A GGUF file (llama.cpp's format), or a directory without
    `config.json` that holds one, is read with the `gguf` package and dequantized to float32
    (see `tfzoo.convert.gguf`; GGUF architecture `llama`). Supported: BERT (`BertModel`, `BertForMaskedLM`,
    `BertForPreTraining`, `BertForSequenceClassification`, `BertForTokenClassification`),
    GPT-2 (`GPT2Model`, `GPT2LMHeadModel`), Llama (`LlamaModel`, `LlamaForCausalLM`) and its
    relatives Mistral, Qwen2, Qwen3, Phi-3, Gemma, Gemma 2, Gemma 3 text and GPT-NeoX (each
    `<Name>Model` and `<Name>ForCausalLM`; see docs/interop.md). The
    config's sizes, activation (`gelu` -> exact `gelu`, `gelu_new`/`gelu_pytorch_tanh` ->
    `gelu_tanh`, `relu`), norm epsilon, position table and segment count are honoured.

    Weights a checkpoint does not have are left at their initial values with a warning: BERT's
    pooler when loading a `BertForMaskedLM` checkpoint (only `pooled_output` and the
    classification head use it), and a classifier head when loading a bare `BertModel` with
    `task="classification"` (the fine-tuning case). Tensors tfzoo does not use (e.g. BERT's
    next-sentence head) are reported in a warning.

    Args:
        path: string or path-like. A local directory or `.gguf` file (nothing is downloaded).
        task: string or `None`. `None` returns the backbone. BERT: `"classification"`,
            `"token_classification"`, `"masked_lm"`, `"sentence_embedding"`; GPT-2 and Llama:
            `"causal_lm"`.
        dtype: string or `keras.DTypePolicy`, e.g. `"mixed_bfloat16"`. Defaults to the global policy.
        **task_args: task arguments, e.g. `normalize=True`; `num_classes` defaults to the
            config's number of labels and `dropout` to its classifier dropout.

    Returns:
        A `keras.Model` holding the checkpoint's weights.

    Raises:
        ValueError: no config or weights, pickled weights only, an unsupported architecture,
            a `model_type` that contradicts `architectures`, a missing tensor, a shape
            mismatch, a vocabulary size that disagrees with the embedding, or a tensor holding
            NaN, infinite or absurdly large (> 1e15) values (a damaged file).

    Example:

    >>> model = tfzoo.from_pretrained(tfzoo.text.minilm_path(), task="sentence_embedding",
    ...                               normalize=True)
    """
    path = os.fspath(path)
    modules = None
    gguf_path = gguf.find_gguf_file(path)
    if gguf_path is not None:  # GGUF: same converter, fed by the GGUF reader
        path = gguf_path
        config, checkpoint, gguf_file = gguf.read_gguf(path)
        family, architecture = _family_and_architecture(config, path)
        if task == "causal_lm":  # generate stops at the checkpoint's end-of-turn tokens
            task_args.setdefault("end_token_id", gguf.end_token_ids(gguf_file.metadata) or None)
    else:
        modules = sentence_transformers.read_modules(path)
        if modules is not None:  # a sentence-transformers directory: its model, then modules
            path = modules.transformer_path
            if task == "sentence_embedding":
                task_args = {**modules.task_args(), **task_args}
        config = read_config(path)
        family, architecture = _family_and_architecture(config, path)
        checkpoint = SafetensorsCheckpoint(path, architecture=architecture)
    converter = _CONVERTERS[family.name]
    if task is not None and task not in family.tasks:
        raise ValueError(
            f"Unknown task {task!r} for a {converter.MODEL_TYPE} checkpoint. Supported: "
            f"{sorted(family.tasks)} (or task=None for the backbone)."
        )
    try:
        kwargs = converter.backbone_kwargs(config)
    except KeyError as e:
        raise ValueError(f"config.json in {path!r} lacks the key {e.args[0]!r}.") from e
    if dtype is not None:
        kwargs["dtype"] = dtype
    backbone = family.backbone(**kwargs)
    model = backbone
    if task is not None:
        args = dict(converter.task_defaults(config, task))
        args.update(task_args)
        model = family.tasks[task](backbone, **args)
    elif task_args:
        raise ValueError(f"Task arguments {sorted(task_args)} need a `task`.")
    unused = _load_into(model, converter, config, checkpoint, path)
    if isinstance(model, SentenceEmbedding):
        _finish_sentence_embedding(model, modules, path, dense_given="dense" in task_args)
    if unused:
        warnings.warn(
            f"{len(unused)} tensor(s) of the {architecture} checkpoint in {path!r} are not used "
            f"by this tfzoo model (task={task!r}): {unused[:8]}{' ...' if len(unused) > 8 else ''}",
            stacklevel=2,
        )
    return model


def _finish_sentence_embedding(model, modules, path, dense_given):
    """Dense weights from the modules, and the checkpoint's tokenizer for `encode`."""
    from tfzoo.text import tokenizer_from_pretrained

    if modules is not None and modules.dense and model.dense == modules.dense:
        sentence_transformers.load_dense_weights(model, modules)
    elif model.dense_layers and not (modules and modules.dense):
        warnings.warn(
            f"{path!r} has no Dense modules: the {len(model.dense_layers)} dense layer(s) keep "
            f"their random initial values.",
            stacklevel=3,
        )
    try:
        model.tokenizer = tokenizer_from_pretrained(path)
    except ValueError:
        model.tokenizer = None  # no tokenizer files: `encode` asks for one
    # sentence-transformers truncates at `max_seq_length` of sentence_bert_config.json, else at
    # the tokenizer's `model_max_length`.
    length = modules.max_seq_length if modules is not None else None
    if length is None and model.tokenizer is not None:
        length = model.tokenizer.max_sequence_length
    model.max_seq_length = length


def _converter_of(model):
    backbone = getattr(model, "backbone", model)
    # The most specific family first: RoBERTa's backbone subclasses BERT's, the decoder
    # families' subclass `LlamaBackbone`.
    for family in sorted(HF_FAMILIES.values(), key=lambda f: -len(f.backbone.__mro__)):
        if isinstance(backbone, family.backbone):
            return _CONVERTERS[family.name]
    raise ValueError(
        f"save_pretrained converts tfzoo BERT, GPT and Llama models and Llama's relatives "
        f"(Mistral, Qwen2, Qwen3, Phi-3, Gemma 1-3, GPT-NeoX), backbones or tasks; received a "
        f"{type(model).__name__}."
    )


def save_pretrained(model, path, overwrite=False):
    """Writes a tfzoo model as a Hugging Face directory (`config.json` + `model.safetensors`).

    `transformers.AutoModel` (or the architecture named in `config.json`: `BertModel`,
    `BertForMaskedLM`, `BertForSequenceClassification`, `BertForTokenClassification`,
    `GPT2Model`, `GPT2LMHeadModel`, `LlamaModel`, `LlamaForCausalLM`) loads it offline and gives
    the same outputs. A `BertSentenceEmbedding` is saved as its `BertModel` (mean pooling has no
    weights). The write is atomic: files go to a temporary directory that is renamed to `path`.

    Args:
        model: a tfzoo BERT, GPT or Llama backbone or task model.
        path: string or path-like. A new or empty directory.
        overwrite: bool. Replace a non-empty `path`. Defaults to `False`.

    Returns:
        The absolute path written.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="masked_lm")
    >>> tfzoo.save_pretrained(model, "out/bert-tiny-hf")
    """
    converter = _converter_of(model)
    architecture = converter.architecture_of(model)
    prefix = converter.PREFIX if converter.ARCHITECTURES[architecture] else ""
    skip = tuple(prefix + s for s in converter.NOT_SAVED.get(architecture, ()))
    tensors = {}
    for slot in converter.slots(model, prefix):
        if slot.name.startswith(skip) and skip:
            continue
        tensors[slot.name] = slot.read()
    tensors.update(converter.extra_tensors(model, prefix))
    config = {
        "architectures": [architecture],
        "model_type": converter.MODEL_TYPE,
        "initializer_range": 0.02,
        "dtype": "float32",
        **converter.hf_config(model, architecture),
    }
    extra = None
    if isinstance(model, SentenceEmbedding):  # sentence-transformers' modules beside the model
        extra = sentence_transformers.module_files(model)
        if model.tokenizer is not None:
            extra.update({k: v.encode("utf-8") for k, v in model.tokenizer._files().items()})
    return write_checkpoint(path, config, tensors, overwrite=overwrite, extra_files=extra)


def load_pretrained(path, task=None, dtype=None, sequence_length=None, **task_args):
    """Loads a model and the tokenizer saved beside it in one Hugging Face directory.

    Args:
        path: string or path-like. A local directory with the model files and tokenizer files
            (`vocab.txt`, or `vocab.json` + `merges.txt`, or `tokenizer.json`).
        task, dtype, **task_args: as in `from_pretrained`.
        sequence_length: int or `None`. Default output length of the tokenizer.

    Returns:
        `(model, tokenizer)`; the tokenizer is a `tfzoo.text` tokenizer.

    Example:

    >>> model, tokenizer = tfzoo.convert.load_pretrained(tfzoo.text.minilm_path(),
    ...                                                  task="sentence_embedding")
    >>> embeddings = model(tokenizer(["A sentence."], sequence_length=16))
    """
    from tfzoo.text import tokenizer_from_pretrained

    model = from_pretrained(path, task=task, dtype=dtype, **task_args)
    tokenizer = tokenizer_from_pretrained(path, sequence_length=sequence_length)
    vocab = getattr(tokenizer, "vocabulary_size", None)
    backbone = getattr(model, "backbone", model)
    if vocab is not None and vocab > backbone.vocabulary_size:
        raise ValueError(
            f"The tokenizer in {os.fspath(path)!r} has {vocab} tokens but the model's embedding has "
            f"{backbone.vocabulary_size} rows: they are not from the same model."
        )
    return model, tokenizer
