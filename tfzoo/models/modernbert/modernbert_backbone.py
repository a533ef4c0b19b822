import keras

from tfzoo.layers import LayerNorm, TokenAndPositionEmbedding
from tfzoo.models.backbone import Backbone, check_sizes, pick, stack_blocks
from tfzoo.models.modernbert.modernbert_layers import ModernBertBlock

# The arguments ModernBERT passes on to every block under the same names (besides those below).
BLOCK_NAMES = "num_heads intermediate_dim activation"


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertBackbone(Backbone):
    """ModernBERT (Warner et al., 2024): rotary positions, GeGLU, no biases, pre-LN, and every
    `global_every`-th layer global while the others attend within a sliding window.

    Args:
        vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim: sizes
            (`intermediate_dim` is the GeGLU width).
        max_sequence_length: int. Longest trained sequence. Defaults to `8192`.
        local_window: int. Local layers attend to tokens at most this far away (half of Hugging
            Face's `local_attention`). Defaults to `64`.
        global_every: int. Layer `i` is global when `i % global_every == 0`. Defaults to `3`.
        global_rope_theta, local_rope_theta: floats. Rotary bases. Defaults `160000`, `10000`.
        activation: string. Defaults to `"gelu"`.
        use_bias: bool. Biases on attention and MLP projections. Defaults to `False`.
        norm_bias: bool. LayerNorms with a bias. Defaults to `False`.
        layer_norm_epsilon: float. Defaults to `1e-5`.
        dropout: float. Defaults to `0.0`.
        dtype: string or `keras.DTypePolicy`.

    Inputs: `token_ids`, `padding_mask`. Outputs: `sequence_output`.

    Example:

    >>> backbone = tfzoo.build("modernbert-base")
    """

    input_names = ("token_ids", "padding_mask")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=8192,
        local_window=64,
        global_every=3,
        global_rope_theta=160000.0,
        local_rope_theta=10000.0,
        activation="gelu",
        use_bias=False,
        norm_bias=False,
        layer_norm_epsilon=1e-5,
        dropout=0.0,
        dtype=None,
        **kwargs,
    ):
        check_sizes(locals(), takes_head_dim=False)
        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length,
            hidden_dim,
            position="none",
            embeddings_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_norm = LayerNorm(
            layer_norm_epsilon, center=norm_bias, dtype=dtype, name="embeddings_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype)

        def layer_arguments(i):  # every `global_every`-th layer is global
            is_global = i % global_every == 0
            return dict(
                rope_theta=global_rope_theta if is_global else local_rope_theta,
                window=None if is_global else local_window,
                first=i == 0,
            )

        self.transformer_layers = stack_blocks(
            ModernBertBlock,
            num_layers,
            dtype,
            layer_arguments,
            **pick(locals(), f"{BLOCK_NAMES} use_bias norm_bias layer_norm_epsilon dropout"),
        )
        self.final_norm = LayerNorm(
            layer_norm_epsilon, center=norm_bias, dtype=dtype, name="final_norm"
        )
        # === Functional Model ===
        inputs = self._token_inputs()
        x = self.embeddings_dropout(self.embeddings_norm(self.embeddings(inputs["token_ids"])))
        for layer in self.transformer_layers:
            x = layer(x, inputs["padding_mask"])
        self._build_graph(inputs, {"sequence_output": self.final_norm(x)}, dtype, kwargs)
        # === Config ===
        self._has_position_table = False  # rotary: no table limits the length
        self._keep_arguments(locals())
