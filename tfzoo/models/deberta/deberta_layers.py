"""DeBERTa's disentangled attention (He et al., 2021): content and relative-position scores.

`score(q, k) = (Q_q·K_k + Q_q·Kr[δ(q, k)] + K_k·Qr[δ(q, k)]) / sqrt(head_dim · factor)`, where
`δ` is the log-bucketed relative distance `q - k` shifted into `[0, 2·span)`, `Kr` / `Qr` are
the relative-position embeddings projected by the key / query projections (DeBERTa-v3 shares
them, `share_att_key`) and `factor` counts the terms (1 + c2p + p2c).
"""

import math

import keras
from keras import ops

from tfzoo.layers import LayerNorm, get_activation
from tfzoo.layers._arguments import ArgumentsConfig


def relative_buckets(length, buckets, max_position):
    """`(length, length)` int32 relative positions `q - k`, log-bucketed as DeBERTa-v2 does.

    Distances below `buckets // 2` are kept; longer ones are compressed logarithmically so that
    `max_position` maps to about `buckets`. `buckets <= 0` keeps every distance.
    """
    ids = ops.arange(length, dtype="int32")
    rel = ops.expand_dims(ids, 1) - ops.expand_dims(ids, 0)
    if buckets <= 0 or max_position <= 0:
        return rel
    mid = buckets // 2
    sign = ops.cast(ops.sign(rel), "float32")
    near = ops.logical_and(rel < mid, rel > -mid)
    abs_pos = ops.cast(ops.where(near, mid - 1, ops.abs(rel)), "float32")
    scale = math.log((max_position - 1) / mid)
    log_pos = ops.ceil(ops.log(abs_pos / mid) / scale * (mid - 1)) + mid
    bucket = ops.where(abs_pos <= mid, ops.cast(rel, "float32"), log_pos * sign)
    return ops.cast(bucket, "int32")


@keras.saving.register_keras_serializable(package="tfzoo")
class DebertaEncoderBlock(ArgumentsConfig, keras.layers.Layer):
    """A post-LN encoder block with disentangled self-attention.

    Args:
        num_heads: int. Attention heads.
        intermediate_dim: int. Feed-forward width.
        position_buckets: int. Relative-position buckets per direction (`0`: none).
        max_position: int. Longest distance the buckets reach (`max_position_embeddings`).
        attention_terms: tuple of `"c2p"` / `"p2c"`. Position terms of the score.
        share_position_projections: bool. Project the relative embeddings with the content
            query / key projections (DeBERTa-v3) instead of their own.
        activation: string. Feed-forward activation. Defaults to `"gelu"`.
        dropout: float. Residual dropout. Defaults to `0.1`.
        attention_dropout: float. Dropout on attention probabilities. Defaults to `0.1`.
        layer_norm_epsilon: float. Defaults to `1e-7`.

    Call arguments:
        x: `(batch, seq, hidden)`.
        relative_embeddings: `(2 * span, hidden)`, already normalised; `span` is
            `position_buckets` (or `max_position` without buckets).
        padding_mask: `(batch, seq)`, true at real tokens.
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        position_buckets,
        max_position,
        attention_terms=("c2p", "p2c"),
        share_position_projections=True,
        activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-7,
        **kwargs,
    ):
        super().__init__(**kwargs)
        attention_terms = tuple(attention_terms)
        self._keep_arguments(locals())
        self.span = position_buckets or max_position

    def build(self, x_shape, *args, **kwargs):
        hidden = x_shape[-1]
        self.head_dim = hidden // self.num_heads

        def dense(units, name):
            layer = keras.layers.Dense(
                units,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name=name,
            )
            return layer

        self.query_dense = dense(hidden, "query")
        self.key_dense = dense(hidden, "key")
        self.value_dense = dense(hidden, "value")
        self.output_dense = dense(hidden, "attention_output")
        self.position_key_dense = self.position_query_dense = None
        if not self.share_position_projections:
            if "c2p" in self.attention_terms:
                self.position_key_dense = dense(hidden, "position_key")
            if "p2c" in self.attention_terms:
                self.position_query_dense = dense(hidden, "position_query")
        self.intermediate_dense = dense(self.intermediate_dim, "intermediate")
        self.ffn_output_dense = dense(hidden, "output")
        for layer in (self.query_dense, self.key_dense, self.value_dense):
            layer.build((None, None, hidden))
        for layer in (self.position_key_dense, self.position_query_dense):
            if layer is not None:
                layer.build((None, hidden))
        self.output_dense.build((None, None, hidden))
        self.intermediate_dense.build((None, None, hidden))
        self.ffn_output_dense.build((None, None, self.intermediate_dim))
        eps = self.layer_norm_epsilon
        self.attention_norm = LayerNorm(eps, dtype=self.dtype_policy, name="attention_norm")
        self.output_norm = LayerNorm(eps, dtype=self.dtype_policy, name="output_norm")
        self.attention_norm.build(x_shape)
        self.output_norm.build(x_shape)
        self.residual_dropout = keras.layers.Dropout(self.dropout)
        self.probability_dropout = keras.layers.Dropout(self.attention_dropout)

    def _heads(self, x):
        """`(..., len, hidden)` -> `(..., heads, len, head_dim)`."""
        if len(x.shape) == 2:  # the relative table (2 span, hidden)
            x = ops.reshape(x, (-1, self.num_heads, self.head_dim))
        else:
            x = ops.reshape(x, (ops.shape(x)[0], -1, self.num_heads, self.head_dim))
        return ops.swapaxes(x, -2, -3)

    def call(self, x, relative_embeddings, padding_mask, training=None):
        relative_positions = relative_buckets(
            ops.shape(x)[1], self.position_buckets, self.max_position
        )
        q, k, v = (self._heads(d(x)) for d in (self.query_dense, self.key_dense, self.value_dense))
        factor = 1 + len(self.attention_terms)
        scale = ops.cast(math.sqrt(self.head_dim * factor), q.dtype)
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / scale  # (batch, heads, q, k)
        rel = ops.cast(relative_embeddings, q.dtype)
        if "c2p" in self.attention_terms:
            dense = self.position_key_dense or self.key_dense
            position_keys = self._heads(dense(rel))  # (heads, 2 span, head_dim)
            c2p = ops.einsum("bhqd,hrd->bhqr", q, position_keys)
            index = ops.clip(relative_positions + self.span, 0, 2 * self.span - 1)
            c2p = ops.take_along_axis(c2p, self._broadcast(index, c2p), axis=-1)
            scores = scores + c2p / scale
        if "p2c" in self.attention_terms:
            dense = self.position_query_dense or self.query_dense
            position_queries = self._heads(dense(rel))
            p2c = ops.einsum("bhkd,hrd->bhkr", k, position_queries)
            index = ops.clip(self.span - relative_positions, 0, 2 * self.span - 1)  # [k, q]
            p2c = ops.take_along_axis(p2c, self._broadcast(index, p2c), axis=-1)
            scores = scores + ops.swapaxes(p2c, -1, -2) / scale
        keep = ops.expand_dims(ops.cast(padding_mask, "bool"), (1, 2))
        scores = ops.where(keep, ops.cast(scores, "float32"), -1e30)
        probs = ops.cast(ops.softmax(scores, axis=-1), v.dtype)
        context = ops.matmul(self.probability_dropout(probs, training=training), v)
        shape = ops.shape(x)
        context = ops.reshape(ops.swapaxes(context, 1, 2), shape)
        attended = self.output_dense(context)
        x = self.attention_norm(x + self.residual_dropout(attended, training=training))
        hidden = get_activation(self.activation)(self.intermediate_dense(x))
        out = self.ffn_output_dense(hidden)
        return self.output_norm(x + self.residual_dropout(out, training=training))

    @staticmethod
    def _broadcast(index, scores):
        """`(q, k)` indices broadcast to the `(batch, heads, q, k)` of `scores`."""
        shape = ops.shape(scores)
        rows, cols = ops.shape(index)
        return ops.broadcast_to(ops.expand_dims(index, (0, 1)), (shape[0], shape[1], rows, cols))

    def compute_output_shape(self, x_shape, *args, **kwargs):
        return x_shape


@keras.saving.register_keras_serializable(package="tfzoo")
class RelativePositionEmbeddings(ArgumentsConfig, keras.layers.Layer):
    """The `(2 * span, hidden)` relative-position table shared by every block, optionally
    layer-normalised (DeBERTa-v3). Called on the hidden states only to sit in the graph.
    """

    def __init__(self, span, hidden_dim, normalize=True, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self._keep_arguments(locals())

    def build(self, _):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(2 * self.span, self.hidden_dim),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )
        self.norm = None
        if self.normalize:
            self.norm = LayerNorm(self.epsilon, dtype=self.dtype_policy, name="norm")
            self.norm.build((None, self.hidden_dim))

    def call(self, x):
        table = ops.cast(self.embeddings, self.compute_dtype)
        return table if self.norm is None else self.norm(table)

    def compute_output_shape(self, _):
        return (2 * self.span, self.hidden_dim)
