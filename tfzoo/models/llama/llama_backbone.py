import keras

from tfzoo.layers import checks
from tfzoo.models.decoder_backbone import DecoderBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class LlamaBackbone(DecoderBackbone):
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
        checks.check_positive_ints(num_key_value_heads=num_key_value_heads)
        if num_heads % num_key_value_heads:
            raise ValueError(
                f"num_heads={num_heads} is not a multiple of num_key_value_heads="
                f"{num_key_value_heads}. Use a num_key_value_heads that divides num_heads."
            )
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            position="none",  # RoPE, in the attention
            norm="rms_norm",
            use_bias=False,
            block_args=dict(
                activation="silu",
                gated_ffn=True,
                num_key_value_heads=num_key_value_heads,
                rotary_max_wavelength=rope_max_wavelength,
                rotary_scaling_factor=rope_scaling_factor,
            ),
            max_sequence_length=max_sequence_length,
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            head_dim=head_dim,
            tie_word_embeddings=tie_word_embeddings,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.rope_max_wavelength = rope_max_wavelength
        self.rope_scaling_factor = rope_scaling_factor
        self.tie_word_embeddings = tie_word_embeddings

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_key_value_heads": self.num_key_value_heads,
                "rope_max_wavelength": self.rope_max_wavelength,
                "rope_scaling_factor": self.rope_scaling_factor,
                "tie_word_embeddings": self.tie_word_embeddings,
            }
        )
        return config
