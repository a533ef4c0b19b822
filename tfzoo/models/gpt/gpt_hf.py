"""Hugging Face GPT-2 (`GPT2Model`, `GPT2LMHeadModel`) <-> `tfzoo.models.GPTBackbone`.

GPT-2 stores its projections as `Conv1D` weights, `(in, out)`: already input-major like a Keras
kernel, so they are only reshaped. `attn.c_attn` fuses query, key and value `(hidden, 3 * hidden)`;
it is split in three. The LM head is tied to `wte` in both libraries.
"""

from tfzoo.models import slots as S

MODEL_TYPE = "gpt2"
PREFIX = "transformer."
ARCHITECTURES = {"GPT2Model": None, "GPT2LMHeadModel": "causal_lm"}
TIED = {"lm_head.weight": "{p}wte.weight"}
IGNORED_SUFFIXES = ("attn.bias", "attn.masked_bias")


def backbone_kwargs(config):
    """`GPTBackbone` arguments from a Hugging Face GPT-2 `config.json` dict."""
    activation = S.activation_from(config, "activation_function", "gelu_new", "GPT")
    unsupported = {
        "scale_attn_weights": (config.get("scale_attn_weights", True), True),
        "scale_attn_by_inverse_layer_idx": (
            config.get("scale_attn_by_inverse_layer_idx", False),
            False,
        ),
        "reorder_and_upcast_attn": (config.get("reorder_and_upcast_attn", False), False),
        "add_cross_attention": (config.get("add_cross_attention", False), False),
        "tie_word_embeddings": (config.get("tie_word_embeddings", True), True),
    }
    for key, (value, supported) in unsupported.items():
        if bool(value) != supported:
            raise ValueError(
                f"config.json has {key}={value}; tfzoo's GPT supports only {key}={supported} "
                f"(standard GPT-2)."
            )
    hidden = config["n_embd"]
    return dict(
        vocabulary_size=config["vocab_size"],
        num_layers=config["n_layer"],
        num_heads=config["n_head"],
        hidden_dim=hidden,
        intermediate_dim=config.get("n_inner") or 4 * hidden,
        dropout=config.get("resid_pdrop", 0.1),
        max_sequence_length=config.get("n_positions", 1024),
        activation=activation,
        layer_norm_epsilon=config.get("layer_norm_epsilon", 1e-5),
    )


def hf_config(model, architecture):
    """A Hugging Face `config.json` dict describing the tfzoo GPT `model`."""
    b = S.backbone_of(model)
    return {
        "vocab_size": b.vocabulary_size,
        "n_embd": b.hidden_dim,
        "n_layer": b.num_layers,
        "n_head": b.num_heads,
        "n_inner": b.intermediate_dim,
        "n_positions": b.max_sequence_length,
        "activation_function": S.activation_of(b, "GPT", "GPT-2"),
        "resid_pdrop": b.dropout,
        "embd_pdrop": b.dropout,
        "attn_pdrop": b.dropout,
        "layer_norm_epsilon": b.layer_norm_epsilon,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "add_cross_attention": False,
        "tie_word_embeddings": True,
        "bos_token_id": None,
        "eos_token_id": None,
    }


def slots(model, prefix):
    """Slot table of `model` (a GPT backbone or `CausalLM`); `prefix` precedes backbone names."""
    b = S.backbone_of(model)
    p = prefix
    table = [
        S.copy(f"{p}wte.weight", b.embeddings.token_embedding.embeddings),
        S.copy(f"{p}wpe.weight", b.embeddings.position_embedding.position_embeddings),
    ]
    for i, layer in enumerate(b.transformer_layers):
        n = f"{p}h.{i}."
        att = layer.self_attention
        qkv = (att.query_dense, att.key_dense, att.value_dense)
        table += [
            S.copy(f"{n}ln_1.weight", layer.self_attention_norm.gamma),
            S.copy(f"{n}ln_1.bias", layer.self_attention_norm.beta),
            S.fused(f"{n}attn.c_attn.weight", [d.kernel for d in qkv]),  # (H, 3H) -> 3 x (H, h, d)
            S.fused(f"{n}attn.c_attn.bias", [d.bias for d in qkv]),
            S.conv1d(f"{n}attn.c_proj.weight", att.output_dense.kernel, in_axes=2),
            S.copy(f"{n}attn.c_proj.bias", att.output_dense.bias),
            S.copy(f"{n}ln_2.weight", layer.feed_forward_norm.gamma),
            S.copy(f"{n}ln_2.bias", layer.feed_forward_norm.beta),
            S.conv1d(f"{n}mlp.c_fc.weight", layer.feed_forward.intermediate_dense.kernel),
            S.copy(f"{n}mlp.c_fc.bias", layer.feed_forward.intermediate_dense.bias),
            S.conv1d(f"{n}mlp.c_proj.weight", layer.feed_forward.output_dense.kernel),
            S.copy(f"{n}mlp.c_proj.bias", layer.feed_forward.output_dense.bias),
        ]
    table += [
        S.copy(f"{p}ln_f.weight", b.layer_norm.gamma),
        S.copy(f"{p}ln_f.bias", b.layer_norm.beta),
    ]
    return table
