"""Magnitude masks as tfmot computes them, in NumPy: thresholds, block pooling, the mask.

Keep `k = max(round(n * (1 - sparsity)), 1)` weights, i.e. every weight whose magnitude is at
least the k-th largest; blocks are pooled (average by default, or max) over their magnitudes
and kept or dropped whole. `tfzoo/compress/pruning.py` applies these masks during `fit`.
"""

import numpy as np


def threshold(values, sparsity):
    """tfmot's threshold: the k-th largest of `values` with `k = max(round(n * (1 - s)), 1)`."""
    n = values.size
    # float32 like tfmot (`cast(size, float32) * (1 - sparsity)`); np.round is half-to-even
    # like tf.round.
    k = int(max(np.round(np.float32(n) * (np.float32(1.0) - np.float32(sparsity))), 1))
    k = min(k, n)
    return np.partition(values.reshape(-1), n - k)[n - k]


def _pool_blocks(matrix, block_size, pooling):
    """`(rows, cols)` magnitudes -> `(rows / bh, cols / bw)` block scores."""
    bh, bw = block_size
    rows, cols = matrix.shape
    if pooling == "max":
        return matrix.reshape(rows // bh, bh, cols // bw, bw).max(axis=(1, 3))
    # tfmot's factorized pool: average over the block's rows first, then over its columns.
    tall = matrix.reshape(rows // bh, bh, cols).sum(axis=1, dtype=np.float32) / np.float32(bh)
    return tall.reshape(rows // bh, cols // bw, bw).sum(axis=2, dtype=np.float32) / np.float32(bw)


def _expand_blocks(block_mask, block_size):
    """`(rows / bh, cols / bw)` -> `(rows, cols)`: every block's value repeated over the block."""
    return np.repeat(np.repeat(block_mask, block_size[0], axis=0), block_size[1], axis=1)


def magnitude_mask(weights, sparsity, block_size=(1, 1), block_pooling="avg"):
    """The magnitude mask tfmot's `prune_low_magnitude` computes for one weight matrix.

    Args:
        weights: float array. Any shape for `block_size=(1, 1)`; 2-D `(rows, cols)` otherwise.
        sparsity: float in [0, 1). Fraction of weights (or blocks) to drop.
        block_size: `(bh, bw)`. Blocks of `bh` rows by `bw` columns are kept or dropped whole;
            both must divide the matrix's shape.
        block_pooling: `"avg"` (tfmot's default) or `"max"`: how a block's magnitudes are
            combined into its score.

    Returns:
        A float32 array of 0s and 1s shaped like `weights`.

    Example:

    >>> tfzoo.compress.magnitude_mask(np.array([[0.1, -2.0], [0.5, 3.0]]), 0.5)
    array([[0., 1.], [0., 1.]], dtype=float32)
    """
    scores = block_scores(np.asarray(weights, dtype=np.float32), block_size, block_pooling)
    keep = (scores >= threshold(scores, sparsity)).astype(np.float32)
    return scores_to_mask(keep, np.shape(weights), block_size)


def block_scores(weights, block_size, pooling):
    """The score of every weight (`|w|`), or of every `block_size` block (pooled `|w|`)."""
    magnitudes = np.abs(weights)
    if tuple(block_size) == (1, 1):
        return magnitudes
    if magnitudes.ndim != 2:
        raise ValueError(
            f"Block sparsity needs a 2-D weight matrix; received shape {magnitudes.shape}."
        )
    rows, cols = magnitudes.shape
    if rows % block_size[0] or cols % block_size[1]:
        raise ValueError(
            f"block_size={tuple(block_size)} does not divide the weight matrix {(rows, cols)}. "
            f"Use a block size that divides it, or leave this layer out of `targets`."
        )
    return _pool_blocks(magnitudes, block_size, pooling)


def scores_to_mask(keep, shape, block_size):
    """The 0/1 mask shaped `shape` from the keep flags of the weights or blocks."""
    if tuple(block_size) != (1, 1):
        keep = _expand_blocks(keep, block_size)
    return keep.reshape(shape).astype(np.float32)
