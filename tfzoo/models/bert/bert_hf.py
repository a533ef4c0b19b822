"""Hugging Face BERT <-> `tfzoo.models.BertBackbone`, and what the BERT-layout encoder
families' converters share.

BERT, RoBERTa, ELECTRA, DistilBERT, ALBERT and DeBERTa checkpoints hold the same tensors under
other names, and heads that differ only by name: each family's `<family>_hf.py` declares its
names as an `EncoderLayout` and uses `LAYOUT.slots` as its slot table (ModernBERT uses the
helpers for its own layout). Hugging Face stores `nn.Linear` weights as `(out, in)`; tfzoo's
attention kernels are `(hidden, heads, head_dim)` (query/key/value) and `(heads, head_dim,
hidden)` (output), its dense kernels `(in, out)`. A slot table is the whole mapping, used in
both directions.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from tfzoo.models import slots as S
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_tasks import BertClassifier, BertMaskedLM, _BertDenseHead
from tfzoo.models.encoder_classifier import FirstTokenClassifier
from tfzoo.models.question_answering import QuestionAnswering
from tfzoo.models.task import ClassifierHead

# The sizes BERT-layout configs name alike (`config.json` key -> backbone argument) ...
SIZE_KEYS = {
    "vocab_size": "vocabulary_size",
    "hidden_size": "hidden_dim",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_dim",
}
# ... and the other arguments BERT's config.json names the way DeBERTa's does.
CONFIG_KEYS = {
    **SIZE_KEYS,
    "hidden_dropout_prob": "dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "max_position_embeddings": "max_sequence_length",
}


def arguments_from(config, keys=CONFIG_KEYS, **defaults):
    """Backbone arguments from a `config.json` dict (`keys`: config key -> argument); a key
    may be absent when its argument has a default in `defaults`."""
    return {
        argument: config.get(key, defaults[argument]) if argument in defaults else config[key]
        for key, argument in keys.items()
    }


def config_of(backbone, keys=CONFIG_KEYS):
    """The `config.json` entries of a backbone's arguments: `arguments_from` the other way."""
    return {key: getattr(backbone, argument) for key, argument in keys.items()}


def architectures(name):
    """`ARCHITECTURES` of a family named `name` in its Hugging Face classes (`"Roberta"`)."""
    return {
        f"{name}Model": None,
        f"{name}ForMaskedLM": "masked_lm",
        f"{name}ForSequenceClassification": "classification",
        f"{name}ForTokenClassification": "token_classification",
        f"{name}ForQuestionAnswering": "question_answering",
    }


def tied_decoder(head):
    """`TIED` of a masked-LM head `head` (`"cls.predictions."`) whose decoder repeats the word
    embeddings and the head's bias."""
    return {
        f"{head}decoder.weight": "{p}embeddings.word_embeddings.weight",
        f"{head}decoder.bias": f"{head}bias",
    }


def num_labels(config):
    """The number of labels a classification config gives (`num_labels`, else `id2label`)."""
    labels = config.get("id2label")
    return config.get("num_labels", len(labels) if isinstance(labels, dict) and labels else 2)


def label_config(num_classes):
    """The `id2label` / `label2id` entries of a Hugging Face config for `num_classes` labels."""
    return {
        "id2label": {str(i): f"LABEL_{i}" for i in range(num_classes)},
        "label2id": {f"LABEL_{i}": i for i in range(num_classes)},
    }


def dense_slots(name, dense, optional=True):
    """`name.weight` (and `name.bias` when it has one) of a Keras `Dense`; a head is optional
    (fresh on a bare model)."""
    table = [S.linear(f"{name}.weight", dense.kernel, optional=optional)]
    if dense.bias is not None:
        table.append(S.copy(f"{name}.bias", dense.bias, optional=optional))
    return table


def norm_slots(name, norm, optional=False):
    """`name.weight` (and `name.bias` when it is centred) of a `tfzoo.layers.LayerNorm`."""
    table = [S.copy(f"{name}.weight", norm.gamma, optional=optional)]
    if norm.beta is not None:
        table.append(S.copy(f"{name}.bias", norm.beta, optional=optional))
    return table


@dataclasses.dataclass(frozen=True)
class EncoderLayout:
    """The Hugging Face tensor names of one BERT-layout encoder family.

    Attributes:
        project: the embeddings' projection (when narrower than the hidden states).
        layer: the layers' prefix (the index follows).
        attention: a layer's query, key, value and output projections.
        ffn: a layer's two feed-forward denses.
        norms: a layer's norms after the attention and after the feed-forward.
        pooler: the pooler dense's name after the prefix, or `None` (no pooler).
        masked_lm: the masked-LM head's transform dense, transform norm and output bias.
        classifier: the two denses of a `FirstTokenClassifier` (RoBERTa's, DistilBERT's ...).
            BERT's own heads (`BertClassifier`, `BertTokenClassifier`) are `classifier`, and
            question answering `qa_outputs`, in every family.
        backbone: function (backbone, prefix) -> slots, for a backbone that is not BERT's
            (DeBERTa). Defaults to `encoder_slots`.
    """

    project: str = "embeddings_project"
    layer: str = "encoder.layer"
    attention: tuple = (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
    )
    ffn: tuple = ("intermediate.dense", "output.dense")
    norms: tuple = ("attention.output.LayerNorm", "output.LayerNorm")
    pooler: str = "pooler.dense"
    masked_lm: tuple = (
        "cls.predictions.transform.dense",
        "cls.predictions.transform.LayerNorm",
        "cls.predictions.bias",
    )
    classifier: tuple = ("classifier.dense", "classifier.out_proj")
    backbone: Callable = None

    def slots(self, model, prefix):
        """Slot table of a backbone or task of this family; `prefix` precedes backbone names."""
        b = S.backbone_of(model)
        table = (self.backbone or self.encoder_slots)(b, prefix)
        if self.pooler and b.pooler is not None:
            # BertForMaskedLM has no pooler: it is optional and keeps its initial values.
            table += dense_slots(prefix + self.pooler, b.pooler)
        if isinstance(model, BertMaskedLM):
            dense, norm, bias = self.masked_lm
            table += dense_slots(dense, model.transform_dense, optional=False)
            table += norm_slots(norm, model.transform_norm)
            table.append(S.copy(bias, model.output_bias.bias))
        elif isinstance(model, FirstTokenClassifier):
            table += dense_slots(self.classifier[0], model.pre_dense)
            table += dense_slots(self.classifier[1], model.output_dense)
        elif isinstance(model, _BertDenseHead):
            table += dense_slots("classifier", model.output_dense)
        elif isinstance(model, QuestionAnswering):
            table += dense_slots("qa_outputs", model.qa_outputs)
        return table

    def encoder_slots(self, b, p):
        """Slots of a BERT-layout encoder `b` (embeddings + post-LN layers) under prefix `p`."""
        emb = b.embeddings
        e = f"{p}embeddings."
        table = [
            S.copy(f"{e}word_embeddings.weight", emb.token_embedding.embeddings),
            S.copy(f"{e}position_embeddings.weight", emb.position_embedding.position_embeddings),
            *norm_slots(f"{e}LayerNorm", b.embeddings_norm),
        ]
        if emb.segment_embedding is not None:
            table.append(
                S.copy(f"{e}token_type_embeddings.weight", emb.segment_embedding.embeddings)
            )
        if b.embeddings_project is not None:
            table += dense_slots(p + self.project, b.embeddings_project, optional=False)
        for i, layer in enumerate(b.transformer_layers):
            n = f"{p}{self.layer}.{i}."
            att = layer.self_attention
            for name, dense in zip(
                self.attention, (att.query_dense, att.key_dense, att.value_dense)
            ):
                table.append(S.linear(f"{n}{name}.weight", dense.kernel, in_axes=1))
                table.append(S.copy(f"{n}{name}.bias", dense.bias))
            output, ffn = f"{n}{self.attention[3]}", layer.feed_forward
            table += [
                S.linear(f"{output}.weight", att.output_dense.kernel, in_axes=2),
                S.copy(f"{output}.bias", att.output_dense.bias),
                *norm_slots(n + self.norms[0], layer.self_attention_norm),
                *dense_slots(n + self.ffn[0], ffn.intermediate_dense),
                *dense_slots(n + self.ffn[1], ffn.output_dense),
                *norm_slots(n + self.norms[1], layer.feed_forward_norm),
            ]
        return table


# BERT itself (`BertModel`, `BertForMaskedLM`, `BertForPreTraining`, `BertFor...`).
MODEL_TYPE = "bert"
PREFIX = "bert."  # the backbone's prefix inside Hugging Face head models
# architecture -> the tfzoo task whose head weights it carries (None: backbone only).
ARCHITECTURES = {**architectures("Bert"), "BertForPreTraining": "masked_lm"}
# Tensors that duplicate another one (tied weights): name -> the name it must equal.
TIED = tied_decoder("cls.predictions.")
# Buffers tfzoo does not use; skipped without a warning.
IGNORED_SUFFIXES = ("position_ids",)
# Tensors an architecture does not have: not written by `save_pretrained`.
NOT_SAVED = dict.fromkeys(
    ["BertForMaskedLM", "BertForTokenClassification", "BertForQuestionAnswering"], ("pooler.",)
)
# Names used by checkpoints written before `transformers` renamed them: new suffix -> old suffix.
LEGACY_SUFFIXES = {"LayerNorm.weight": "LayerNorm.gamma", "LayerNorm.bias": "LayerNorm.beta"}


def backbone_kwargs(config):
    """`BertBackbone` arguments from a Hugging Face BERT `config.json` dict."""
    activation = S.activation_from(config, "hidden_act", "gelu", "BERT")
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ValueError(
            f"config.json has position_embedding_type={position_type!r}; tfzoo's BERT has "
            f"absolute (learned) positions only."
        )
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise ValueError(
            "config.json describes a BERT decoder (is_decoder/add_cross_attention); tfzoo's "
            "BertBackbone is an encoder. Load an encoder checkpoint."
        )
    hidden_dropout = config.get("hidden_dropout_prob", 0.1)
    return dict(
        **arguments_from(
            config, dropout=0.1, attention_dropout=hidden_dropout, max_sequence_length=512
        ),
        num_segments=config.get("type_vocab_size", 2),
        activation=activation,
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-12),
    )


def task_defaults(config, task):
    """Task arguments implied by the config (number of labels, classifier dropout)."""
    if task not in ("classification", "token_classification"):
        return {}
    dropout = config.get("classifier_dropout")
    if dropout is None:
        dropout = config.get("hidden_dropout_prob", 0.1)
    return {"num_classes": num_labels(config), "dropout": dropout}


def hf_config(model, architecture):
    """A Hugging Face `config.json` dict describing the tfzoo BERT `model`."""
    b = S.backbone_of(model)
    config = {
        **config_of(b),
        "hidden_act": S.activation_of(b, "BERT"),
        # A BERT without segment embeddings is saved with one all-zero segment row.
        "type_vocab_size": max(b.num_segments, 1),
        "layer_norm_eps": b.layer_norm_epsilon,
        "position_embedding_type": "absolute",
        "pad_token_id": 0,
        "tie_word_embeddings": True,
        "is_decoder": False,
        "add_cross_attention": False,
    }
    if isinstance(model, ClassifierHead):  # BERT's heads and RoBERTa's, ELECTRA's, ...
        config.update(label_config(model.num_classes))
        config["classifier_dropout"] = model.dropout
    return config


def extra_tensors(model, prefix):
    """Tensors Hugging Face needs that tfzoo does not hold (written by `save_pretrained`)."""
    b = S.backbone_of(model)
    if b.embeddings.segment_embedding is None:
        # HF BERT always adds a token-type embedding: one zero row leaves the outputs unchanged.
        return {f"{prefix}embeddings.token_type_embeddings.weight": np.zeros((1, b.hidden_dim))}
    return {}


def unused_weights(model):
    """Name fragments of weights `model`'s outputs do not depend on (no warning if missing)."""
    if not isinstance(model, (BertClassifier, BertBackbone)):
        return ("pooler.",)
    return ()


LAYOUT = EncoderLayout()
slots = LAYOUT.slots
