import math

import keras
from keras import ops

from tfzoo.layers import checks
from tfzoo.layers.multi_head_attention import _MASK_VALUE, MultiHeadAttention

# Call arguments that only the dense computation handles (cross-attention, cached decoding, ...).
DENSE_ARGUMENTS = ("value", "key", "cache", "attention_mask", "position_bias")
# Names in `call`'s `locals()` that are not call arguments.
NOT_ARGUMENTS = ("self", "__class__")


@keras.saving.register_keras_serializable(package="tfzoo")
class LocalMultiHeadAttention(MultiHeadAttention):
    """Sliding-window self-attention in blocks: memory linear in the sequence length.

    Gives the same result as `tfzoo.layers.MultiHeadAttention(sliding_window=w)` (each query
    sees the keys less than `w` positions away, and only earlier ones with a causal mask) but
    never builds the `(seq, seq)` logits. The sequence is cut into chunks of `w` tokens; each
    chunk's queries attend to the keys of their own chunk and of the previous one (and of the
    next one without a causal mask), so logits take `(seq / w) * w * 3w = 3 * w * seq` entries
    instead of `seq**2` (Beltagy et al., 2020, "Longformer").

    The first `global_tokens` positions are global, as Longformer's: every query also attends to
    them, and they attend to every key. The result equals full attention with the mask
    `band OR key is global OR query is global` (and the causal and padding masks).

    Cross-attention, cached decoding, explicit `attention_mask`, `position_bias`, ALiBi and
    `return_attention_scores` fall back to the exact dense computation of
    `tfzoo.layers.MultiHeadAttention` with the same mask (band, global positions, causal,
    padding): one decoding step is `(1, cache_length)` logits, linear anyway.

    Args:
        num_heads: int. Number of query heads.
        sliding_window: int. The window `w`: a query sees keys at most `w - 1` positions away;
            also the chunk size.
        global_tokens: int. Number of leading global positions (e.g. `1` for a `[CLS]` token).
            Defaults to `0`.
        **kwargs: the other arguments of `tfzoo.layers.MultiHeadAttention` (`head_dim`,
            `num_key_value_heads`, `dropout`, `use_bias`, `rotary_max_wavelength`, ...).

    Call arguments:
        The same as `tfzoo.layers.MultiHeadAttention`. The blocked path is used for
        self-attention with optional `padding_mask` and `use_causal_mask`.

    Example:

    >>> attention = tfzoo.layers.LocalMultiHeadAttention(num_heads=2, sliding_window=64)
    >>> x = np.random.rand(1, 4096, 32).astype("float32")
    >>> y = attention(x, use_causal_mask=True)   # (1, 4096, 32), no (4096, 4096) tensor
    """

    def __init__(self, num_heads, sliding_window, global_tokens=0, **kwargs):
        checks.check_positive_ints(sliding_window=sliding_window)  # the window and chunk size
        checks.check_positive_ints(minimum=0, global_tokens=global_tokens)
        super().__init__(num_heads, sliding_window=sliding_window, **kwargs)
        self._keep_arguments(locals())

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
        arguments = locals()  # the dense path is MultiHeadAttention's, with every argument
        dense = any(arguments[name] is not None for name in DENSE_ARGUMENTS)
        if dense or return_attention_scores or self.alibi is not None:
            if self.global_tokens and (value is not None or key is not None):
                raise ValueError(
                    "LocalMultiHeadAttention with global_tokens is self-attention only: the "
                    "global positions are positions of the query sequence. Received a "
                    "separate `value`/`key`."
                )
            return super().call(**{k: v for k, v in arguments.items() if k not in NOT_ARGUMENTS})
        seq_len = query.shape[1]
        if isinstance(seq_len, int):
            if self.sliding_window > seq_len:
                raise ValueError(
                    f"sliding_window={self.sliding_window} is larger than the sequence "
                    f"({seq_len} tokens): local attention would be full attention. Use dense "
                    f"attention for sequences this short (tfzoo.layers.MultiHeadAttention, or "
                    f"attention_implementation='dense' in a zoo model), or a window "
                    f"<= {seq_len}."
                )
            if self.global_tokens > seq_len:
                raise ValueError(
                    f"global_tokens={self.global_tokens} exceeds the sequence length {seq_len}."
                )
        q = self.query_dense(query)  # (B, T, H, D)
        k = self.key_dense(query)  # (B, T, Hkv, D)
        v = self.value_dense(query)
        if self.rotary is not None:
            q = self.rotary(q, start_index=0)
            k = self.rotary(k, start_index=0)
        output = self._blocked_attention(q, k, v, padding_mask, use_causal_mask, training)
        return self.output_dense(output)

    def _blocked_attention(self, q, k, v, padding_mask, causal, training):
        """Banded attention in chunks. Inputs `(B, T, H, D)`; returns `(B, T, H, D)`."""
        w, g = self.sliding_window, self.global_tokens
        groups = self.num_heads // self.num_key_value_heads
        if groups > 1:
            k = ops.repeat(k, groups, axis=2)  # (B, T, H, D)
            v = ops.repeat(v, groups, axis=2)
        q = q * ops.cast(1.0 / math.sqrt(self.head_dim), q.dtype)
        batch, seq = ops.shape(q)[0], ops.shape(q)[1]
        heads, dim = self.num_heads, self.head_dim
        pad = (w - seq % w) % w
        padded = seq + pad
        chunks = padded // w
        if padding_mask is None:
            key_ok = ops.ones((batch, seq), dtype="bool")
        else:
            key_ok = ops.cast(padding_mask, "bool")  # (B, T)

        def to_chunks(x):
            x = ops.pad(x, ((0, 0), (0, pad), (0, 0), (0, 0)))  # (B, Tp, H, D)
            x = ops.transpose(x, (0, 2, 1, 3))  # (B, H, Tp, D)
            return ops.reshape(x, (batch, heads, chunks, w, dim))  # (B, H, C, w, D)

        def neighbours(x, axis):
            """`x` chunked along `axis`; concatenates previous (and next) chunks on axis + 1."""
            zeros = ops.zeros_like(ops.take(x, ops.arange(1), axis=axis))
            prev = ops.concatenate([zeros, ops.take(x, ops.arange(chunks - 1), axis=axis)], axis)
            parts = [prev, x]
            if not causal:
                nxt = ops.concatenate([ops.take(x, ops.arange(1, chunks), axis=axis), zeros], axis)
                parts.append(nxt)
            return ops.concatenate(parts, axis=axis + 1)

        qc = to_chunks(q)  # (B, H, C, w, D)
        kc = neighbours(to_chunks(k), axis=2)  # (B, H, C, span, D), span = 2w or 3w
        vc = neighbours(to_chunks(v), axis=2)
        span = (2 if causal else 3) * w
        logits = ops.matmul(qc, ops.transpose(kc, (0, 1, 2, 4, 3)))  # (B, H, C, w, span)
        logits = ops.cast(logits, "float32")

        # Key j of a chunk's window sits at position (c - 1) * w + j; query i at c * w + i.
        i = ops.arange(w, dtype="int32")[:, None]
        j = ops.arange(span, dtype="int32")[None, :]
        offset = j - w - i  # key minus query position, (w, span)
        band = ops.abs(offset) < w
        if causal:
            band = ops.logical_and(band, offset <= 0)
        key_pos = ops.arange(chunks, dtype="int32")[:, None] * w - w + j  # (C, span)
        key_in = ops.logical_and(key_pos >= g, key_pos < seq)  # global keys are counted below
        key_ok_chunks = ops.reshape(
            ops.pad(key_ok, ((0, 0), (0, pad))), (batch, chunks, w)
        )  # (B, C, w)
        key_ok_chunks = neighbours(key_ok_chunks, axis=1)  # (B, C, span)
        mask = ops.logical_and(
            ops.expand_dims(band, (0, 1)), ops.expand_dims(key_in, (0, 2))
        )  # (1, C, w, span)
        mask = ops.logical_and(mask, ops.expand_dims(key_ok_chunks, 2))  # (B, C, w, span)
        mask = ops.expand_dims(mask, 1)  # (B, 1, C, w, span)
        logits = ops.where(mask, logits, _MASK_VALUE)

        if g:
            # Every query also attends to the g global keys (B, H, C, w, g).
            kg = ops.transpose(k[:, :g], (0, 2, 3, 1))  # (B, H, D, g)
            vg = ops.transpose(v[:, :g], (0, 2, 1, 3))  # (B, H, g, D)
            global_logits = ops.cast(
                ops.matmul(qc, ops.expand_dims(kg, 2)), "float32"
            )  # (B, H, C, w, g)
            global_mask = ops.expand_dims(key_ok[:, :g], (1, 2, 3))  # (B, 1, 1, 1, g)
            if causal:
                q_pos = ops.arange(chunks, dtype="int32")[:, None] * w + i[:, 0][None, :]
                visible = ops.arange(g, dtype="int32")[None, None, :] <= q_pos[:, :, None]
                global_mask = ops.logical_and(global_mask, ops.expand_dims(visible, (0, 1)))
            global_logits = ops.where(global_mask, global_logits, _MASK_VALUE)
            logits = ops.concatenate([logits, global_logits], axis=-1)  # (B, H, C, w, span + g)

        probs = ops.softmax(logits, axis=-1)
        probs = self.dropout_layer(ops.cast(probs, self.compute_dtype), training=training)
        output = ops.matmul(probs[..., :span], vc)  # (B, H, C, w, D)
        if g:
            output = output + ops.matmul(probs[..., span:], ops.expand_dims(vg, 2))
        output = ops.reshape(output, (batch, heads, padded, dim))[:, :, :seq]  # (B, H, T, D)

        if g:
            # The g global queries attend to every key: (B, H, g, T), linear in T.
            qg = ops.transpose(q[:, :g], (0, 2, 1, 3))  # (B, H, g, D)
            kt = ops.transpose(k, (0, 2, 3, 1))  # (B, H, D, T)
            row_logits = ops.cast(ops.matmul(qg, kt), "float32")  # (B, H, g, T)
            row_mask = ops.expand_dims(key_ok, (1, 2))  # (B, 1, 1, T)
            if causal:
                row_causal = ops.arange(seq)[None, :] <= ops.arange(g)[:, None]  # (g, T)
                row_mask = ops.logical_and(row_mask, ops.expand_dims(row_causal, (0, 1)))
            row_logits = ops.where(row_mask, row_logits, _MASK_VALUE)
            row_probs = ops.cast(ops.softmax(row_logits, axis=-1), self.compute_dtype)
            row_probs = self.dropout_layer(row_probs, training=training)
            rows = ops.matmul(row_probs, ops.transpose(v, (0, 2, 1, 3)))  # (B, H, g, D)
            output = ops.concatenate([rows, output[:, :, g:]], axis=2)
        return ops.transpose(output, (0, 2, 1, 3))  # (B, T, H, D)

    def _position_mask(self, q_pos, k_pos, use_causal_mask):
        """The dense fallback's position mask: `(band OR global) AND causal`."""
        if not self.global_tokens:
            return super()._position_mask(q_pos, k_pos, use_causal_mask)
        distance = q_pos[:, None] - k_pos[None, :]  # (Tq, Tk), query minus key
        mask = ops.abs(distance) < self.sliding_window
        is_global = ops.logical_or(
            ops.expand_dims(q_pos < self.global_tokens, 1),
            ops.expand_dims(k_pos < self.global_tokens, 0),
        )  # (Tq, Tk)
        mask = ops.logical_or(mask, is_global)
        if use_causal_mask:
            mask = ops.logical_and(mask, distance >= 0)
        return mask
