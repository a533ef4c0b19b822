"""Hugging Face BERT (`BertModel`, `BertForMaskedLM`, `BertForPreTraining`,
`BertForSequenceClassification`, `BertForTokenClassification`) <-> `tfzoo.models.BertBackbone`.

Hugging Face stores `nn.Linear` weights as `(out, in)`; tfzoo's attention kernels are
`(hidden, heads, head_dim)` (query/key/value) and `(heads, head_dim, hidden)` (output), its dense
kernels `(in, out)`. The slot table below is the whole mapping, used in both directions.
"""

import numpy as np

from tfzoo.models import slots as S
from tfzoo.models.bert.bert_tasks import (
    BertClassifier,
    BertMaskedLM,
    BertSentenceEmbedding,
    BertTokenClassifier,
)

MODEL_TYPE = "bert"
PREFIX = "bert."  # the backbone's prefix inside Hugging Face head models
# architecture -> the tfzoo task whose head weights it carries (None: backbone only).
ARCHITECTURES = {
    "BertModel": None,
    "BertForMaskedLM": "masked_lm",
    "BertForPreTraining": "masked_lm",
    "BertForSequenceClassification": "classification",
    "BertForTokenClassification": "token_classification",
}
# Tensors that duplicate another one (tied weights): name -> the name it must equal.
TIED = {
    "cls.predictions.decoder.weight": "{p}embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}
# Buffers tfzoo does not use; skipped without a warning.
IGNORED_SUFFIXES = ("position_ids",)
# Tensors an architecture does not have: not written by `save_pretrained`.
NOT_SAVED = {"BertForMaskedLM": ("pooler.",)}
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
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(model.num_classes)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(model.num_classes)}
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
    if isinstance(model, (BertMaskedLM, BertSentenceEmbedding, BertTokenClassifier)):
        return ("pooler.",)
    return ()


def slots(model, prefix):
    """Slot table of `model` (a BERT backbone or task); `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    p = prefix
    emb = b.embeddings
    table = [
        S.copy(f"{p}embeddings.word_embeddings.weight", emb.token_embedding.embeddings),
        S.copy(
            f"{p}embeddings.position_embeddings.weight",
            emb.position_embedding.position_embeddings,
        ),
        S.copy(f"{p}embeddings.LayerNorm.weight", b.embeddings_norm.gamma),
        S.copy(f"{p}embeddings.LayerNorm.bias", b.embeddings_norm.beta),
    ]
    if emb.segment_embedding is not None:
        table.append(
            S.copy(f"{p}embeddings.token_type_embeddings.weight", emb.segment_embedding.embeddings)
        )
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}encoder.layer.{i}."
        att = layer.self_attention
        for hf, dense in (
            ("query", att.query_dense),
            ("key", att.key_dense),
            ("value", att.value_dense),
        ):
            table.append(S.linear(f"{n}attention.self.{hf}.weight", dense.kernel, in_axes=1))
            table.append(S.copy(f"{n}attention.self.{hf}.bias", dense.bias))
        table += [
            S.linear(f"{n}attention.output.dense.weight", att.output_dense.kernel, in_axes=2),
            S.copy(f"{n}attention.output.dense.bias", att.output_dense.bias),
            S.copy(f"{n}attention.output.LayerNorm.weight", layer.self_attention_norm.gamma),
            S.copy(f"{n}attention.output.LayerNorm.bias", layer.self_attention_norm.beta),
            S.linear(f"{n}intermediate.dense.weight", layer.feed_forward.intermediate_dense.kernel),
            S.copy(f"{n}intermediate.dense.bias", layer.feed_forward.intermediate_dense.bias),
            S.linear(f"{n}output.dense.weight", layer.feed_forward.output_dense.kernel),
            S.copy(f"{n}output.dense.bias", layer.feed_forward.output_dense.bias),
            S.copy(f"{n}output.LayerNorm.weight", layer.feed_forward_norm.gamma),
            S.copy(f"{n}output.LayerNorm.bias", layer.feed_forward_norm.beta),
        ]
    # BertForMaskedLM has no pooler: the pooler is optional and keeps its initial values.
    table += [
        S.linear(f"{p}pooler.dense.weight", b.pooler.kernel, optional=True),
        S.copy(f"{p}pooler.dense.bias", b.pooler.bias, optional=True),
    ]
    if isinstance(model, BertMaskedLM):
        table += [
            S.linear("cls.predictions.transform.dense.weight", model.transform_dense.kernel),
            S.copy("cls.predictions.transform.dense.bias", model.transform_dense.bias),
            S.copy("cls.predictions.transform.LayerNorm.weight", model.transform_norm.gamma),
            S.copy("cls.predictions.transform.LayerNorm.bias", model.transform_norm.beta),
            S.copy("cls.predictions.bias", model.output_bias.bias),
        ]
    elif isinstance(model, (BertClassifier, BertTokenClassifier)):
        # A fresh head on a bare BERT checkpoint (fine-tuning) is optional, as in `transformers`.
        table += [
            S.linear("classifier.weight", model.output_dense.kernel, optional=True),
            S.copy("classifier.bias", model.output_dense.bias, optional=True),
        ]
    return table
