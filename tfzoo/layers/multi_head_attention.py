import math

import keras
from keras import ops

from tfzoo.layers._arguments import ArgumentsConfig
from tfzoo.layers._block_config import clone_initializer, make_norm
from tfzoo.layers.alibi import AlibiBias
from tfzoo.layers.rotary_embedding import RotaryEmbedding

# Kept for layers that mask with a constant (local attention): finite, never computed in fp16.
_MASK_VALUE = -1e9
# Masked logits are set `_MASK_MARGIN` below the row's smallest logit, so below every real logit
# by at least 30: exp(-30) ~ 1e-13, their weight is zero to float32 precision whatever values the
# padded keys hold, a row whose keys are all masked gets uniform weights instead of NaN, and the
# tensor's range stays that of real logits. A constant like -1e9 would set the range an int8
# converter calibrates on, leaving a single quantization step for every real logit.
_MASK_MARGIN = 30.0


def mask_logits(logits, mask):
    """Replaces masked float32 `logits` by (row min - 30): zero weight, quantization-friendly range."""
    floor = ops.stop_gradient(ops.min(logits, axis=-1, keepdims=True)) - _MASK_MARGIN
    return ops.where(mask, logits, floor)


def soft_cap(logits, cap):
    """`cap * tanh(logits / cap)`: bounds `logits` to (-cap, cap) smoothly (Gemma 2)."""
    return ops.tanh(logits / cap) * cap


@keras.saving.register_keras_serializable(package="tfzoo")
class MultiHeadAttention(ArgumentsConfig, keras.layers.Layer):
    """Multi-head attention with grouped-query heads, position options and a key/value cache.

    Softmax and masking run in float32 whatever the compute dtype, and masked logits are set to a
    large finite value rather than `-inf`, so `mixed_float16` and `mixed_bfloat16` never produce
    NaN (a query whose keys are all masked gets uniform weights instead).

    Args:
        num_heads: int. Number of query heads.
        head_dim: int. Width of each head. Defaults to `hidden_dim // num_heads`.
        num_key_value_heads: int. Number of key/value heads; `num_heads` must be a multiple of it.
            `1` gives multi-query attention, `num_heads` (the default) ordinary attention.
        dropout: float. Dropout on the attention probabilities. Defaults to `0.0`.
        use_bias: bool. Biases on the projections. Defaults to `True`.
        output_dim: int. Width of the output. Defaults to the query's width.
        rotary_max_wavelength: int or `None`. If set, RoPE is applied to queries and keys with
            this base. Defaults to `None`.
        rotary_scaling_factor: float. Linear RoPE position scaling. Defaults to `1.0`.
        use_alibi: bool. Add ALiBi biases to the logits. Defaults to `False`.
        sliding_window: int or `None`. If set, each query only sees keys at most
            `sliding_window - 1` positions away (local attention). Defaults to `None`.
        rotary_frequency_scaling: dict or `None`. Llama-3 RoPE frequency scaling (see
            `tfzoo.layers.RotaryEmbedding`). Defaults to `None`.
        partial_rotary_factor: float in (0, 1]. Fraction of each head that RoPE rotates
            (GPT-NeoX/Pythia: 0.25). Defaults to `1.0`.
        output_bias: bool or `None`. Bias on the output projection; defaults to `use_bias`
            (Qwen2 has query/key/value biases and none on the output).
        query_key_norm: string or `None`. Normalize each query and key head before RoPE with
            this norm (`"rms_norm"`: Qwen3; `"rms_norm_unit_offset"`: Gemma 3). Defaults to
            `None`.
        query_key_norm_epsilon: float. Epsilon of those norms. Defaults to `1e-6`.
        logit_soft_cap: float or `None`. Logits become `cap * tanh(logits / cap)` (Gemma 2).
            Defaults to `None`.
        query_scale_dim: float or `None`. Logits are scaled by `query_scale_dim**-0.5` instead of
            `head_dim**-0.5` (Gemma's `query_pre_attn_scalar`). Defaults to `None`.
        kernel_initializer: initializer of the projection kernels.

    Call arguments:
        query: float tensor `(batch, query_len, dim)`.
        value: float tensor `(batch, key_len, dim)` or `None` for self-attention.
        key: float tensor `(batch, key_len, dim)`; defaults to `value`.
        padding_mask: bool/int tensor `(batch, key_len)`; `0`/`False` keys are ignored. With a
            cache, the mask covers the whole cache length.
        attention_mask: bool/int tensor `(batch, query_len, key_len)`; combined (AND) with the
            other masks.
        use_causal_mask: bool. Queries only see keys at the same or earlier positions.
        position_bias: float tensor broadcastable to `(batch, num_heads, query_len, key_len)`,
            added to the logits (e.g. from `tfzoo.layers.RelativePositionBias`).
        cache: float tensor `(batch, 2, max_len, num_key_value_heads, head_dim)` of keys and values.
        cache_update_index: int or scalar int tensor. Where the new keys and values go in `cache`.
            If `cache` is given and this is `None`, the cache is used as precomputed keys and
            values (cross-attention over a fixed encoder output) and is not updated.
        return_attention_scores: bool. Also return the attention probabilities
            `(batch, num_heads, query_len, key_len)`.
        training: bool. Enables dropout.

    Returns:
        The output `(batch, query_len, output_dim)`; with a cache, `(output, cache)`; with
        `return_attention_scores`, the probabilities are appended to that tuple.

    Example:

    >>> mha = tfzoo.layers.MultiHeadAttention(num_heads=4, num_key_value_heads=2)
    >>> x = np.random.rand(2, 6, 32).astype("float32")
    >>> y = mha(x, padding_mask=np.ones((2, 6), bool), use_causal_mask=True)   # (2, 6, 32)
    """

    def __init__(
        self,
        num_heads,
        head_dim=None,
        num_key_value_heads=None,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        rotary_max_wavelength=None,
        rotary_scaling_factor=1.0,
        use_alibi=False,
        sliding_window=None,
        rotary_frequency_scaling=None,
        partial_rotary_factor=1.0,
        output_bias=None,
        query_key_norm=None,
        query_key_norm_epsilon=1e-6,
        logit_soft_cap=None,
        query_scale_dim=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 < partial_rotary_factor <= 1.0:
            raise ValueError(
                f"`partial_rotary_factor` must be in (0, 1]. Received: "
                f"partial_rotary_factor={partial_rotary_factor}"
            )
        for name, value in (
            ("logit_soft_cap", logit_soft_cap),
            ("query_scale_dim", query_scale_dim),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"`{name}` must be > 0 or None. Received: {name}={value}")
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError(f"`num_heads` must be a positive int. Received: num_heads={num_heads}")
        num_key_value_heads = num_key_value_heads or num_heads
        if num_key_value_heads <= 0 or num_heads % num_key_value_heads:
            raise ValueError(
                f"`num_heads` must be a multiple of `num_key_value_heads`. Received: "
                f"num_heads={num_heads}, num_key_value_heads={num_key_value_heads}"
            )
        if head_dim is not None and head_dim <= 0:
            raise ValueError(f"`head_dim` must be positive. Received: head_dim={head_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        if sliding_window is not None and (
            not isinstance(sliding_window, int) or sliding_window <= 0
        ):
            raise ValueError(
                f"`sliding_window` must be a positive int or None. Received: sliding_window={sliding_window}"
            )
        if use_alibi and rotary_max_wavelength:
            raise ValueError("Use either RoPE (`rotary_max_wavelength`) or ALiBi, not both.")
        partial_rotary_factor = float(partial_rotary_factor)
        output_bias = use_bias if output_bias is None else output_bias
        self._keep_arguments(locals())

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        dim = query_shape[-1]
        if self.head_dim is None:
            if dim % self.num_heads:
                raise ValueError(
                    f"The hidden size ({dim}) must be divisible by num_heads ({self.num_heads}), "
                    f"or pass head_dim explicitly. Pick a hidden size that is a multiple of "
                    f"{self.num_heads}."
                )
            self.head_dim = dim // self.num_heads
        output_dim = self.output_dim or dim
        bias = "de" if self.use_bias else None
        self.query_dense = self._projection("query", self.num_heads, bias, query_shape)
        self.key_dense = self._projection("key", self.num_key_value_heads, bias, key_shape)
        self.value_dense = self._projection("value", self.num_key_value_heads, bias, value_shape)
        self.output_dense = self._projection(
            "attention_output",
            None,
            "e" if self.output_bias else None,
            (None, None, self.num_heads, self.head_dim),
            output_dim=output_dim,
        )
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.rotary = None
        if self.rotary_max_wavelength:
            rotary_dim = int(self.head_dim * self.partial_rotary_factor)
            self.rotary = RotaryEmbedding(
                self.rotary_max_wavelength,
                self.rotary_scaling_factor,
                frequency_scaling=self.rotary_frequency_scaling,
                rotary_dim=rotary_dim if rotary_dim < self.head_dim else None,
                dtype=self.dtype_policy,
                name="rotary",
            )
        self.query_norm = self.key_norm = None
        if self.query_key_norm:
            head_shape = (None, None, None, self.head_dim)
            self.query_norm, self.key_norm = (
                make_norm(self.query_key_norm, self.query_key_norm_epsilon, n, self.dtype_policy)
                for n in ("query_norm", "key_norm")
            )
            self.query_norm.build(head_shape)
            self.key_norm.build(head_shape)
        self.alibi = AlibiBias(self.num_heads, name="alibi") if self.use_alibi else None
        self.built = True

    def _projection(self, name, heads, bias_axes, input_shape, output_dim=None):
        """A built `EinsumDense` to `heads` heads (query, key, value) or from them to `output_dim`."""
        equation, output_shape = "abc,cde->abde", (None, heads, self.head_dim)
        if output_dim is not None:
            equation, output_shape = "abcd,cde->abe", (None, output_dim)
        layer = keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes,
            name=name,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
        )
        layer.build(input_shape)
        return layer

    def call(
        self,
        query,
        value=None,
        key=None,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        position_bias=None,
        cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        value = query if value is None else value
        key = value if key is None else key
        start = 0 if cache_update_index is None else cache_update_index

        q = self.query_dense(query)  # (B, Tq, H, D)
        if self.query_norm is not None:
            q = self.query_norm(q)
        if self.rotary is not None:
            q = self.rotary(q, start_index=start)
        if cache is not None and cache_update_index is None:
            # Precomputed keys/values (cross-attention cache): (B, 2, Tk, Hkv, D)
            k, v = cache[:, 0, ...], cache[:, 1, ...]
        else:
            k = self.key_dense(key)  # (B, Tk, Hkv, D)
            v = self.value_dense(value)
            if self.key_norm is not None:
                k = self.key_norm(k)
            if self.rotary is not None:
                k = self.rotary(k, start_index=start)
            if cache is not None:
                k_cache = ops.slice_update(cache[:, 0, ...], (0, cache_update_index, 0, 0), k)
                v_cache = ops.slice_update(cache[:, 1, ...], (0, cache_update_index, 0, 0), v)
                k, v = k_cache, v_cache  # (B, max_len, Hkv, D)
                cache = ops.stack([k_cache, v_cache], axis=1)

        mask = self._compute_mask(
            ops.shape(q)[1],
            ops.shape(k)[1],
            query_start=start,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
        )
        if self.alibi is not None:
            alibi = self.alibi(q, k, query_start=start)
            position_bias = alibi if position_bias is None else position_bias + alibi

        output, probs = self._compute_attention(q, k, v, mask, position_bias, training)
        output = self.output_dense(output)

        outputs = (output,)
        if cache is not None:
            outputs += (cache,)
        if return_attention_scores:
            outputs += (probs,)
        return outputs[0] if len(outputs) == 1 else outputs

    def _compute_mask(
        self, query_len, key_len, query_start, padding_mask, attention_mask, use_causal_mask
    ):
        """Returns a bool mask `(B or 1, 1, Tq, Tk)` (True = attend) or `None`."""
        mask = None
        if use_causal_mask or self.sliding_window is not None:
            q_pos = ops.arange(query_len, dtype="int32") + ops.cast(query_start, "int32")
            k_pos = ops.arange(key_len, dtype="int32")
            # expand_dims, not `mask[None, None]`: a bool strided slice with new axes is not a
            # TFLite builtin (it would need Flex).
            mask = ops.expand_dims(self._position_mask(q_pos, k_pos, use_causal_mask), (0, 1))
        if padding_mask is not None:
            keys = ops.expand_dims(ops.cast(padding_mask, "bool"), (1, 2))  # (B, 1, 1, Tk)
            mask = keys if mask is None else ops.logical_and(mask, keys)
        if attention_mask is not None:
            explicit = ops.expand_dims(ops.cast(attention_mask, "bool"), 1)  # (B, 1, Tq, Tk)
            mask = explicit if mask is None else ops.logical_and(mask, explicit)
        return mask

    def _position_mask(self, q_pos, k_pos, use_causal_mask):
        """Which key positions each query position sees, `(Tq, Tk)` bool: causal, window."""
        distance = q_pos[:, None] - k_pos[None, :]  # (Tq, Tk), query minus key
        mask = ops.ones_like(distance, dtype="bool")
        if use_causal_mask:
            mask = ops.logical_and(mask, distance >= 0)
        if self.sliding_window is not None:
            mask = ops.logical_and(mask, ops.abs(distance) < self.sliding_window)
        return mask

    def _compute_attention(self, query, key, value, mask=None, position_bias=None, training=None):
        """Scaled dot-product attention. Inputs `(B, T, H, D)`; returns `(B, Tq, H, D)` and probs.

        Subclasses (for example quantization-aware attention) override this method.
        """
        groups = self.num_heads // self.num_key_value_heads
        if groups > 1:
            key = ops.repeat(key, groups, axis=2)  # (B, Tk, H, D)
            value = ops.repeat(value, groups, axis=2)
        # Scale the query first: smaller logits, no fp16 overflow in the matmul.
        scale_dim = self.query_scale_dim or self.head_dim
        query = query * ops.cast(1.0 / math.sqrt(scale_dim), query.dtype)
        q = ops.transpose(query, (0, 2, 1, 3))  # (B, H, Tq, D)
        k = ops.transpose(key, (0, 2, 3, 1))  # (B, H, D, Tk)
        v = ops.transpose(value, (0, 2, 1, 3))  # (B, H, Tk, D)
        logits = ops.cast(ops.matmul(q, k), "float32")  # (B, H, Tq, Tk)
        if position_bias is not None:
            logits = logits + ops.cast(position_bias, "float32")
        if self.logit_soft_cap is not None:
            logits = soft_cap(logits, self.logit_soft_cap)
        if mask is not None:
            logits = mask_logits(logits, mask)
        probs = ops.softmax(logits, axis=-1)
        probs = ops.cast(probs, self.compute_dtype)
        dropped = self.dropout_layer(probs, training=training)
        output = ops.matmul(dropped, v)  # (B, H, Tq, D)
        return ops.transpose(output, (0, 2, 1, 3)), probs  # (B, Tq, H, D)
