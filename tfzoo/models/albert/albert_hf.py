"""Hugging Face ALBERT <-> `tfzoo.models.AlbertBackbone`.

The embeddings are BERT's under `albert.`; the projection is
`albert.encoder.embedding_hidden_mapping_in`; the one shared block is
`albert.encoder.albert_layer_groups.0.albert_layers.0.*` (`attention.query`, `attention.dense`,
`attention.LayerNorm`, `ffn`, `ffn_output`, `full_layer_layer_norm`). One layer group with
one layer (every published ALBERT) is supported. Heads: `predictions.*` (masked LM, tied),
`classifier` (classification on the pooled output, and tokens), `qa_outputs`.
"""

from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_tasks import BertClassifier, BertMaskedLM, BertTokenClassifier

MODEL_TYPE = "albert"
PREFIX = "albert."
ARCHITECTURES = {
    "AlbertModel": None,
    "AlbertForMaskedLM": "masked_lm",
    "AlbertForPreTraining": "masked_lm",
    "AlbertForSequenceClassification": "classification",
    "AlbertForTokenClassification": "token_classification",
    "AlbertForQuestionAnswering": "question_answering",
}
TIED = {
    "predictions.decoder.weight": "{p}embeddings.word_embeddings.weight",
    "predictions.decoder.bias": "predictions.bias",
}
IGNORED_SUFFIXES = ("position_ids",)
NOT_SAVED = {
    "AlbertForMaskedLM": ("pooler.",),
    "AlbertForTokenClassification": ("pooler.",),
    "AlbertForQuestionAnswering": ("pooler.",),
}
unused_weights = bert_hf.unused_weights
_NAMES = {
    "project": "encoder.embedding_hidden_mapping_in",
    "layer": "encoder.albert_layer_groups.0.albert_layers",
    "query": "attention.query",
    "key": "attention.key",
    "value": "attention.value",
    "attention_output": "attention.dense",
    "attention_norm": "attention.LayerNorm",
    "intermediate": "ffn",
    "output": "ffn_output",
    "output_norm": "full_layer_layer_norm",
}


def backbone_kwargs(config):
    """`AlbertBackbone` arguments from an ALBERT `config.json` dict."""
    groups = (config.get("num_hidden_groups", 1), config.get("inner_group_num", 1))
    if groups != (1, 1):
        raise ValueError(
            f"config.json has num_hidden_groups={groups[0]}, inner_group_num={groups[1]}; tfzoo's "
            f"ALBERT shares one block across all layers (1 and 1, as every published ALBERT)."
        )
    kwargs = bert_hf.backbone_kwargs(dict({"hidden_act": "gelu_new"}, **config))
    kwargs["embedding_dim"] = config.get("embedding_size", 128)
    kwargs["dropout"] = config.get("hidden_dropout_prob", 0.0)
    kwargs["attention_dropout"] = config.get("attention_probs_dropout_prob", 0.0)
    return kwargs


def task_defaults(config, task):
    args = bert_hf.task_defaults(config, task)
    if "dropout" in args and config.get("classifier_dropout_prob") is not None:
        args["dropout"] = config["classifier_dropout_prob"]
    return args


def hf_config(model, architecture):
    b = model.backbone if hasattr(model, "backbone") else model
    config = bert_hf.hf_config(model, architecture)
    config.update(embedding_size=b.embedding_dim, num_hidden_groups=1, inner_group_num=1)
    if "classifier_dropout" in config:
        config["classifier_dropout_prob"] = config.pop("classifier_dropout")
    return config


def extra_tensors(model, prefix):
    return bert_hf.extra_tensors(model, prefix)


def slots(model, prefix):
    """Slot table of an ALBERT backbone or task; `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    table = bert_hf.encoder_slots(b, prefix, _NAMES)
    table += bert_hf.dense_slots(f"{prefix}pooler", b.pooler)
    if isinstance(model, BertMaskedLM):
        table += bert_hf.masked_lm_slots(
            model, "predictions.dense", "predictions.LayerNorm", "predictions.bias"
        )
    elif isinstance(model, (BertClassifier, BertTokenClassifier)):
        table += bert_hf.dense_slots("classifier", model.output_dense)
    return table + bert_hf.head_slots(model)
