import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfzoo")
class LayerNorm(keras.layers.Layer):
    """Layer normalization over the last axis, computed in float32.

    Statistics are computed in float32 whatever the compute dtype, so `mixed_float16` and
    `mixed_bfloat16` stay accurate; the result is cast back to the compute dtype.

    Args:
        epsilon: float. Added to the variance. Defaults to `1e-12`.
        center: bool. Whether to add a learned bias. Defaults to `True`.
        scale: bool. Whether to multiply by a learned gain. Defaults to `True`.

    Call arguments:
        inputs: float tensor of shape `(..., hidden_dim)`.

    Example:

    >>> norm = tfzoo.layers.LayerNorm(epsilon=1e-5)
    >>> y = norm(np.ones((2, 3, 8), "float32"))
    """

    def __init__(self, epsilon=1e-12, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale

    def build(self, input_shape):
        dim = input_shape[-1]
        self.gamma = (
            self.add_weight(name="gamma", shape=(dim,), initializer="ones") if self.scale else None
        )
        self.beta = (
            self.add_weight(name="beta", shape=(dim,), initializer="zeros") if self.center else None
        )

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean = ops.mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
        x = centered * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            x = x * ops.cast(self.gamma, "float32")
        if self.beta is not None:
            x = x + ops.cast(self.beta, "float32")
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon, "center": self.center, "scale": self.scale})
        return config
