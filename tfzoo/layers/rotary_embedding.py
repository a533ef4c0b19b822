import math

import keras
import numpy as np
from keras import ops

from tfzoo.layers._arguments import ArgumentsConfig

#: Keys of a Llama-3 frequency scaling (`frequency_scaling` argument).
LLAMA3_KEYS = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")


def inverse_frequencies(rotary_dim, max_wavelength, frequency_scaling=None):
    """RoPE inverse frequencies `max_wavelength**(-2i/d)`, float64 NumPy `(rotary_dim // 2,)`.

    With `frequency_scaling` (a dict with the keys of `LLAMA3_KEYS`), the Llama-3 rule: wavelengths
    longer than `original_max_position_embeddings / low_freq_factor` are divided by `factor`,
    shorter than `original / high_freq_factor` kept, and those between interpolated smoothly.
    """
    inv_freq = 1.0 / (
        max_wavelength ** (np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim)
    )
    if not frequency_scaling:
        return inv_freq
    missing = [k for k in LLAMA3_KEYS if k not in frequency_scaling]
    if missing:
        raise ValueError(
            f"`frequency_scaling` (Llama-3 RoPE) lacks {missing}; it needs all of {LLAMA3_KEYS}."
        )
    factor, low, high, original = (float(frequency_scaling[k]) for k in LLAMA3_KEYS)
    wavelength = 2 * math.pi / inv_freq
    scaled = np.where(wavelength > original / low, inv_freq / factor, inv_freq)
    smooth = (original / wavelength - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelength >= original / high) & (wavelength <= original / low)
    return np.where(medium, smoothed, scaled)


@keras.saving.register_keras_serializable(package="tfzoo")
class RotaryEmbedding(ArgumentsConfig, keras.layers.Layer):
    """Rotary position embedding, RoPE (Su et al., 2021), with linear or Llama-3 scaling.

    Rotates each pair `(x[i], x[i + d/2])` of a query or key vector by the angle
    `position / scaling_factor * max_wavelength**(-2i/d)` (the "rotate half" layout used by
    Llama and GPT-NeoX). No weights.

    Args:
        max_wavelength: int. The base of the geometric frequency sequence. Defaults to `10000`.
        scaling_factor: float. Positions are divided by it (linear RoPE scaling, to stretch a
            model to longer contexts). Defaults to `1.0`.
        frequency_scaling: dict or `None`. Llama-3 frequency scaling (`factor`,
            `low_freq_factor`, `high_freq_factor`, `original_max_position_embeddings`; see
            `inverse_frequencies`). Defaults to `None`.
        rotary_dim: int or `None`. Rotate only the first `rotary_dim` features of each head and
            pass the rest through (partial rotary, GPT-NeoX). Defaults to the whole head.

    Call arguments:
        inputs: tensor `(batch, seq, num_heads, head_dim)`, `head_dim` even.
        start_index: int or scalar int tensor. Position of the first element. Defaults to `0`.

    Example:

    >>> rope = tfzoo.layers.RotaryEmbedding()
    >>> q = rope(np.ones((1, 5, 2, 8), "float32"))
    """

    def __init__(
        self,
        max_wavelength=10000,
        scaling_factor=1.0,
        frequency_scaling=None,
        rotary_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if scaling_factor <= 0:
            raise ValueError(
                f"`scaling_factor` must be > 0. Received: scaling_factor={scaling_factor}"
            )
        scaling_factor = float(scaling_factor)
        frequency_scaling = dict(frequency_scaling) if frequency_scaling else None
        self._keep_arguments(locals())

    def call(self, inputs, start_index=0):
        seq_len, head_dim = ops.shape(inputs)[1], inputs.shape[-1]
        rotary_dim = self.rotary_dim or head_dim
        if rotary_dim < head_dim:  # partial rotary: the tail of each head passes through
            rotated = self._rotate(inputs[..., :rotary_dim], seq_len, rotary_dim, start_index)
            tail = ops.cast(inputs[..., rotary_dim:], self.compute_dtype)
            return ops.concatenate([rotated, tail], axis=-1)
        return self._rotate(inputs, seq_len, head_dim, start_index)

    def _rotate(self, inputs, seq_len, head_dim, start_index):
        half = head_dim // 2
        inv_freq = ops.convert_to_tensor(
            inverse_frequencies(head_dim, self.max_wavelength, self.frequency_scaling), "float32"
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
