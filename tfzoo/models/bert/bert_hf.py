"""Hugging Face BERT (`BertModel`, `BertForMaskedLM`, `BertForPreTraining`,
`BertForSequenceClassification`, `BertForTokenClassification`) <-> `tfzoo.models.BertBackbone`.

Hugging Face stores `nn.Linear` weights as `(out, in)`; tfzoo's attention kernels are
`(hidden, heads, head_dim)` (query/key/value) and `(heads, head_dim, hidden)` (output), its dense
kernels `(in, out)`. The slot table below is the whole mapping, used in both directions.
"""

import numpy as np

from tfzoo.models import slots as S
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_tasks import (
    BertClassifier,
    BertMaskedLM,
    BertTokenClassifier,
)
from tfzoo.models.question_answering import QuestionAnswering

MODEL_TYPE = "bert"
PREFIX = "bert."  # the backbone's prefix inside Hugging Face head models
# architecture -> the tfzoo task whose head weights it carries (None: backbone only).
ARCHITECTURES = {
    "BertModel": None,
    "BertForMaskedLM": "masked_lm",
    "BertForPreTraining": "masked_lm",
    "BertForSequenceClassification": "classification",
    "BertForTokenClassification": "token_classification",
    "BertForQuestionAnswering": "question_answering",
}
# Tensors that duplicate another one (tied weights): name -> the name it must equal.
TIED = {
    "cls.predictions.decoder.weight": "{p}embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}
# Buffers tfzoo does not use; skipped without a warning.
IGNORED_SUFFIXES = ("position_ids",)
# Tensors an architecture does not have: not written by `save_pretrained`.
NOT_SAVED = {
    "BertForMaskedLM": ("pooler.",),
    "BertForTokenClassification": ("pooler.",),
    "BertForQuestionAnswering": ("pooler.",),
}
# Names used by checkpoints written before `transformers` renamed them: new suffix -> old suffix.
LEGACY_SUFFIXES = {"LayerNorm.weight": "LayerNorm.gamma", "LayerNorm.bias": "LayerNorm.beta"}


def backbone_kwargs(config):
    """`BertBackbone` arguments from a Hugging Face BERT `config.json` dict."""
    act = config.get("hidden_act", "gelu")
    if act not in S.ACTIVATIONS:
        raise ValueError(
            f"config.json has hidden_act={act!r}; tfzoo's BERT supports {sorted(S.ACTIVATIONS)}."
        )
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
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        dropout=hidden_dropout,
        attention_dropout=config.get("attention_probs_dropout_prob", hidden_dropout),
        max_sequence_length=config.get("max_position_embeddings", 512),
        num_segments=config.get("type_vocab_size", 2),
        activation=S.ACTIVATIONS[act],
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-12),
    )


def task_defaults(config, task):
    """Task arguments implied by the config (number of labels, classifier dropout)."""
    if task not in ("classification", "token_classification"):
        return {}
    labels = config.get("id2label")
    num = config.get("num_labels", len(labels) if isinstance(labels, dict) and labels else 2)
    dropout = config.get("classifier_dropout")
    if dropout is None:
        dropout = config.get("hidden_dropout_prob", 0.1)
    return {"num_classes": num, "dropout": dropout}


def hf_config(model, architecture):
    """A Hugging Face `config.json` dict describing the tfzoo BERT `model`."""
    b = model.backbone if hasattr(model, "backbone") else model
    if b.activation not in S.ACTIVATIONS_BACK:
        raise ValueError(
            f"This BERT uses activation={b.activation!r}, which Hugging Face BERT cannot express. "
            f"Supported: {sorted(S.ACTIVATIONS_BACK)}."
        )
    config = {
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "intermediate_size": b.intermediate_dim,
        "hidden_act": S.ACTIVATIONS_BACK[b.activation],
        "hidden_dropout_prob": b.dropout,
        "attention_probs_dropout_prob": b.attention_dropout,
        "max_position_embeddings": b.max_sequence_length,
        # A BERT without segment embeddings is saved with one all-zero segment row.
        "type_vocab_size": max(b.num_segments, 1),
        "layer_norm_eps": b.layer_norm_epsilon,
        "position_embedding_type": "absolute",
        "pad_token_id": 0,
        "tie_word_embeddings": True,
        "is_decoder": False,
        "add_cross_attention": False,
    }
    if isinstance(model, (BertClassifier, BertTokenClassifier)):
        config.update(label_config(model.num_classes))
        config["classifier_dropout"] = model.dropout
    return config


def extra_tensors(model, prefix):
    """Tensors Hugging Face needs that tfzoo does not hold (written by `save_pretrained`)."""
    b = model.backbone if hasattr(model, "backbone") else model
    if b.embeddings.segment_embedding is None:
        # HF BERT always adds a token-type embedding: one zero row leaves the outputs unchanged.
        return {f"{prefix}embeddings.token_type_embeddings.weight": np.zeros((1, b.hidden_dim))}
    return {}


def unused_weights(model):
    """Name fragments of weights `model`'s outputs do not depend on (no warning if missing)."""
    if not isinstance(model, (BertClassifier, BertBackbone)):
        return ("pooler.",)
    return ()


def slots(model, prefix):
    """Slot table of `model` (a BERT backbone or task); `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    table = encoder_slots(b, prefix)
    if b.pooler is not None:
        # BertForMaskedLM has no pooler: it is optional and keeps its initial values.
        table += dense_slots(f"{prefix}pooler.dense", b.pooler)
    if isinstance(model, BertMaskedLM):
        t = "cls.predictions.transform."
        table += masked_lm_slots(model, f"{t}dense", f"{t}LayerNorm", "cls.predictions.bias")
    elif isinstance(model, (BertClassifier, BertTokenClassifier)):
        table += dense_slots("classifier", model.output_dense)
    return table + head_slots(model)


def encoder_slots(b, p, names=None):
    """Slots of a BERT-layout encoder `b` (embeddings + post-LN layers) under the prefix `p`.

    `names` renames the per-layer tensors for checkpoints that use BERT's layout under other
    names (a dict with the keys of `_BERT_NAMES`, e.g. DistilBERT's).
    """
    names = {**_BERT_NAMES, **(names or {})}
    emb = b.embeddings
    table = [
        S.copy(f"{p}{names['tokens']}", emb.token_embedding.embeddings),
        S.copy(f"{p}{names['positions']}", emb.position_embedding.position_embeddings),
        S.copy(f"{p}{names['embeddings_norm']}.weight", b.embeddings_norm.gamma),
        S.copy(f"{p}{names['embeddings_norm']}.bias", b.embeddings_norm.beta),
    ]
    if emb.segment_embedding is not None:
        table.append(S.copy(f"{p}{names['segments']}", emb.segment_embedding.embeddings))
    if b.embeddings_project is not None:
        table += dense_slots(f"{p}{names['project']}", b.embeddings_project, optional=False)
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}{names['layer']}.{i}."
        att = layer.self_attention
        for key, dense in (
            ("query", att.query_dense),
            ("key", att.key_dense),
            ("value", att.value_dense),
        ):
            table.append(S.linear(f"{n}{names[key]}.weight", dense.kernel, in_axes=1))
            table.append(S.copy(f"{n}{names[key]}.bias", dense.bias))
        ffn = layer.feed_forward
        table += [
            S.linear(f"{n}{names['attention_output']}.weight", att.output_dense.kernel, in_axes=2),
            S.copy(f"{n}{names['attention_output']}.bias", att.output_dense.bias),
            S.copy(f"{n}{names['attention_norm']}.weight", layer.self_attention_norm.gamma),
            S.copy(f"{n}{names['attention_norm']}.bias", layer.self_attention_norm.beta),
            *dense_slots(f"{n}{names['intermediate']}", ffn.intermediate_dense),
            *dense_slots(f"{n}{names['output']}", ffn.output_dense),
            S.copy(f"{n}{names['output_norm']}.weight", layer.feed_forward_norm.gamma),
            S.copy(f"{n}{names['output_norm']}.bias", layer.feed_forward_norm.beta),
        ]
    return table


_BERT_NAMES = {
    "tokens": "embeddings.word_embeddings.weight",
    "positions": "embeddings.position_embeddings.weight",
    "segments": "embeddings.token_type_embeddings.weight",
    "embeddings_norm": "embeddings.LayerNorm",
    "project": "embeddings_project",
    "layer": "encoder.layer",
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_output": "attention.output.dense",
    "attention_norm": "attention.output.LayerNorm",
    "intermediate": "intermediate.dense",
    "output": "output.dense",
    "output_norm": "output.LayerNorm",
}


def dense_slots(name, dense, optional=True):
    """`name.weight` / `name.bias` of a Keras `Dense` (a head: optional, fresh on a bare model)."""
    return [
        S.linear(f"{name}.weight", dense.kernel, optional=optional),
        S.copy(f"{name}.bias", dense.bias, optional=optional),
    ]


def masked_lm_slots(model, dense, norm, bias):
    """The transform dense + norm and the output bias of a `BertMaskedLM`-shaped head."""
    return [
        *dense_slots(dense, model.transform_dense, optional=False),
        S.copy(f"{norm}.weight", model.transform_norm.gamma),
        S.copy(f"{norm}.bias", model.transform_norm.beta),
        S.copy(bias, model.output_bias.bias),
    ]


def head_slots(model):
    """Heads every encoder family names alike (question answering: `qa_outputs`)."""
    if isinstance(model, QuestionAnswering):
        return dense_slots("qa_outputs", model.qa_outputs)
    return []


def label_config(num_classes):
    """The `id2label` / `label2id` entries of a Hugging Face config for `num_classes` labels."""
    return {
        "id2label": {str(i): f"LABEL_{i}" for i in range(num_classes)},
        "label2id": {f"LABEL_{i}": i for i in range(num_classes)},
    }
