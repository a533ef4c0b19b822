import math

import keras
import numpy as np
from keras import ops


def alibi_slopes(num_heads):
    """The per-head ALiBi slopes of Press et al. (2022), as a NumPy float32 array.

    For a power of two `n`, the slopes are `2**(-8/n), 2**(-16/n), ...`; otherwise the slopes of
    the closest smaller power of two are followed by every other slope of the next one.
    """

    def powers(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        slopes = powers(num_heads)
    else:
        closest = 2 ** math.floor(math.log2(num_heads))
        slopes = powers(closest) + powers(2 * closest)[0::2][: num_heads - closest]
    return np.asarray(slopes, dtype="float32")


@keras.saving.register_keras_serializable(package="tfzoo")
class AlibiBias(keras.layers.Layer):
    """Attention with Linear Biases, ALiBi (Press et al., 2022).

    Adds `-slope_h * |query_position - key_position|` to head `h`'s attention logits. With a causal
    mask only past keys are seen, which gives the paper's `slope * (key - query)`. No weights; no
    position table, so sequences may be longer than those seen in training.

    Args:
        num_heads: int. Number of attention heads.

    Call arguments:
        query: tensor `(batch, query_len, ...)`.
        key: tensor `(batch, key_len, ...)` or `None` (same as query).
        query_start: int or scalar int tensor. Position of the first query (cached decoding).

    Returns:
        float32 tensor `(1, num_heads, query_len, key_len)`.
    """

    def __init__(self, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self._slopes = alibi_slopes(num_heads)

    def call(self, query, key=None, query_start=0):
        query_len = ops.shape(query)[1]
        key_len = query_len if key is None else ops.shape(key)[1]
        query_pos = ops.arange(query_len, dtype="int32") + ops.cast(query_start, "int32")
        key_pos = ops.arange(key_len, dtype="int32")
        distance = ops.cast(ops.abs(key_pos[None, :] - query_pos[:, None]), "float32")  # (q, k)
        slopes = ops.convert_to_tensor(self._slopes)[:, None, None]  # (heads, 1, 1)
        return (-slopes * distance[None])[None]  # (1, heads, q, k)

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads})
        return config
