import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfzoo")
class RotaryEmbedding(keras.layers.Layer):
    """Rotary position embedding, RoPE (Su et al., 2021), with linear position scaling.

    Rotates each pair `(x[i], x[i + d/2])` of a query or key vector by the angle
    `position / scaling_factor * max_wavelength**(-2i/d)` (the "rotate half" layout used by
    Llama and GPT-NeoX). No weights.

    Args:
        max_wavelength: int. The base of the geometric frequency sequence. Defaults to `10000`.
        scaling_factor: float. Positions are divided by it (linear RoPE scaling, to stretch a
            model to longer contexts). Defaults to `1.0`.

    Call arguments:
        inputs: tensor `(batch, seq, num_heads, head_dim)`, `head_dim` even.
        start_index: int or scalar int tensor. Position of the first element. Defaults to `0`.

    Example:

    >>> rope = tfzoo.layers.RotaryEmbedding()
    >>> q = rope(np.ones((1, 5, 2, 8), "float32"))
    """

    def __init__(self, max_wavelength=10000, scaling_factor=1.0, **kwargs):
        super().__init__(**kwargs)
        if scaling_factor <= 0:
            raise ValueError(
                f"`scaling_factor` must be > 0. Received: scaling_factor={scaling_factor}"
            )
        self.max_wavelength = max_wavelength
        self.scaling_factor = float(scaling_factor)

    def call(self, inputs, start_index=0):
        seq_len, head_dim = ops.shape(inputs)[1], inputs.shape[-1]
        half = head_dim // 2
        inv_freq = 1.0 / (
            self.max_wavelength ** (ops.arange(0, head_dim, 2, dtype="float32") / head_dim)
        )  # (d/2,)
        positions = ops.cast(ops.arange(seq_len) + start_index, "float32") / self.scaling_factor
        angles = positions[:, None] * inv_freq[None, :]  # (seq, d/2)
        angles = ops.concatenate([angles, angles], axis=-1)[None, :, None, :]  # (1, seq, 1, d)
        cos = ops.cos(angles)
        sin = ops.sin(angles)
        x = ops.cast(inputs, "float32")
        rotated = ops.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return ops.cast(x * cos + rotated * sin, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"max_wavelength": self.max_wavelength, "scaling_factor": self.scaling_factor}
        )
        return config
