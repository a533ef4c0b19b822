"""Hugging Face GPT-NeoX / Pythia (`GPTNeoXModel`, `GPTNeoXForCausalLM`) <->
`tfzoo.models.GPTNeoXBackbone`.

`attention.query_key_value` fuses query, key and value head by head (rows `(heads, 3,
head_dim)`); the LM head is `embed_out`, outside the `gpt_neox.` prefix. RoPE rotates the first
`partial_rotary_factor` (`rotary_pct`) of each head.
"""

from tfzoo.models import decoder_hf

LAYOUT = decoder_hf.Layout(
    embed="embed_in.weight",
    final_norm="final_layer_norm",
    lm_head="embed_out.weight",
    attention="attention.",
    qkv="query_key_value",
    qkv_layout="heads",
    output="dense",
    ffn={"up": "dense_h_to_4h", "down": "dense_4h_to_h"},
)
_ACTIVATIONS = ("gelu", "gelu_new", "gelu_fast", "relu")


def backbone_kwargs(config):
    act = decoder_hf.check_activation(config, "hidden_act", "GPT-NeoX", _ACTIVATIONS)
    rope = decoder_hf.rope_params(config)
    rope.setdefault("rope_theta", config.get("rotary_emb_base", 10000.0))
    factor = rope.get("partial_rotary_factor", config.get("rotary_pct", 0.25))
    bias = bool(config.get("attention_bias", True))
    return decoder_hf.backbone_kwargs(
        dict(config, attention_bias=False, rms_norm_eps=config.get("layer_norm_eps", 1e-5)),
        "GPT-NeoX",
        activation=act,
        partial_rotary_factor=float(factor),
        parallel_residual=bool(config.get("use_parallel_residual", True)),
        attention_bias=bias,
        attention_output_bias=bias,
        **decoder_hf.rope_kwargs(rope, "GPT-NeoX"),
    )


def hf_config(model, architecture):
    b = decoder_hf.backbone_of(model)
    rope = dict(decoder_hf.rope_config(b), partial_rotary_factor=b.partial_rotary_factor)
    config = decoder_hf.hf_config(
        model,
        layer_norm_eps=b.layer_norm_epsilon,
        rope_parameters=rope,
        rotary_pct=b.partial_rotary_factor,
        rotary_emb_base=float(b.rope_max_wavelength),
        use_parallel_residual=b.parallel_residual,
        attention_bias=decoder_hf.attention_bias(b),
        hidden_dropout=b.dropout,
    )
    for key in ("num_key_value_heads", "head_dim", "rms_norm_eps", "sliding_window"):
        config.pop(key)
    return config


def slots(model, prefix):
    b = decoder_hf.backbone_of(model)
    if b.num_key_value_heads != b.num_heads:
        raise ValueError(
            f"GPT-NeoX has no grouped-query attention, but this model has "
            f"num_key_value_heads={b.num_key_value_heads} for num_heads={b.num_heads}. Build it "
            f"with num_key_value_heads=num_heads."
        )
    return decoder_hf.slots(model, prefix, LAYOUT)


CONVERTER = decoder_hf.converter(
    "gpt_neox",
    "GPTNeoX",
    layout=LAYOUT,
    PREFIX="gpt_neox.",
    IGNORED_SUFFIXES=("rotary_emb.inv_freq", "attention.bias", "attention.masked_bias"),
    # transformers 5 names the head `lm_head` in memory; checkpoints written that way load too.
    LEGACY_SUFFIXES={"embed_out.weight": "lm_head.weight"},
    backbone_kwargs=backbone_kwargs,
    hf_config=hf_config,
    slots=slots,
)
