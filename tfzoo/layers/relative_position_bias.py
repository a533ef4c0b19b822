import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfzoo")
class RelativePositionBias(keras.layers.Layer):
    """Learned relative position bias with logarithmic buckets (T5, Raffel et al., 2020).

    Each relative distance `key_position - query_position` falls into one of `num_buckets`
    buckets (exact for small distances, logarithmic up to `max_distance`); each bucket has one
    learned scalar per head, added to the attention logits.

    Args:
        num_heads: int. Number of attention heads.
        num_buckets: int. Number of buckets. Defaults to `32`.
        max_distance: int. Distances beyond it share the last bucket. Defaults to `128`.
        bidirectional: bool. `True` for encoders (future and past distances get separate
            buckets), `False` for causal decoders. Defaults to `True`.

    Call arguments:
        query: tensor `(batch, query_len, ...)`; only its length is used.
        key: tensor `(batch, key_len, ...)` or `None` (same as query).
        query_start: int or scalar int tensor. Position of the first query (cached decoding).

    Returns:
        float32 tensor `(1, num_heads, query_len, key_len)`, to pass as `position_bias` to
        `tfzoo.layers.MultiHeadAttention`.
    """

    def __init__(self, num_heads, num_buckets=32, max_distance=128, bidirectional=True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bidirectional = bidirectional

    def build(self, *args, **kwargs):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_buckets, self.num_heads),
            initializer="glorot_uniform",
        )

    def relative_position_bucket(self, relative_position):
        """Maps int distances `key - query` to bucket ids (NumPy-checkable, pure `keras.ops`)."""
        num_buckets = self.num_buckets
        relative_position = ops.cast(relative_position, "int32")
        bucket = ops.zeros_like(relative_position)
        if self.bidirectional:
            num_buckets //= 2
            bucket = bucket + ops.cast(relative_position > 0, "int32") * num_buckets
            distance = ops.abs(relative_position)
        else:
            distance = ops.maximum(-relative_position, 0)
        max_exact = num_buckets // 2
        is_small = distance < max_exact
        safe = ops.cast(ops.maximum(distance, 1), "float32")
        large = max_exact + ops.cast(
            ops.log(safe / max_exact)
            / math.log(self.max_distance / max_exact)
            * (num_buckets - max_exact),
            "int32",
        )
        large = ops.minimum(large, num_buckets - 1)
        return bucket + ops.where(is_small, distance, large)

    def call(self, query, key=None, query_start=0):
        query_len = ops.shape(query)[1]
        key_len = query_len if key is None else ops.shape(key)[1]
        query_pos = ops.arange(query_len, dtype="int32") + ops.cast(query_start, "int32")
        key_pos = ops.arange(key_len, dtype="int32")
        relative = key_pos[None, :] - query_pos[:, None]  # (q, k)
        buckets = self.relative_position_bucket(relative)
        bias = ops.take(ops.cast(self.embeddings, "float32"), buckets, axis=0)  # (q, k, heads)
        return ops.transpose(bias, (2, 0, 1))[None]  # (1, heads, q, k)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "num_buckets": self.num_buckets,
                "max_distance": self.max_distance,
                "bidirectional": self.bidirectional,
            }
        )
        return config
