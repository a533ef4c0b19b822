"""ModernBERT's encoder block (Warner et al., 2024): pre-LN, rotary positions, GeGLU, no biases,
and a bidirectional sliding window on local layers."""

import keras
from keras import ops

from tfzoo.layers import LayerNorm, get_activation
from tfzoo.layers._arguments import ArgumentsConfig


def rotate(x, positions, theta):
    """Rotary embedding in the half-split layout: `x` `(batch, heads, seq, head_dim)`."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (theta ** (ops.arange(0, half, dtype="float32") * 2.0 / (2 * half)))
    angles = ops.expand_dims(ops.cast(positions, "float32"), -1) * inv_freq  # (seq, half)
    cos = ops.cast(ops.concatenate([ops.cos(angles)] * 2, axis=-1), x.dtype)
    sin = ops.cast(ops.concatenate([ops.sin(angles)] * 2, axis=-1), x.dtype)
    rotated = ops.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertBlock(ArgumentsConfig, keras.layers.Layer):
    """One ModernBERT layer: `x + attn(norm(x))`, then `x + mlp(norm(x))`.

    Args:
        num_heads: int. Attention heads.
        intermediate_dim: int. GeGLU width (the fused input projection is twice that).
        rope_theta: float. Rotary base of this layer (global and local layers differ).
        window: int or `None`. Local layers attend to tokens at most `window` positions away.
        first: bool. The first layer has no attention norm (the embeddings are normalised).
        activation: string. Gate activation. Defaults to `"gelu"`.
        use_bias: bool. Biases on the attention and MLP projections. Defaults to `False`.
        norm_bias: bool. LayerNorm with a bias. Defaults to `False`.
        layer_norm_epsilon: float. Defaults to `1e-5`.
        dropout: float. Attention and MLP dropout. Defaults to `0.0`.
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        rope_theta,
        window=None,
        first=False,
        activation="gelu",
        use_bias=False,
        norm_bias=False,
        layer_norm_epsilon=1e-5,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._keep_arguments(locals())

    def build(self, x_shape, *args):
        hidden = x_shape[-1]
        self.head_dim = hidden // self.num_heads
        init = keras.initializers.TruncatedNormal(stddev=0.02)
        policy = self.dtype_policy

        def dense(units, name, fan_in):
            layer = keras.layers.Dense(
                units, use_bias=self.use_bias, kernel_initializer=init, dtype=policy, name=name
            )
            layer.build((None, None, fan_in))
            return layer

        def norm(name):
            layer = LayerNorm(
                self.layer_norm_epsilon, center=self.norm_bias, dtype=policy, name=name
            )
            layer.build(x_shape)
            return layer

        self.qkv_dense = dense(3 * hidden, "qkv", hidden)
        self.attention_output_dense = dense(hidden, "attention_output", hidden)
        self.input_dense = dense(2 * self.intermediate_dim, "mlp_input", hidden)
        self.output_dense = dense(hidden, "mlp_output", self.intermediate_dim)
        self.attention_norm = None if self.first else norm("attention_norm")
        self.mlp_norm = norm("mlp_norm")
        self.drop = keras.layers.Dropout(self.dropout)

    def call(self, x, padding_mask, training=None):
        seq = ops.shape(x)[1]
        h = x if self.attention_norm is None else self.attention_norm(x)
        qkv = ops.reshape(
            self.qkv_dense(h), (ops.shape(x)[0], -1, 3, self.num_heads, self.head_dim)
        )
        q, k, v = (ops.transpose(qkv[:, :, i], (0, 2, 1, 3)) for i in range(3))
        positions = ops.arange(seq)
        q, k = rotate(q, positions, self.rope_theta), rotate(k, positions, self.rope_theta)
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) * ops.cast(self.head_dim**-0.5, q.dtype)
        keep = ops.expand_dims(ops.cast(padding_mask, "bool"), (1, 2))  # (batch, 1, 1, k)
        if self.window is not None:
            distance = ops.abs(ops.expand_dims(positions, 1) - ops.expand_dims(positions, 0))
            keep = ops.logical_and(keep, ops.expand_dims(distance <= self.window, (0, 1)))
        scores = ops.where(keep, ops.cast(scores, "float32"), -1e30)
        probs = ops.cast(ops.softmax(scores, axis=-1), v.dtype)
        context = ops.matmul(self.drop(probs, training=training), v)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), ops.shape(x))
        x = x + self.drop(self.attention_output_dense(context), training=training)
        gate_input, gate = ops.split(self.input_dense(self.mlp_norm(x)), 2, axis=-1)
        hidden = get_activation(self.activation)(gate_input) * gate
        return x + self.output_dense(self.drop(hidden, training=training))

    def compute_output_shape(self, x_shape, *args):
        return x_shape
