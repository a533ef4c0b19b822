"""Hugging Face ModernBERT <-> `tfzoo.models.ModernBertBackbone`.

Names under `model.`: `embeddings.tok_embeddings`, `embeddings.norm`, per layer `attn_norm`
(not on layer 0), `attn.Wqkv` (fused q, k, v), `attn.Wo`, `mlp_norm`, `mlp.Wi` (fused GeGLU
input and gate), `mlp.Wo`, and `final_norm`. Heads: `head.dense` + `head.norm` then
`decoder` (masked LM, tied, with bias) or `classifier`. Global layers are every
`global_attn_every_n_layers`-th (or read from `layer_types`); local layers see
`local_attention // 2` tokens each side.
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_hf import dense_slots, norm_slots
from tfzoo.models.modernbert.modernbert_tasks import (
    ModernBertClassifier,
    ModernBertMaskedLM,
    ModernBertTokenClassifier,
)

MODEL_TYPE = "modernbert"
PREFIX = "model."
ARCHITECTURES = {
    "ModernBertModel": None,
    "ModernBertForMaskedLM": "masked_lm",
    "ModernBertForSequenceClassification": "classification",
    "ModernBertForTokenClassification": "token_classification",
    "ModernBertForQuestionAnswering": "question_answering",
}
TIED = {"decoder.weight": "{p}embeddings.tok_embeddings.weight"}
_SPECIAL_IDS = {
    "pad_token_id": 50283,
    "bos_token_id": 50281,
    "eos_token_id": 50282,
    "cls_token_id": 50281,
    "sep_token_id": 50282,
}


def _global_every(config):
    types = config.get("layer_types")
    if not types:
        return config.get("global_attn_every_n_layers", 3)
    full = [i for i, t in enumerate(types) if t == "full_attention"]
    every = full[1] - full[0] if len(full) > 1 else len(types)
    if [i for i in range(len(types)) if i % every == 0] != full:
        raise ValueError(
            f"config.json has layer_types={types}: tfzoo's ModernBERT needs a global layer every "
            f"n layers from the first (global_attn_every_n_layers)."
        )
    return every


def _theta(config, kind, default):
    params = (config.get("rope_parameters") or {}).get(f"{kind}_attention") or {}
    legacy = "global_rope_theta" if kind == "full" else "local_rope_theta"
    return float(params.get("rope_theta", config.get(legacy, default)))


def backbone_kwargs(config):
    """`ModernBertBackbone` arguments from a ModernBERT `config.json` dict."""
    if config.get("attention_bias", False) != config.get("mlp_bias", False):
        raise ValueError(
            "config.json has attention_bias != mlp_bias; tfzoo's ModernBERT has one flag."
        )
    return dict(
        **bert_hf.arguments_from(config, bert_hf.SIZE_KEYS),
        activation=S.activation_from(config, "hidden_activation", "gelu", "ModernBERT"),
        max_sequence_length=config.get("max_position_embeddings", 8192),
        local_window=config.get("local_attention", 128) // 2,
        global_every=_global_every(config),
        global_rope_theta=_theta(config, "full", 160000.0),
        local_rope_theta=_theta(config, "sliding", 10000.0),
        use_bias=config.get("attention_bias", False),
        norm_bias=config.get("norm_bias", False),
        layer_norm_epsilon=config.get("norm_eps", 1e-5),
        dropout=config.get("attention_dropout", 0.0),
    )


def task_defaults(config, task):
    args = {}
    if task in ("classification", "token_classification", "question_answering"):
        args = {
            "dropout": config.get("classifier_dropout", 0.0),
            "head_bias": config.get("classifier_bias", False),
            "head_activation": S.ACTIVATIONS[config.get("classifier_activation", "gelu")],
        }
    if task in ("classification", "token_classification"):
        args["num_classes"] = bert_hf.num_labels(config)
    if task == "classification":
        args["pooling"] = config.get("classifier_pooling", "cls")
    if task == "masked_lm":
        args = {
            "head_bias": config.get("classifier_bias", False),
            "head_activation": S.ACTIVATIONS[config.get("classifier_activation", "gelu")],
        }
    return args


def hf_config(model, architecture):
    b = S.backbone_of(model)
    config = {
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "intermediate_size": b.intermediate_dim,
        "max_position_embeddings": b.max_sequence_length,
        "local_attention": 2 * b.local_window,
        "global_attn_every_n_layers": b.global_every,
        "layer_types": [
            "full_attention" if i % b.global_every == 0 else "sliding_attention"
            for i in range(b.num_layers)
        ],
        "rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": b.global_rope_theta},
            "sliding_attention": {"rope_type": "default", "rope_theta": b.local_rope_theta},
        },
        "hidden_activation": S.activation_of(b, "ModernBERT"),
        "attention_bias": b.use_bias,
        "mlp_bias": b.use_bias,
        "norm_bias": b.norm_bias,
        "norm_eps": b.layer_norm_epsilon,
        "attention_dropout": b.dropout,
        "decoder_bias": True,
        "tie_word_embeddings": True,
    }
    # The published special-token ids, where the vocabulary has them (a tiny model has not).
    for key, token in _SPECIAL_IDS.items():
        config[key] = token if token < b.vocabulary_size else None
    if hasattr(model, "head_bias"):
        config["classifier_bias"] = model.head_bias
        config["classifier_activation"] = S.ACTIVATIONS_BACK[model.head_activation]
    if hasattr(model, "pooling"):
        config["classifier_pooling"] = model.pooling
    if hasattr(model, "num_classes") and architecture != "ModernBertForQuestionAnswering":
        config.update(bert_hf.label_config(model.num_classes))
    return config


def slots(model, prefix):
    """Slot table of a ModernBERT backbone or task; `prefix` precedes backbone names."""
    b = S.backbone_of(model)
    p = prefix
    table = [
        S.copy(f"{p}embeddings.tok_embeddings.weight", b.embeddings.token_embedding.embeddings)
    ]
    table += norm_slots(f"{p}embeddings.norm", b.embeddings_norm)
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}layers.{i}."
        if layer.attention_norm is not None:
            table += norm_slots(f"{n}attn_norm", layer.attention_norm)
        table += [
            *dense_slots(f"{n}attn.Wqkv", layer.qkv_dense, optional=False),
            *dense_slots(f"{n}attn.Wo", layer.attention_output_dense, optional=False),
            *norm_slots(f"{n}mlp_norm", layer.mlp_norm),
            *dense_slots(f"{n}mlp.Wi", layer.input_dense, optional=False),
            *dense_slots(f"{n}mlp.Wo", layer.output_dense, optional=False),
        ]
    table += norm_slots(f"{p}final_norm", b.final_norm)
    if hasattr(model, "head_dense"):
        fresh = not isinstance(model, ModernBertMaskedLM)  # a new head on a bare checkpoint
        table += dense_slots("head.dense", model.head_dense, optional=fresh)
        table += norm_slots("head.norm", model.head_norm, optional=fresh)
    if isinstance(model, ModernBertMaskedLM):
        table.append(S.copy("decoder.bias", model.decoder_bias.bias))
    elif isinstance(model, (ModernBertClassifier, ModernBertTokenClassifier)):
        table += dense_slots("classifier", model.output_dense)
    return table
