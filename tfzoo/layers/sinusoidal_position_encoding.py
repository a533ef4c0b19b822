import math

import keras
from keras import ops

from tfzoo.layers._arguments import ArgumentsConfig


@keras.saving.register_keras_serializable(package="tfzoo")
class SinusoidalPositionEncoding(ArgumentsConfig, keras.layers.Layer):
    """Fixed sinusoidal position encodings (Vaswani et al., 2017).

    `PE[pos, 2i] = sin(pos / max_wavelength**(2i/d))`, `PE[pos, 2i+1] = cos(...)`, with sines and
    cosines interleaved as in the paper. No weights.

    Args:
        max_wavelength: int. The longest wavelength. Defaults to `10000`.

    Call arguments:
        inputs: tensor `(batch, seq, hidden)`; only its shape is used (`hidden` must be even).
        start_index: int or scalar int tensor. Position of the first element. Defaults to `0`.

    Example:

    >>> enc = tfzoo.layers.SinusoidalPositionEncoding()
    >>> p = enc(np.zeros((1, 50, 64), "float32"))    # (1, 50, 64)
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self._keep_arguments(locals())

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        seq_len, hidden = shape[1], inputs.shape[-1]
        if hidden % 2:
            raise ValueError(f"SinusoidalPositionEncoding needs an even hidden size, got {hidden}.")
        positions = ops.cast(ops.arange(seq_len) + start_index, "float32")  # (seq,)
        # 1 / max_wavelength ** (2i / d), i = 0 .. d/2 - 1
        inv_freq = ops.exp(
            ops.arange(0, hidden, 2, dtype="float32") * (-math.log(self.max_wavelength) / hidden)
        )
        angles = positions[:, None] * inv_freq[None, :]  # (seq, d/2)
        # interleave: (seq, d/2, 2) -> (seq, d)
        encoding = ops.reshape(
            ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (seq_len, hidden)
        )
        encoding = ops.cast(encoding, self.compute_dtype)
        return ops.broadcast_to(encoding[None], shape)

    def compute_output_shape(self, input_shape):
        return input_shape
