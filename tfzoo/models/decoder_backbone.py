import keras

from tfzoo.layers import TokenAndPositionEmbedding, TransformerDecoder, checks
from tfzoo.layers._block_config import make_norm
from tfzoo.models.backbone import Backbone


class DecoderBackbone(Backbone):
    """The decoder-only Transformer that GPT-2 and Llama share, with their differences as options.

    Token embedding (plus a learned position table, or none with RoPE), pre-norm causal
    `TransformerDecoder` blocks and a final norm. `tfzoo.models.GPTBackbone` and
    `tfzoo.models.LlamaBackbone` are this class with each family's choices fixed and its own
    argument names; a new decoder family is usually a new subclass (or a preset), not new code.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: ints. The shape.
        position: string. `"learned"` (a position table, GPT-2) or `"none"` (the blocks encode
            positions: RoPE in Llama).
        norm: string. `"layer_norm"` or `"rms_norm"`, in every block and at the end.
        use_bias: bool. Biases in the projections.
        block_args: dict. The remaining `tfzoo.layers.TransformerDecoder` arguments (activation,
            gated feed-forward, key/value heads, RoPE settings, local attention, ...).
        max_sequence_length: int. The position table size (or the longest sequence with RoPE).
        dropout: float. On the embeddings, residual branches and attention probabilities.
        layer_norm_epsilon: float.
        head_dim: int or `None`. Defaults to `hidden_dim // num_heads`.
        tie_word_embeddings: bool. Tie the LM head to the token embedding.
        layer_block_args: list of dicts or `None`. Per-block overrides of `block_args`, one per
            layer (alternating local and global attention: Gemma 2 and 3). Defaults to `None`.
        scale_embeddings: bool. Multiply the token embeddings by `sqrt(hidden_dim)` (Gemma).
            Defaults to `False`.
        final_logit_soft_cap: float or `None`. `tfzoo.models.CausalLM` bounds its logits to
            `cap * tanh(logits / cap)` (Gemma 2). Defaults to `None`.
        dtype: string or `keras.DTypePolicy`.
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        position,
        norm,
        use_bias,
        block_args,
        max_sequence_length,
        dropout,
        layer_norm_epsilon,
        head_dim=None,
        tie_word_embeddings=True,
        layer_block_args=None,
        scale_embeddings=False,
        final_logit_soft_cap=None,
        dtype=None,
        **kwargs,
    ):
        checks.check_positive_ints(
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            num_heads=num_heads,
            hidden_dim=hidden_dim,
            intermediate_dim=intermediate_dim,
            max_sequence_length=max_sequence_length,
        )
        checks.check_positive_ints(allow_none=True, head_dim=head_dim)
        if head_dim is None and hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Pick a "
                f"hidden_dim that is a multiple of num_heads, or pass head_dim."
            )
        if layer_block_args is not None and len(layer_block_args) != num_layers:
            raise ValueError(
                f"layer_block_args has {len(layer_block_args)} entries for num_layers="
                f"{num_layers}; give one dict per layer."
            )
        initializer = keras.initializers.RandomNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length,
            hidden_dim,
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
        self.transformer_layers = [
            TransformerDecoder(
                num_heads,
                intermediate_dim,
                head_dim=head_dim,
                dropout=dropout,
                attention_dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=True,
                norm=norm,
                use_bias=use_bias,
                kernel_initializer=initializer,
                dtype=dtype,
                name=f"transformer_layer_{i}",
                **{**block_args, **(layer_block_args[i] if layer_block_args else {})},
            )
            for i in range(num_layers)
        ]
        self.layer_norm = make_norm(norm, layer_norm_epsilon, "layer_norm", dtype)

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = self.embeddings_dropout(self.embeddings(token_ids))
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        x = self.layer_norm(x)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask},
            outputs=x,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.num_key_value_heads = block_args.get("num_key_value_heads") or num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self._head_dim = head_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.layer_norm_epsilon = layer_norm_epsilon
        self.final_logit_soft_cap = final_logit_soft_cap

    @property
    def head_dim(self):
        return self._head_dim or self.hidden_dim // self.num_heads

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "head_dim": self._head_dim,
                "dropout": self.dropout,
                "max_sequence_length": self.max_sequence_length,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
