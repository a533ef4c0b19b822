"""Pooling of hidden states `(batch, seq, hidden)` into one vector per sequence.

The modes are those of sentence-transformers' `Pooling` module, with the same arithmetic, so a
checkpoint's `1_Pooling/config.json` maps onto them one to one.
"""

from keras import ops

POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


def check_pooling(pooling):
    """Returns `pooling` as a tuple of mode names, or raises a one-line `ValueError`."""
    modes = (pooling,) if isinstance(pooling, str) else tuple(pooling or ())
    unknown = [m for m in modes if m not in POOLING_MODES]
    if not modes or unknown:
        raise ValueError(
            f"Unknown pooling {pooling!r}: pass one of {POOLING_MODES} (or a tuple of them, whose "
            f"vectors are concatenated)."
        )
    return modes


def mean_pool(sequence_output, padding_mask):
    """Mean of the hidden states over real tokens: `(batch, seq, hidden)` -> `(batch, hidden)`."""
    return pool(sequence_output, padding_mask, "mean")


def pool(sequence_output, padding_mask, pooling="mean"):
    """Pools `sequence_output` over the real tokens named by `padding_mask`.

    Args:
        sequence_output: tensor `(batch, seq, hidden)`.
        padding_mask: bool or int tensor `(batch, seq)`, true at real tokens (left or right
            padding).
        pooling: a mode of `POOLING_MODES` or a tuple of them (vectors concatenated in that
            order): `"cls"` the first real token, `"max"` the per-feature maximum, `"mean"`,
            `"mean_sqrt_len_tokens"` the sum divided by the square root of the length,
            `"weightedmean"` a mean weighted by the position (1, 2, ... from the first real
            token), `"lasttoken"` the last real token (decoder embedding models).

    Returns:
        Tensor `(batch, hidden * number of modes)`.
    """
    x = sequence_output
    mask = ops.cast(padding_mask, x.dtype)[:, :, None]  # (batch, seq, 1)
    real = ops.cast(padding_mask, "int32")
    positions = ops.cumsum(ops.ones_like(real), axis=1)  # 1, 2, ... (works for unknown length)
    first = ops.argmax(real, axis=1)  # first real token
    vectors = []
    for mode in check_pooling(pooling):
        if mode == "cls":
            vectors.append(_take(x, first))
        elif mode == "max":
            vectors.append(
                ops.max(ops.where(mask > 0, x, ops.cast(float("-inf"), x.dtype)), axis=1)
            )
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1e-9, x.dtype))
            count = count if mode == "mean" else ops.sqrt(count)
            vectors.append(ops.sum(x * mask, axis=1) / count)
        elif mode == "weightedmean":
            offset = ops.cast(positions - ops.cast(first, "int32")[:, None], x.dtype)
            weights = mask * offset[:, :, None]
            total = ops.maximum(ops.sum(weights, axis=1), ops.cast(1e-9, x.dtype))
            vectors.append(ops.sum(x * weights, axis=1) / total)
        else:  # lasttoken: the last real token, zeros for a row without one
            last = ops.argmax(real * positions, axis=1)
            vectors.append(_take(x * mask, last))
    return vectors[0] if len(vectors) == 1 else ops.concatenate(vectors, axis=-1)


def _take(x, index):
    """`x[b, index[b]]` for every row `b`: `(batch, seq, hidden)`, `(batch,)` -> `(batch, hidden)`."""
    index = ops.cast(index, "int32")[:, None, None]
    return ops.take_along_axis(x, index, axis=1)[:, 0]
