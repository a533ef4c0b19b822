"""Hugging Face DistilBERT <-> `tfzoo.models.DistilBertBackbone`.

BERT's layout under other names (`q_lin`, `sa_layer_norm`, `ffn.lin1`, ...) and the prefix
`distilbert.`; no segment embeddings, no pooler. Heads: `vocab_transform` + `vocab_layer_norm`
+ `vocab_projector` (masked LM, tied), `pre_classifier` + `classifier` (classification),
`classifier` (tokens), `qa_outputs` (question answering).
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_tasks import BertMaskedLM, BertTokenClassifier
from tfzoo.models.distilbert.distilbert_tasks import DistilBertClassifier

MODEL_TYPE = "distilbert"
PREFIX = "distilbert."
ARCHITECTURES = {
    "DistilBertModel": None,
    "DistilBertForMaskedLM": "masked_lm",
    "DistilBertForSequenceClassification": "classification",
    "DistilBertForTokenClassification": "token_classification",
    "DistilBertForQuestionAnswering": "question_answering",
}
TIED = {"vocab_projector.weight": "{p}embeddings.word_embeddings.weight"}
IGNORED_SUFFIXES = ("position_ids",)
_NAMES = {
    "layer": "transformer.layer",
    "query": "attention.q_lin",
    "key": "attention.k_lin",
    "value": "attention.v_lin",
    "attention_output": "attention.out_lin",
    "attention_norm": "sa_layer_norm",
    "intermediate": "ffn.lin1",
    "output": "ffn.lin2",
    "output_norm": "output_layer_norm",
}


def backbone_kwargs(config):
    """`DistilBertBackbone` arguments from a DistilBERT `config.json` dict."""
    act = config.get("activation", "gelu")
    if act not in S.ACTIVATIONS:
        raise ValueError(
            f"config.json has activation={act!r}; tfzoo's DistilBERT supports "
            f"{sorted(S.ACTIVATIONS)}."
        )
    return dict(
        vocabulary_size=config["vocab_size"],
        num_layers=config["n_layers"],
        num_heads=config["n_heads"],
        hidden_dim=config["dim"],
        intermediate_dim=config["hidden_dim"],
        dropout=config.get("dropout", 0.1),
        attention_dropout=config.get("attention_dropout", 0.1),
        max_sequence_length=config.get("max_position_embeddings", 512),
        activation=S.ACTIVATIONS[act],
    )


def task_defaults(config, task):
    if task == "classification":
        return {
            "num_classes": _num_labels(config),
            "dropout": config.get("seq_classif_dropout", 0.2),
        }
    if task == "token_classification":
        return {"num_classes": _num_labels(config), "dropout": config.get("dropout", 0.1)}
    return {}


def _num_labels(config):
    labels = config.get("id2label")
    return config.get("num_labels", len(labels) if isinstance(labels, dict) and labels else 2)


def hf_config(model, architecture):
    b = model.backbone if hasattr(model, "backbone") else model
    if b.activation not in S.ACTIVATIONS_BACK:
        raise ValueError(
            f"This DistilBERT uses activation={b.activation!r}, which Hugging Face DistilBERT "
            f"cannot express. Supported: {sorted(S.ACTIVATIONS_BACK)}."
        )
    config = {
        "vocab_size": b.vocabulary_size,
        "dim": b.hidden_dim,
        "n_layers": b.num_layers,
        "n_heads": b.num_heads,
        "hidden_dim": b.intermediate_dim,
        "activation": S.ACTIVATIONS_BACK[b.activation],
        "dropout": b.dropout,
        "attention_dropout": b.attention_dropout,
        "max_position_embeddings": b.max_sequence_length,
        "sinusoidal_pos_embds": False,
        "pad_token_id": 0,
        "tie_word_embeddings": True,
    }
    if hasattr(model, "num_classes"):
        config.update(bert_hf.label_config(model.num_classes))
    return config


def slots(model, prefix):
    """Slot table of a DistilBERT backbone or task; `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    table = bert_hf.encoder_slots(b, prefix, _NAMES)
    if isinstance(model, BertMaskedLM):
        table += bert_hf.masked_lm_slots(
            model, "vocab_transform", "vocab_layer_norm", "vocab_projector.bias"
        )
    elif isinstance(model, DistilBertClassifier):
        table += bert_hf.dense_slots("pre_classifier", model.pre_dense)
        table += bert_hf.dense_slots("classifier", model.output_dense)
    elif isinstance(model, BertTokenClassifier):
        table += bert_hf.dense_slots("classifier", model.output_dense)
    return table + bert_hf.head_slots(model)
