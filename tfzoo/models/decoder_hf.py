"""What the Hugging Face converters of the Llama-style decoder families share.

Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma (1, 2, 3) and GPT-NeoX checkpoints differ in a few
config keys and tensor names, not in structure: each family's `<family>_hf.py` declares its
names (a `Layout`) and its config keys, and calls `backbone_kwargs`, `hf_config` and
`slots` here. All load into `tfzoo.models.LlamaBackbone` subclasses.
"""

import dataclasses

from tfzoo.models import slots as S
from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.slots import backbone_of

# Hugging Face activation names the decoders use -> tfzoo's.
ACTIVATIONS = {**S.ACTIVATIONS, "silu": "silu", "swish": "silu"}
ACTIVATIONS_BACK = {**S.ACTIVATIONS_BACK, "gelu_tanh": "gelu_pytorch_tanh", "silu": "silu"}
_LLAMA3_KEYS = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")


@dataclasses.dataclass(frozen=True)
class Layout:
    """The Hugging Face tensor names of one decoder family (suffixes after the block prefix).

    Attributes:
        embed, final_norm, lm_head: the token embedding, the final norm (without `.weight`) and
            the untied LM head (no prefix).
        layer: the block prefix, with `{i}` for the index.
        norms: pairs (Hugging Face norm name, tfzoo block attribute).
        attention: the attention module's prefix.
        qkv: three projection names, or one fused name.
        qkv_layout: `"concat"` (query rows, then key, then value: Phi-3) or `"heads"` (head by
            head: GPT-NeoX), for a fused `qkv`.
        output: the attention output projection.
        mlp: the feed-forward module's prefix.
        ffn: dict with `down` and either `gate` + `up`, `gate_up` (fused, gate first) or `up`
            only (a plain MLP).
    """

    embed: str = "embed_tokens.weight"
    final_norm: str = "norm"
    lm_head: str = "lm_head.weight"
    layer: str = "layers.{i}."
    norms: tuple = (
        ("input_layernorm", "self_attention_norm"),
        ("post_attention_layernorm", "feed_forward_norm"),
    )
    attention: str = "self_attn."
    qkv: object = ("q_proj", "k_proj", "v_proj")
    qkv_layout: str = "concat"
    output: str = "o_proj"
    mlp: str = "mlp."
    ffn: dict = dataclasses.field(
        default_factory=lambda: {"gate": "gate_proj", "up": "up_proj", "down": "down_proj"}
    )


def attention_bias(backbone):
    """Whether the backbone's query/key/value projections have biases."""
    b = backbone
    return bool(b.use_bias if b.attention_bias is None else b.attention_bias)


def rope_kwargs(params, model_type, default_theta=10000.0):
    """RoPE arguments of `LlamaBackbone` from one Hugging Face RoPE dict.

    `params`: the merged `rope_parameters` (transformers 5) / `rope_scaling` + `rope_theta`
    (4.x) entries. Types `default`, `linear` and `llama3` are supported.
    """
    theta = float(params.get("rope_theta", default_theta))
    rope_type = params.get("rope_type") or params.get("type") or "default"
    kwargs = dict(rope_max_wavelength=theta, rope_scaling_factor=1.0, rope_frequency_scaling=None)
    if rope_type == "linear":
        kwargs["rope_scaling_factor"] = float(params["factor"])
    elif rope_type == "llama3":
        missing = [k for k in _LLAMA3_KEYS if k not in params]
        if missing:
            raise ValueError(f"config.json's llama3 RoPE scaling lacks {missing}.")
        kwargs["rope_frequency_scaling"] = {k: float(params[k]) for k in _LLAMA3_KEYS}
    elif rope_type != "default":
        raise ValueError(
            f"config.json uses RoPE type {rope_type!r}; tfzoo's {model_type} supports 'default', "
            f"'linear' and 'llama3'."
        )
    return kwargs


def rope_params(config):
    """The merged RoPE dict of a config (either layout), `rope_theta` included when given."""
    params = dict(config.get("rope_scaling") or {})
    if config.get("rope_theta") is not None:
        params["rope_theta"] = config["rope_theta"]
    params.update(config.get("rope_parameters") or {})
    return params


def rope_config(backbone):
    """The Hugging Face RoPE dict (`rope_parameters`) of a backbone's global layers."""
    b = backbone
    rope = {"rope_theta": float(b.rope_max_wavelength), "rope_type": "default"}
    if b.rope_frequency_scaling:
        rope.update(rope_type="llama3", **b.rope_frequency_scaling)
    elif b.rope_scaling_factor != 1.0:
        rope.update(rope_type="linear", factor=float(b.rope_scaling_factor))
    return rope


def check_activation(config, key, model_type, allowed):
    act = config.get(key, allowed[0])
    if act not in allowed or act not in ACTIVATIONS:
        raise ValueError(f"config.json has {key}={act!r}; tfzoo's {model_type} supports {allowed}.")
    return ACTIVATIONS[act]


def backbone_kwargs(config, model_type, **options):
    """The `LlamaBackbone` arguments every decoder config gives the same way, plus `options`."""
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    if config.get("mlp_bias"):
        raise ValueError(
            f"config.json has mlp_bias=true; tfzoo's {model_type} has no feed-forward biases."
        )
    if config.get("pretraining_tp", 1) != 1:
        raise ValueError(
            "config.json has pretraining_tp != 1; re-save the model with pretraining_tp=1."
        )
    kwargs = dict(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=heads,
        num_key_value_heads=config.get("num_key_value_heads") or heads,
        hidden_dim=hidden,
        intermediate_dim=config["intermediate_size"],
        max_sequence_length=config.get("max_position_embeddings", 2048),
        layer_norm_epsilon=config.get("rms_norm_eps", 1e-6),
        dropout=config.get("attention_dropout", 0.0),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        head_dim=None if head_dim * heads == hidden else head_dim,
    )
    if config.get("attention_bias"):
        kwargs.update(attention_bias=True, attention_output_bias=True)
    if "rope_max_wavelength" not in options:
        kwargs.update(rope_kwargs(rope_params(config), model_type))
    kwargs.update(options)
    return kwargs


def hf_config(model, **extra):
    """The Hugging Face config keys every decoder shares, for `model`, updated with `extra`."""
    b = backbone_of(model)
    rope = rope_config(b)
    config = {
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "num_key_value_heads": b.num_key_value_heads,
        "head_dim": b.head_dim,
        "intermediate_size": b.intermediate_dim,
        "hidden_act": ACTIVATIONS_BACK[b.activation],
        "max_position_embeddings": b.max_sequence_length,
        "rms_norm_eps": b.layer_norm_epsilon,
        "rope_theta": float(b.rope_max_wavelength),
        "rope_parameters": rope,
        "rope_scaling": None if rope["rope_type"] == "default" else dict(rope),
        "attention_dropout": b.dropout,
        "tie_word_embeddings": b.tie_word_embeddings,
        "sliding_window": b.sliding_window,
        "bos_token_id": None,
        "eos_token_id": None,
        "pad_token_id": None,
    }
    config.update(extra)
    return config


def _norm(name, layer):
    table = [S.copy(f"{name}.weight", layer.gamma)]
    if getattr(layer, "beta", None) is not None:
        table.append(S.copy(f"{name}.bias", layer.beta))
    return table


def _dense(name, dense, in_axes=1):
    table = [S.linear(f"{name}.weight", dense.kernel, in_axes=in_axes)]
    if dense.bias is not None:
        table.append(S.copy(f"{name}.bias", dense.bias))
    return table


def _fused(name, denses, layout):
    if layout == "heads":
        table = [S.head_interleaved(f"{name}.weight", [d.kernel for d in denses])]
    else:
        table = [S.fused(f"{name}.weight", [d.kernel for d in denses], transpose=True)]
    if denses[0].bias is not None:
        make = S.head_interleaved if layout == "heads" else S.fused
        table.append(make(f"{name}.bias", [d.bias for d in denses]))
    return table


def slots(model, prefix, layout):
    """Slot table of a decoder `model` (backbone or `CausalLM`) named by `layout`."""
    b = backbone_of(model)
    p = prefix
    embedding = b.embeddings.token_embedding
    table = [S.copy(f"{p}{layout.embed}", embedding.embeddings)]
    for i, layer in enumerate(b.transformer_layers):
        n = p + layout.layer.format(i=i)
        for hf_name, attr in layout.norms:
            table += _norm(n + hf_name, getattr(layer, attr))
        att, a = layer.self_attention, n + layout.attention
        qkv = (att.query_dense, att.key_dense, att.value_dense)
        if isinstance(layout.qkv, str):
            table += _fused(a + layout.qkv, qkv, layout.qkv_layout)
        else:
            for hf_name, dense in zip(layout.qkv, qkv):
                table += _dense(a + hf_name, dense)
        table += _dense(a + layout.output, att.output_dense, in_axes=2)
        if att.query_norm is not None:
            table += _norm(f"{a}q_norm", att.query_norm) + _norm(f"{a}k_norm", att.key_norm)
        ffn, m, names = layer.feed_forward, n + layout.mlp, layout.ffn
        if "gate_up" in names:
            table += _fused(
                m + names["gate_up"], (ffn.gate_dense, ffn.intermediate_dense), "concat"
            )
        else:
            if "gate" in names:
                table += _dense(m + names["gate"], ffn.gate_dense)
            table += _dense(m + names["up"], ffn.intermediate_dense)
        table += _dense(m + names["down"], ffn.output_dense)
    table += _norm(p + layout.final_norm, b.layer_norm)
    if isinstance(model, CausalLM) and not b.tie_word_embeddings:
        # The head (vocab, hidden) is an nn.Linear; tfzoo's reverse kernel is (hidden, vocab).
        table.append(S.linear(layout.lm_head, embedding.reverse_embeddings))
    return table


def converter(model_type, name, layout=None, options=None, config_extra=None, **overrides):
    """A family's Hugging Face converter (what `tfzoo/convert/hugging_face.py` reads).

    Args:
        model_type: string. The `config.json` `model_type`.
        name: string. The architecture stem (`"Mistral"` for `MistralModel` and
            `MistralForCausalLM`), also used in error messages.
        layout: `Layout`. The tensor names. Defaults to Llama's.
        options: function config dict -> extra `LlamaBackbone` arguments.
        config_extra: function backbone -> extra `config.json` keys.
        **overrides: converter attributes to replace (e.g. `backbone_kwargs`, `PREFIX`).
    """
    import types

    layout = layout or Layout()
    options = options or (lambda config: {})
    config_extra = config_extra or (lambda b: {})

    def backbone_kwargs_(config):
        check_activation(config, "hidden_act", name, ("silu",))
        return backbone_kwargs(config, name, **options(config))

    attributes = dict(
        MODEL_TYPE=model_type,
        PREFIX="model.",
        ARCHITECTURES={f"{name}Model": None, f"{name}ForCausalLM": "causal_lm"},
        # With tie_word_embeddings a stored head must equal the embedding (untied: a slot).
        TIED={layout.lm_head: "{p}" + layout.embed},
        IGNORED_SUFFIXES=("rotary_emb.inv_freq",),
        LAYOUT=layout,
        backbone_kwargs=backbone_kwargs_,
        hf_config=lambda model, architecture: hf_config(model, **config_extra(backbone_of(model))),
        slots=lambda model, prefix: slots(model, prefix, layout),
    )
    attributes.update(overrides)
    return types.SimpleNamespace(**attributes)
