import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfzoo")
class RMSNorm(keras.layers.Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019), computed in float32.

    `y = x / sqrt(mean(x**2) + epsilon) * gamma`; no centering and no bias, as in Llama. With
    `unit_offset=True` the scale is `1 + gamma` (Gemma's convention: `gamma` starts at zero).

    Args:
        epsilon: float. Added to the mean square. Defaults to `1e-6`.
        unit_offset: bool. Scale by `1 + gamma` instead of `gamma`. Defaults to `False`.

    Call arguments:
        inputs: float tensor of shape `(..., hidden_dim)`.

    Example:

    >>> norm = tfzoo.layers.RMSNorm()
    >>> y = norm(np.ones((2, 3, 8), "float32"))
    """

    def __init__(self, epsilon=1e-6, unit_offset=False, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.unit_offset = unit_offset

    def build(self, input_shape):
        self.gamma = self.add_weight(
            name="gamma",
            shape=(input_shape[-1],),
            initializer="zeros" if self.unit_offset else "ones",
        )

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        x = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        scale = ops.cast(self.gamma, "float32")
        if self.unit_offset:
            scale = scale + 1.0
        return ops.cast(x * scale, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon, "unit_offset": self.unit_offset})
        return config
