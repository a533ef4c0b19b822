import keras

from tfzoo.layers import TokenAndPositionEmbedding, TransformerDecoder
from tfzoo.layers._block_config import make_norm
from tfzoo.models.backbone import Backbone, check_sizes, stack_blocks


class DecoderBackbone(Backbone):
    """The decoder-only Transformer that GPT-2 and Llama share, with their differences as options.

    Token embedding (plus a learned position table, or none with RoPE), pre-norm causal
    `TransformerDecoder` blocks and a final norm. `tfzoo.models.GPTBackbone` and
    `tfzoo.models.LlamaBackbone` are this class with each family's choices fixed and its own
    argument names; a new decoder family is usually a new subclass (or a preset), not new code.

    Args:
        arguments: dict. The subclass constructor's `locals()`, read at the sizes
            (`vocabulary_size`, `num_layers`, `num_heads`, `hidden_dim`, `intermediate_dim`,
            `max_sequence_length`, `head_dim`; see `tfzoo.models.backbone.check_sizes`),
            `dropout` (on the embeddings, residual branches and attention probabilities),
            `layer_norm_epsilon` and `dtype`. The subclass keeps them for `get_config` with
            `_keep_arguments`.
        position: string. `"learned"` (a position table, GPT-2) or `"none"` (the blocks encode
            positions: RoPE in Llama).
        norm: string. `"layer_norm"` or `"rms_norm"`, in every block and at the end.
        use_bias: bool. Biases in the projections.
        block_args: dict. The remaining `tfzoo.layers.TransformerDecoder` arguments (activation,
            gated feed-forward, key/value heads, RoPE settings, local attention, ...).
        tie_word_embeddings: bool. Tie the LM head to the token embedding.
        layer_block_args: list of dicts or `None`. Per-block overrides of `block_args`, one per
            layer (alternating local and global attention: Gemma 2 and 3). Defaults to `None`.
        scale_embeddings: bool. Multiply the token embeddings by `sqrt(hidden_dim)` (Gemma).
            Defaults to `False`.
        final_logit_soft_cap: float or `None`. `tfzoo.models.CausalLM` bounds its logits to
            `cap * tanh(logits / cap)` (Gemma 2). Defaults to `None`.
    """

    def __init__(
        self,
        arguments,
        position,
        norm,
        use_bias,
        block_args,
        tie_word_embeddings=True,
        layer_block_args=None,
        scale_embeddings=False,
        final_logit_soft_cap=None,
        **kwargs,
    ):
        check_sizes(arguments)
        num_layers, dropout, dtype = (arguments[k] for k in ("num_layers", "dropout", "dtype"))
        layer_norm_epsilon = arguments["layer_norm_epsilon"]
        if layer_block_args is not None and len(layer_block_args) != num_layers:
            raise ValueError(
                f"layer_block_args has {len(layer_block_args)} entries for num_layers="
                f"{num_layers}; give one dict per layer."
            )
        initializer = keras.initializers.RandomNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            arguments["vocabulary_size"],
            arguments["max_sequence_length"],
            arguments["hidden_dim"],
            position=position,
            scale_embeddings=scale_embeddings,
            tie_weights=tie_word_embeddings,
            embeddings_initializer=initializer,
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.transformer_layers = stack_blocks(
            TransformerDecoder,
            num_layers,
            dtype,
            layer_arguments=layer_block_args.__getitem__ if layer_block_args else None,
            num_heads=arguments["num_heads"],
            intermediate_dim=arguments["intermediate_dim"],
            head_dim=arguments["head_dim"],
            dropout=dropout,
            attention_dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            normalize_first=True,
            norm=norm,
            use_bias=use_bias,
            kernel_initializer=initializer,
            **block_args,
        )
        self.layer_norm = make_norm(norm, layer_norm_epsilon, "layer_norm", dtype)

        # === Functional Model ===
        inputs = self._token_inputs()
        x = self.embeddings_dropout(self.embeddings(inputs["token_ids"]))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=inputs["padding_mask"])
        self._build_graph(inputs, self.layer_norm(x), dtype, kwargs)

        # === Config ===
        self.num_key_value_heads = block_args.get("num_key_value_heads") or arguments["num_heads"]
        self.final_logit_soft_cap = final_logit_soft_cap
