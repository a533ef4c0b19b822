"""Length-bucketed batches: each batch padded only to its bucket, not to the longest sequence."""

import numpy as np


def length_bucketed_batches(inputs, labels, batch_size, bucket_width=16, seed=0):
    """Training batches grouped by length, each cut to its bucket's width.

    Every sequence's length (the sum of its `padding_mask` row) is rounded up to a multiple of
    `bucket_width` (at most the padded width); batches hold sequences of one bucket only and are
    cut to that width. Short texts then cost short steps: movie-review sentences average 27
    MiniLM tokens against a 48-token padding, so a fine-tune trains on about 30% fewer tokens.
    Each epoch sees every example once; the batches and their order are reshuffled every epoch
    (`on_epoch_end`, which `model.fit` calls), deterministically from `seed`.

    Not for XLA (`jit_compile=True`): each bucket width is a new shape to compile.

    Args:
        inputs: dict of NumPy arrays `(num_examples, sequence_length)` with a `padding_mask`
            (`token_ids`, `padding_mask`, `segment_ids` as the tokenizers return them).
        labels: NumPy array `(num_examples, ...)`.
        batch_size: int. The largest batch; a bucket's last batch may be smaller.
        bucket_width: int. Bucket widths are multiples of it. Defaults to `16`.
        seed: int. Defaults to `0`.

    Returns:
        A `keras.utils.PyDataset` of `(inputs, labels)` batches, for `model.fit`.

    Example:

    >>> x = {k: np.asarray(v) for k, v in tokenizer(texts).items()}  # padded to 48 tokens
    >>> model.fit(tfzoo.data.length_bucketed_batches(x, y, batch_size=32), epochs=2)
    """
    import keras

    if "padding_mask" not in inputs:
        raise ValueError(
            "`inputs` needs a `padding_mask` array to measure lengths. "
            f"Received: inputs with keys {sorted(inputs)}"
        )
    for name, value in (("batch_size", batch_size), ("bucket_width", bucket_width)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
    if any(len(v) != len(labels) for v in inputs.values()):
        sizes = {k: len(v) for k, v in inputs.items()}
        raise ValueError(
            f"`inputs` and `labels` must hold the same number of examples. Received: "
            f"{sizes} and {len(labels)} labels"
        )
    lengths = np.asarray(inputs["padding_mask"]).sum(axis=1)
    full = inputs["padding_mask"].shape[1]
    widths = np.minimum(np.maximum(-(-lengths // bucket_width) * bucket_width, bucket_width), full)

    class LengthBucketedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self._plan()

        def _plan(self):
            rng = np.random.default_rng([seed, self.epoch])
            self.batches = []
            for width in np.unique(widths):
                idx = rng.permutation(np.flatnonzero(widths == width))
                for i in range(0, len(idx), batch_size):
                    self.batches.append((idx[i : i + batch_size], int(width)))
            rng.shuffle(self.batches)

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, i):
            idx, width = self.batches[i]
            return {k: v[idx, :width] for k, v in inputs.items()}, labels[idx]

        def on_epoch_end(self):
            self.epoch += 1
            self._plan()

    return LengthBucketedBatches()
