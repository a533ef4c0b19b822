"""Hugging Face DeBERTa-v2 / v3 (`model_type` `deberta-v2`) <-> `tfzoo.models.DebertaBackbone`.

Names under `deberta.`: `embeddings.word_embeddings` (+ `position_embeddings`,
`token_type_embeddings`, `embed_proj` when present), `embeddings.LayerNorm`,
`encoder.rel_embeddings` (+ `encoder.LayerNorm` with `norm_rel_ebd="layer_norm"`), and per
layer `attention.self.{query,key,value}_proj` (+ `pos_key_proj` / `pos_query_proj` without
`share_att_key`), `attention.output.dense` / `LayerNorm`, `intermediate.dense`,
`output.dense` / `LayerNorm`. Heads: the legacy masked-LM head `cls.predictions.*` (tied),
`pooler.dense` + `classifier` (classification), `classifier` (tokens), `qa_outputs`.
Convolution layers (`conv_kernel_size`) are not supported.
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf

MODEL_TYPE = "deberta-v2"
PREFIX = "deberta."
ARCHITECTURES = bert_hf.architectures("DebertaV2")
TIED = bert_hf.tied_decoder("cls.predictions.")
IGNORED_SUFFIXES = ("position_ids",)
task_defaults = bert_hf.task_defaults


def _pos_att_type(config):
    value = config.get("pos_att_type") or []
    return [v.strip() for v in value.split("|")] if isinstance(value, str) else list(value)


def backbone_kwargs(config):
    """`DebertaBackbone` arguments from a DeBERTa-v2/v3 `config.json` dict."""
    if config.get("conv_kernel_size", 0):
        raise ValueError(
            "config.json has conv_kernel_size > 0 (DeBERTa-v2 xlarge's convolution layer), which "
            "tfzoo's DebertaBackbone does not have. DeBERTa-v3 checkpoints have none."
        )
    if not config.get("relative_attention", False):
        raise ValueError(
            "config.json has relative_attention=false: tfzoo's DebertaBackbone is the "
            "relative-attention model (every published DeBERTa-v2/v3)."
        )
    max_positions = config.get("max_position_embeddings", 512)
    max_relative = config.get("max_relative_positions", -1)
    if max_relative >= 1 and max_relative != max_positions:
        raise ValueError(
            f"config.json has max_relative_positions={max_relative} != max_position_embeddings="
            f"{max_positions}; tfzoo's DeBERTa buckets distances up to max_position_embeddings."
        )
    norm = [x.strip() for x in str(config.get("norm_rel_ebd", "none")).lower().split("|")]
    return dict(
        **bert_hf.arguments_from(
            config, dropout=0.1, attention_dropout=0.1, max_sequence_length=max_positions
        ),
        activation=S.activation_from(config, "hidden_act", "gelu", "DeBERTa"),
        position_buckets=max(config.get("position_buckets", -1), 0),
        attention_terms=tuple(t for t in ("c2p", "p2c") if t in _pos_att_type(config)),
        share_position_projections=config.get("share_att_key", False),
        normalize_relative_embeddings="layer_norm" in norm,
        absolute_positions=config.get("position_biased_input", True),
        num_segments=config.get("type_vocab_size", 0),
        embedding_dim=config.get("embedding_size", config["hidden_size"]),
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-7),
    )


def hf_config(model, architecture):
    b = S.backbone_of(model)
    config = {
        **bert_hf.config_of(b),
        "hidden_act": S.activation_of(b, "DeBERTa"),
        "max_relative_positions": -1,
        "position_buckets": b.position_buckets or -1,
        "relative_attention": True,
        "pos_att_type": list(b.attention_terms),
        "share_att_key": b.share_position_projections,
        "norm_rel_ebd": "layer_norm" if b.normalize_relative_embeddings else "none",
        "position_biased_input": b.absolute_positions,
        "type_vocab_size": b.num_segments,
        "embedding_size": b.embedding_dim,
        "layer_norm_eps": b.layer_norm_epsilon,
        "pooler_hidden_size": b.hidden_dim,
        "pooler_hidden_act": "gelu",
        "pooler_dropout": 0.0,
        "legacy": True,
        "pad_token_id": 0,
    }
    if hasattr(model, "num_classes"):
        config.update(bert_hf.label_config(model.num_classes))
    return config


def _backbone_slots(b, p):
    """Slots of a `DebertaBackbone` under the prefix `p`."""
    emb = b.embeddings
    table = [S.copy(f"{p}embeddings.word_embeddings.weight", emb.token_embedding.embeddings)]
    if emb.position_embedding is not None:
        positions = emb.position_embedding.position_embeddings
        table.append(S.copy(f"{p}embeddings.position_embeddings.weight", positions))
    if emb.segment_embedding is not None:
        segments = emb.segment_embedding.embeddings
        table.append(S.copy(f"{p}embeddings.token_type_embeddings.weight", segments))
    if b.embeddings_project is not None:
        table.append(S.linear(f"{p}embeddings.embed_proj.weight", b.embeddings_project.kernel))
    table += bert_hf.norm_slots(f"{p}embeddings.LayerNorm", b.embeddings_norm)
    table.append(S.copy(f"{p}encoder.rel_embeddings.weight", b.relative_embeddings.embeddings))
    if b.relative_embeddings.norm is not None:
        table += bert_hf.norm_slots(f"{p}encoder.LayerNorm", b.relative_embeddings.norm)
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}encoder.layer.{i}."
        projections = [
            ("attention.self.query_proj", layer.query_dense),
            ("attention.self.key_proj", layer.key_dense),
            ("attention.self.value_proj", layer.value_dense),
            ("attention.self.pos_key_proj", layer.position_key_dense),
            ("attention.self.pos_query_proj", layer.position_query_dense),
            ("attention.output.dense", layer.output_dense),
            ("intermediate.dense", layer.intermediate_dense),
            ("output.dense", layer.ffn_output_dense),
        ]
        for name, dense in projections:
            if dense is not None:
                table += bert_hf.dense_slots(f"{n}{name}", dense, optional=False)
        table += bert_hf.norm_slots(f"{n}attention.output.LayerNorm", layer.attention_norm)
        table += bert_hf.norm_slots(f"{n}output.LayerNorm", layer.output_norm)
    return table


# The legacy masked-LM head `cls.predictions.*`; the classifier's first dense is `pooler.dense`.
LAYOUT = bert_hf.EncoderLayout(
    pooler=None, classifier=("pooler.dense", "classifier"), backbone=_backbone_slots
)
slots = LAYOUT.slots
