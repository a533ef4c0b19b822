import keras

from tfzoo.layers import RMSNorm, TokenAndPositionEmbedding, TransformerDecoder, checks
from tfzoo.models.backbone import Backbone


@keras.saving.register_keras_serializable(package="tfzoo")
class LlamaBackbone(Backbone):
    """A Llama-style decoder (Touvron et al., 2023): RoPE, RMSNorm, SwiGLU feed-forward,
    grouped-query attention, no biases, pre-norm blocks and a final RMSNorm.

    Args:
        vocabulary_size: int. Number of token ids.
        num_layers: int. Number of decoder blocks.
        num_heads: int. Query heads; must divide `hidden_dim`.
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
            `hidden_dim // num_heads`; set by `tfzoo.compress.prune_structured`, which removes
            heads and keeps their width.
        dtype: string or `keras.DTypePolicy`.

    Inputs: `token_ids` and `padding_mask`, int32 `(batch, seq)`. Output: `(batch, seq, hidden)`.

    Example:

    >>> backbone = tfzoo.build("llama-tiny")
    """

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
        checks.check_positive_ints(
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            num_heads=num_heads,
            hidden_dim=hidden_dim,
            intermediate_dim=intermediate_dim,
            max_sequence_length=max_sequence_length,
        )
        checks.check_positive_ints(num_key_value_heads=num_key_value_heads)
        checks.check_positive_ints(allow_none=True, head_dim=head_dim)
        if head_dim is None and hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Pick a "
                f"hidden_dim that is a multiple of num_heads, or pass head_dim."
            )
        if num_heads % num_key_value_heads:
            raise ValueError(
                f"num_heads={num_heads} is not a multiple of num_key_value_heads="
                f"{num_key_value_heads}. Use a num_key_value_heads that divides num_heads."
            )
        initializer = keras.initializers.RandomNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length,
            hidden_dim,
            position="none",
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
                activation="silu",
                gated_ffn=True,
                dropout=dropout,
                attention_dropout=dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=True,
                norm="rms_norm",
                num_key_value_heads=num_key_value_heads,
                use_bias=False,
                rotary_max_wavelength=rope_max_wavelength,
                rotary_scaling_factor=rope_scaling_factor,
                kernel_initializer=initializer,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        self.layer_norm = RMSNorm(layer_norm_epsilon, dtype=dtype, name="layer_norm")

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
        self.num_key_value_heads = num_key_value_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self._head_dim = head_dim
        self.max_sequence_length = max_sequence_length
        self.rope_max_wavelength = rope_max_wavelength
        self.rope_scaling_factor = rope_scaling_factor
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self.tie_word_embeddings = tie_word_embeddings

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
                "num_key_value_heads": self.num_key_value_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "head_dim": self._head_dim,
                "max_sequence_length": self.max_sequence_length,
                "rope_max_wavelength": self.rope_max_wavelength,
                "rope_scaling_factor": self.rope_scaling_factor,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "dropout": self.dropout,
                "tie_word_embeddings": self.tie_word_embeddings,
            }
        )
        return config
