"""Hugging Face ALBERT <-> `tfzoo.models.AlbertBackbone`.

The embeddings are BERT's under `albert.`; the projection is
`albert.encoder.embedding_hidden_mapping_in`; the one shared block is
`albert.encoder.albert_layer_groups.0.albert_layers.0.*` (`attention.query`, `attention.dense`,
`attention.LayerNorm`, `ffn`, `ffn_output`, `full_layer_layer_norm`). One layer group with
one layer (every published ALBERT) is supported. Heads: `predictions.*` (masked LM, tied),
`classifier` (classification on the pooled output, and tokens), `qa_outputs`.
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf

MODEL_TYPE = "albert"
PREFIX = "albert."
ARCHITECTURES = {**bert_hf.architectures("Albert"), "AlbertForPreTraining": "masked_lm"}
TIED = bert_hf.tied_decoder("predictions.")
IGNORED_SUFFIXES = ("position_ids",)
NOT_SAVED = dict.fromkeys(
    ["AlbertForMaskedLM", "AlbertForTokenClassification", "AlbertForQuestionAnswering"],
    ("pooler.",),
)
unused_weights = bert_hf.unused_weights
extra_tensors = bert_hf.extra_tensors
LAYOUT = bert_hf.EncoderLayout(
    project="encoder.embedding_hidden_mapping_in",
    layer="encoder.albert_layer_groups.0.albert_layers",
    attention=("attention.query", "attention.key", "attention.value", "attention.dense"),
    ffn=("ffn", "ffn_output"),
    norms=("attention.LayerNorm", "full_layer_layer_norm"),
    pooler="pooler",
    masked_lm=("predictions.dense", "predictions.LayerNorm", "predictions.bias"),
)
slots = LAYOUT.slots


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
    b = S.backbone_of(model)
    config = bert_hf.hf_config(model, architecture)
    config.update(embedding_size=b.embedding_dim, num_hidden_groups=1, inner_group_num=1)
    if "classifier_dropout" in config:
        config["classifier_dropout_prob"] = config.pop("classifier_dropout")
    return config
