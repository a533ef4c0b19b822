"""Hugging Face Llama (`LlamaModel`, `LlamaForCausalLM`) <-> `tfzoo.models.LlamaBackbone`.

Both libraries apply RoPE in the "rotate half" layout (pairs `(x[i], x[i + d/2])`), so the query
and key projections move unpermuted. Projections are `nn.Linear` `(out, in)`, without biases.
"""

from tfzoo.models import slots as S
from tfzoo.models.causal_lm import CausalLM

MODEL_TYPE = "llama"
PREFIX = "model."
ARCHITECTURES = {"LlamaModel": None, "LlamaForCausalLM": "causal_lm"}
# With tie_word_embeddings a stored lm_head must equal the embedding (untied: a real slot).
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def _rope(config):
    """(theta, linear scaling factor) from either the 4.x or the 5.x config layout."""
    params = config.get("rope_parameters") or {}
    scaling = config.get("rope_scaling") or {}
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    rope_type = (
        params.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
    )
    factor = 1.0
    if rope_type == "linear":
        factor = float(params.get("factor", scaling.get("factor", 1.0)))
    elif rope_type != "default":
        raise ValueError(
            f"config.json uses RoPE type {rope_type!r}; tfzoo's Llama supports 'default' and "
            f"'linear' scaling."
        )
    return theta, factor


def backbone_kwargs(config):
    """`LlamaBackbone` arguments from a Hugging Face Llama `config.json` dict."""
    act = config.get("hidden_act", "silu")
    if act != "silu":
        raise ValueError(f"config.json has hidden_act={act!r}; tfzoo's Llama uses 'silu' (SwiGLU).")
    for key in ("attention_bias", "mlp_bias"):
        if config.get(key):
            raise ValueError(f"config.json has {key}=true; tfzoo's Llama has no projection biases.")
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    if head_dim * heads != hidden:
        raise ValueError(
            f"config.json has head_dim={head_dim} with {heads} heads and hidden_size={hidden}; "
            f"tfzoo's Llama needs head_dim * num_attention_heads == hidden_size."
        )
    if config.get("pretraining_tp", 1) != 1:
        raise ValueError(
            "config.json has pretraining_tp != 1; re-save the model with pretraining_tp=1."
        )
    theta, factor = _rope(config)
    return dict(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=heads,
        num_key_value_heads=config.get("num_key_value_heads") or heads,
        hidden_dim=hidden,
        intermediate_dim=config["intermediate_size"],
        max_sequence_length=config.get("max_position_embeddings", 2048),
        rope_max_wavelength=theta,
        rope_scaling_factor=factor,
        layer_norm_epsilon=config.get("rms_norm_eps", 1e-6),
        dropout=config.get("attention_dropout", 0.0),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
    )


def hf_config(model, architecture):
    """A Hugging Face `config.json` dict describing the tfzoo Llama `model`."""
    b = model.backbone if hasattr(model, "backbone") else model
    rope = {"rope_theta": float(b.rope_max_wavelength), "rope_type": "default"}
    if b.rope_scaling_factor != 1.0:
        rope.update(rope_type="linear", factor=float(b.rope_scaling_factor))
    return {
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "num_key_value_heads": b.num_key_value_heads,
        "head_dim": b.head_dim,
        "intermediate_size": b.intermediate_dim,
        "hidden_act": "silu",
        "max_position_embeddings": b.max_sequence_length,
        "rms_norm_eps": b.layer_norm_epsilon,
        "rope_theta": float(b.rope_max_wavelength),
        "rope_parameters": rope,
        "rope_scaling": None if b.rope_scaling_factor == 1.0 else dict(rope),
        "attention_bias": False,
        "mlp_bias": False,
        "attention_dropout": b.dropout,
        "tie_word_embeddings": b.tie_word_embeddings,
        "pretraining_tp": 1,
        "bos_token_id": None,
        "eos_token_id": None,
    }


def slots(model, prefix):
    """Slot table of `model` (a Llama backbone or `CausalLM`); `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    p = prefix
    embedding = b.embeddings.token_embedding
    table = [S.copy(f"{p}embed_tokens.weight", embedding.embeddings)]
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}layers.{i}."
        att, ffn = layer.self_attention, layer.feed_forward
        table += [
            S.copy(f"{n}input_layernorm.weight", layer.self_attention_norm.gamma),
            S.linear(f"{n}self_attn.q_proj.weight", att.query_dense.kernel, in_axes=1),
            S.linear(f"{n}self_attn.k_proj.weight", att.key_dense.kernel, in_axes=1),
            S.linear(f"{n}self_attn.v_proj.weight", att.value_dense.kernel, in_axes=1),
            S.linear(f"{n}self_attn.o_proj.weight", att.output_dense.kernel, in_axes=2),
            S.copy(f"{n}post_attention_layernorm.weight", layer.feed_forward_norm.gamma),
            S.linear(f"{n}mlp.gate_proj.weight", ffn.gate_dense.kernel),
            S.linear(f"{n}mlp.up_proj.weight", ffn.intermediate_dense.kernel),
            S.linear(f"{n}mlp.down_proj.weight", ffn.output_dense.kernel),
        ]
    table.append(S.copy(f"{p}norm.weight", b.layer_norm.gamma))
    if isinstance(model, CausalLM) and not b.tie_word_embeddings:
        # lm_head (vocab, hidden) is an nn.Linear; tfzoo's reverse kernel is (hidden, vocab).
        table.append(S.linear("lm_head.weight", embedding.reverse_embeddings))
    return table
