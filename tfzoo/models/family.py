"""`Family`: what a model family folder declares, for the zoo and the converters to read.

A family folder (`tfzoo/models/<family>/`) holds its backbone, its task classes, its presets
and its checkpoint converters, and exposes them as one `FAMILY = Family(...)` in its
`__init__.py`. It never imports `tfzoo.zoo`: the zoo reads the `FAMILY` of every module listed
in `tfzoo/zoo/families.py`, so dependencies point one way (layers <- models <- zoo <- convert).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family: a backbone class, its tasks, its presets and its converters.

    Attributes:
        name: string. The family's zoo name (`"bert"`, `"llama"`), as in
            `tfzoo.list_models(family)`.
        backbone: the backbone class (a `tfzoo.models.Backbone`).
        tasks: dict of task name -> task class (each takes the backbone first), e.g.
            `{"causal_lm": tfzoo.models.CausalLM}`.
        presets: dict of zoo name -> `{"config": dict of backbone arguments, "description":
            string, "published_parameters": int or None}` (the count the paper or model card
            gives; `None` when only a rounded figure is published).
        converters: dict of checkpoint format -> converter module. `"hugging_face"`: a module
            naming the Hugging Face tensors of this family (`MODEL_TYPE`, `ARCHITECTURES`,
            `slots(model, prefix)`, ...; see `tfzoo/models/bert/bert_hf.py`), read by
            `tfzoo.from_pretrained` and `tfzoo.save_pretrained`. Defaults to none.
    """

    name: str
    backbone: type
    tasks: dict
    presets: dict
    converters: dict = dataclasses.field(default_factory=dict)


def decoder_family(name, backbone, presets, hugging_face):
    """The `Family` of a decoder-only family: `causal_lm` task, a Hugging Face converter."""
    from tfzoo.models.causal_lm import CausalLM

    return Family(
        name=name,
        backbone=backbone,
        tasks={"causal_lm": CausalLM},
        presets=presets,
        converters={"hugging_face": hugging_face},
    )


def encoder_family(name, backbone, presets, hugging_face, **tasks):
    """The `Family` of a BERT-like encoder: BERT's five task heads, unless `tasks` names others.

    Example: `encoder_family("roberta", RobertaBackbone, ROBERTA_PRESETS, roberta_hf,
    classification=RobertaClassifier)`.
    """
    from tfzoo.models.bert import bert_tasks

    bert = {
        "classification": bert_tasks.BertClassifier,
        "token_classification": bert_tasks.BertTokenClassifier,
        "masked_lm": bert_tasks.BertMaskedLM,
        "sentence_embedding": bert_tasks.BertSentenceEmbedding,
        "question_answering": bert_tasks.BertQuestionAnswering,
    }
    return Family(name, backbone, {**bert, **tasks}, presets, {"hugging_face": hugging_face})


def preset(description, published_parameters=None, **config):
    """One preset entry: the backbone arguments `config`, a description, the published count."""
    return dict(config=config, description=description, published_parameters=published_parameters)


def presets(base, rows):
    """A family's presets from its `base` config and one row per preset.

    Args:
        base: dict. The backbone arguments every preset of the family shares.
        rows: dict of zoo name -> `(description, published_parameters, config)`, where `config`
            holds only the arguments that differ from (or add to) `base`.

    Example:

    >>> presets(dict(vocabulary_size=30522), {"bert-tiny": ("BERT L2/H128", 4_385_920, sizes(2, 128))})
    """
    return {
        name: preset(description, published_parameters, **{**base, **config})
        for name, (description, published_parameters, config) in rows.items()
    }


def sizes(num_layers, hidden_dim, num_heads=None, intermediate_dim=None, **config):
    """The sizes of a Transformer with the usual proportions: heads of width 64
    (`num_heads = hidden_dim / 64`) and a feed-forward 4 times as wide, unless given."""
    return dict(
        num_layers=num_layers,
        hidden_dim=hidden_dim,
        num_heads=num_heads or hidden_dim // 64,
        intermediate_dim=intermediate_dim or 4 * hidden_dim,
        **config,
    )


#: The order of `decoder_sizes`' arguments.
DECODER_DIMS = (
    "num_layers",
    "hidden_dim",
    "num_heads",
    "num_key_value_heads",
    "intermediate_dim",
    "vocabulary_size",
    "max_sequence_length",
)


def decoder_sizes(dims, **options):
    """A decoder's config: `dims` gives the seven `DECODER_DIMS` in order, `options` the rest."""
    return dict(zip(DECODER_DIMS, dims, strict=True), **options)
