import keras

from tfzoo.layers import checks
from tfzoo.models.decoder_backbone import DecoderBackbone

#: Values of `layer_types`, as Hugging Face configs spell them.
LAYER_TYPES = ("full_attention", "sliding_attention")

# Options of the Llama-style decoder that its relatives set (Mistral, Qwen, Phi-3, Gemma, NeoX),
# with their Llama values. `get_config` writes them only when they differ.
OPTION_DEFAULTS = dict(
    rope_frequency_scaling=None,
    partial_rotary_factor=1.0,
    norm="rms_norm",
    activation="silu",
    gated_ffn=True,
    use_bias=False,
    attention_bias=None,
    attention_output_bias=None,
    query_key_norm=False,
    sliding_window=None,
    layer_types=None,
    local_rope_max_wavelength=None,
    post_norms=False,
    parallel_residual=False,
    scale_embeddings=False,
    attention_logit_soft_cap=None,
    final_logit_soft_cap=None,
    query_scale_dim=None,
)


@keras.saving.register_keras_serializable(package="tfzoo")
class LlamaBackbone(DecoderBackbone):
    """A Llama-style decoder (Touvron et al., 2023): RoPE, RMSNorm, SwiGLU feed-forward,
    grouped-query attention, no biases, pre-norm blocks and a final RMSNorm.

    The options after `head_dim` express the decoders derived from it; each family's backbone
    (`MistralBackbone`, `Qwen2Backbone`, `Qwen3Backbone`, `Phi3Backbone`, `GemmaBackbone`,
    `Gemma2Backbone`, `Gemma3Backbone`, `GPTNeoXBackbone`) is this class with its own values.

    Args:
        vocabulary_size: int. Number of token ids.
        num_layers: int. Number of decoder blocks.
        num_heads: int. Query heads.
        num_key_value_heads: int. Key/value heads (grouped-query attention); must divide
            `num_heads`.
        hidden_dim: int. Width of the hidden states.
        intermediate_dim: int. Width of the SwiGLU hidden layer.
        max_sequence_length: int. Longest sequence (the cache length). Defaults to `2048`.
        rope_max_wavelength: int. RoPE base. Defaults to `10000`.
        rope_scaling_factor: float. Linear RoPE scaling. Defaults to `1.0`.
        layer_norm_epsilon: float. RMSNorm epsilon. Defaults to `1e-5`.
        dropout: float. Defaults to `0.0`.
        tie_word_embeddings: bool. Tie the LM head to the embedding. Defaults to `False`.
        head_dim: int or `None`. Width of each attention head. Defaults to
            `hidden_dim // num_heads`; may differ from it (Gemma, Qwen3), and is set by
            `tfzoo.compress.prune_structured`, which removes heads and keeps their width.
        rope_frequency_scaling: dict or `None`. Llama-3 RoPE scaling (`factor`,
            `low_freq_factor`, `high_freq_factor`, `original_max_position_embeddings`).
        partial_rotary_factor: float. Fraction of each head RoPE rotates (GPT-NeoX). `1.0`.
        norm: string. `"rms_norm"`, `"rms_norm_unit_offset"` (scale `1 + w`, Gemma) or
            `"layer_norm"` (with bias, GPT-NeoX).
        activation: string. Feed-forward activation: `"silu"`, `"gelu_tanh"` (Gemma), `"gelu"`.
        gated_ffn: bool. Gated feed-forward (SwiGLU / GeGLU); `False`: plain MLP (GPT-NeoX).
        use_bias: bool. Biases on every projection (GPT-NeoX). Defaults to `False`.
        attention_bias: bool or `None`. Biases on the query/key/value projections (Qwen2);
            defaults to `use_bias`.
        attention_output_bias: bool or `None`. Bias on the attention output; defaults to
            `use_bias`.
        query_key_norm: bool. Normalize each query and key head with `norm` before RoPE (Qwen3,
            Gemma 3).
        sliding_window: int or `None`. Local attention window (Mistral; the sliding layers of
            Gemma 2 and 3).
        layer_types: list of `"full_attention"` / `"sliding_attention"`, one per layer, or
            `None` (every layer sliding when `sliding_window` is set, else full).
        local_rope_max_wavelength: float or `None`. RoPE base of the sliding layers, which
            then use no RoPE scaling (Gemma 3). Defaults to the global base.
        post_norms: bool. Also normalize the attention and feed-forward outputs (Gemma 2, 3).
        parallel_residual: bool. `x + attn(norm1(x)) + ffn(norm2(x))` (GPT-NeoX).
        scale_embeddings: bool. Embeddings times `sqrt(hidden_dim)` (Gemma).
        attention_logit_soft_cap: float or `None`. Attention logits `cap * tanh(x / cap)`.
        final_logit_soft_cap: float or `None`. LM logits `cap * tanh(x / cap)` (Gemma 2).
        query_scale_dim: float or `None`. Attention scale `query_scale_dim**-0.5` instead of
            `head_dim**-0.5` (Gemma's `query_pre_attn_scalar`).
        dtype: string or `keras.DTypePolicy`.

    Inputs: `token_ids` and `padding_mask`, int32 `(batch, seq)`. Output: `(batch, seq, hidden)`.

    Example:

    >>> backbone = tfzoo.build("llama-tiny")
    """

    #: The options a family subclass fixes by default (its architecture); arguments override.
    FAMILY_DEFAULTS = {}
    #: The options taken through `**kwargs` (`tfzoo.build` accepts them as overrides).
    OPTIONS = tuple(OPTION_DEFAULTS)

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        num_key_value_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=2048,
        rope_max_wavelength=10000,
        rope_scaling_factor=1.0,
        layer_norm_epsilon=1e-5,
        dropout=0.0,
        tie_word_embeddings=False,
        head_dim=None,
        dtype=None,
        **kwargs,
    ):
        defaults = {**OPTION_DEFAULTS, **self.FAMILY_DEFAULTS}
        options = {k: kwargs.pop(k, v) for k, v in defaults.items()}
        checks.check_positive_ints(num_key_value_heads=num_key_value_heads)
        if num_heads % num_key_value_heads:
            raise ValueError(
                f"num_heads={num_heads} is not a multiple of num_key_value_heads="
                f"{num_key_value_heads}. Use a num_key_value_heads that divides num_heads."
            )
        layer_types = options["layer_types"]
        if layer_types is not None:
            layer_types = list(layer_types)
            bad = sorted({t for t in layer_types if t not in LAYER_TYPES})
            if bad or len(layer_types) != num_layers:
                raise ValueError(
                    f"layer_types must list one of {LAYER_TYPES} per layer ({num_layers}); "
                    f"received {len(layer_types)} entries{f', unknown {bad}' if bad else ''}."
                )
            if "sliding_attention" in layer_types and not options["sliding_window"]:
                raise ValueError("layer_types has sliding layers: pass a sliding_window.")
            options["layer_types"] = layer_types
        use_bias = options["use_bias"]
        attention_args = dict(
            rotary_frequency_scaling=options["rope_frequency_scaling"],
            partial_rotary_factor=options["partial_rotary_factor"],
            query_key_norm=options["norm"] if options["query_key_norm"] else None,
            query_key_norm_epsilon=layer_norm_epsilon,
            logit_soft_cap=options["attention_logit_soft_cap"],
            query_scale_dim=options["query_scale_dim"],
        )
        if options["attention_bias"] is not None:
            attention_args["use_bias"] = options["attention_bias"]
        attention_args["output_bias"] = (
            use_bias
            if options["attention_output_bias"] is None
            else options["attention_output_bias"]
        )
        global_block = dict(
            rotary_max_wavelength=rope_max_wavelength,
            rotary_scaling_factor=rope_scaling_factor,
            sliding_window=options["sliding_window"] if layer_types is None else None,
            attention_args=attention_args,
        )
        layer_block_args = None
        if layer_types is not None:
            local_theta = options["local_rope_max_wavelength"]
            local_args = dict(attention_args)
            if local_theta is not None:  # the local layers' own RoPE, unscaled (Gemma 3)
                local_args["rotary_frequency_scaling"] = None
            local = dict(
                sliding_window=options["sliding_window"],
                rotary_max_wavelength=local_theta or rope_max_wavelength,
                rotary_scaling_factor=1.0 if local_theta is not None else rope_scaling_factor,
                attention_args=local_args,
            )
            layer_block_args = [local if t == "sliding_attention" else {} for t in layer_types]
        super().__init__(
            locals(),
            position="none",  # RoPE, in the attention
            norm=options["norm"],
            use_bias=use_bias,
            block_args=dict(
                activation=options["activation"],
                gated_ffn=options["gated_ffn"],
                num_key_value_heads=num_key_value_heads,
                post_norms=options["post_norms"],
                parallel_residual=options["parallel_residual"],
                **global_block,
            ),
            tie_word_embeddings=tie_word_embeddings,
            layer_block_args=layer_block_args,
            scale_embeddings=options["scale_embeddings"],
            final_logit_soft_cap=options["final_logit_soft_cap"],
            **kwargs,
        )

        # === Config ===
        # The Llama options are kept (as attributes and in `options`), but written to the config
        # only where they differ from Llama's.
        self._keep_arguments(locals())
        self.options = options
        for name, value in options.items():
            setattr(self, name, value)
        self._arguments.update({k: v for k, v in options.items() if v != OPTION_DEFAULTS[k]})


def relative_backbone(name, doc, base=LlamaBackbone, **defaults):
    """A registered `LlamaBackbone` subclass called `name` whose options default to `defaults`.

    Each Llama-derived family (Mistral, Qwen, Phi-3, Gemma, GPT-NeoX) is one: the same code,
    its architecture as default arguments, its own class so that `save_pretrained` knows the
    checkpoint format. `base`: a family to extend (Gemma 2 extends Gemma).
    """
    defaults = {**base.FAMILY_DEFAULTS, **defaults}
    fixed = ", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "none"
    attributes = {
        "__doc__": f"{doc}\n\n    `tfzoo.models.LlamaBackbone` (same arguments) with the defaults: {fixed}.",
        "__module__": base.__module__,
        "FAMILY_DEFAULTS": defaults,
    }
    cls = type(name, (base,), attributes)
    return keras.saving.register_keras_serializable(package="tfzoo")(cls)
