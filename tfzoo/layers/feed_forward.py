import keras

from tfzoo.layers._block_config import clone_initializer
from tfzoo.layers.activations import canonical_activation, get_activation


@keras.saving.register_keras_serializable(package="tfzoo")
class FeedForward(keras.layers.Layer):
    """The position-wise feed-forward network of a Transformer block.

    Plain: `out(act(in(x)))`. Gated (`gated=True`, Shazeer 2020): `out(act(gate(x)) * up(x))`;
    with `activation="silu"` this is SwiGLU (Llama), with `"gelu"` GeGLU.

    Args:
        intermediate_dim: int. Width of the hidden layer.
        activation: string. `"gelu"` (exact), `"gelu_tanh"`, `"relu"` or `"silu"` (or a Hugging
            Face alias). Defaults to `"gelu"`.
        gated: bool. Use a gated linear unit. Defaults to `False`.
        dropout: float. Dropout on the output. Defaults to `0.0`.
        use_bias: bool. Biases on the projections. Defaults to `True`.
        output_dim: int. Output width. Defaults to the input width.
        kernel_initializer: initializer of the kernels.

    Call arguments:
        inputs: float tensor `(batch, seq, hidden)`.
        training: bool. Enables dropout.

    Example:

    >>> ffn = tfzoo.layers.FeedForward(64, activation="silu", gated=True)   # SwiGLU
    >>> y = ffn(np.ones((2, 5, 16), "float32"))                             # (2, 5, 16)
    """

    def __init__(
        self,
        intermediate_dim,
        activation="gelu",
        gated=False,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if intermediate_dim is None or intermediate_dim <= 0:
            raise ValueError(
                f"`intermediate_dim` must be a positive int. Received: intermediate_dim={intermediate_dim}"
            )
        self.intermediate_dim = intermediate_dim
        self.activation = canonical_activation(activation)
        self.gated = gated
        self.dropout = dropout
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._activation_fn = get_activation(self.activation)

    def build(self, input_shape):
        def dense():
            return dict(
                use_bias=self.use_bias,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                dtype=self.dtype_policy,
            )

        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, name="intermediate", **dense()
        )
        self.intermediate_dense.build(input_shape)
        self.gate_dense = None
        if self.gated:
            self.gate_dense = keras.layers.Dense(self.intermediate_dim, name="gate", **dense())
            self.gate_dense.build(input_shape)
        self.output_dense = keras.layers.Dense(
            self.output_dim or input_shape[-1], name="output", **dense()
        )
        self.output_dense.build((*input_shape[:-1], self.intermediate_dim))
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, training=None):
        if self.gated:
            x = self._activation_fn(self.gate_dense(inputs)) * self.intermediate_dense(inputs)
        else:
            x = self._activation_fn(self.intermediate_dense(inputs))
        return self.dropout_layer(self.output_dense(x), training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim or input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "gated": self.gated,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
