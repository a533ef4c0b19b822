"""Deterministic `tf.data` pipelines: classification, masked LM and causal LM inputs.

The pipelines work with any tokenizer object that offers:

- `tokenize(strings) -> tf.RaggedTensor` of int32 ids, without special tokens;
- `vocabulary_size`, `pad_token_id`, `start_token_id`, `end_token_id`, `mask_token_id`
  (`None` for GPT-style tokenizers) and `kind` (`"wordpiece"` or `"bpe"`);
- optionally `vocabulary` (list of str) or `get_vocabulary()`, used to find WordPiece
  continuation pieces (`##...`) for whole-word masking and special tokens (`[...]`).

Determinism: the order of examples comes from `tf.data.Dataset.shuffle` with the given `seed`
(stable from run to run for the same seed and TensorFlow global seed); every random choice made
while masking is a stateless op keyed on `(seed, shard index, batch index)`, so two runs with the
same seed give identical batches, and the map stages keep their order even with
`num_parallel_calls=tf.data.AUTOTUNE`.

Sharding (`shard=(num_shards, index)`) happens on the list of texts before shuffling, so the
shards of one pipeline are disjoint and together cover every text.
"""

import numpy as np
import tensorflow as tf

from tfzoo.data import pipeline_ops as ops
from tfzoo.data.language_modeling import causal_lm_dataset, masked_lm_dataset

__all__ = ["causal_lm_dataset", "classification_dataset", "masked_lm_dataset"]

# ----------------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------------


def classification_dataset(
    texts,
    labels,
    tokenizer,
    sequence_length,
    batch_size,
    shuffle=True,
    seed=0,
    bucket_boundaries=None,
    num_classes=None,
    drop_remainder=False,
    shard=None,
):
    """A `tf.data.Dataset` of `(features, labels)` batches for sequence classification.

    Each text becomes `[CLS] ids [SEP]` (the tokenizer's `start_token_id`/`end_token_id`; a
    `None` one is left out), truncated to `sequence_length` and padded with `pad_token_id`.
    With `bucket_boundaries`, texts of similar length are batched together and each batch is
    padded only to its bucket's length (the smallest boundary >= the longest sequence it can
    hold, or `sequence_length`), which saves compute on short texts.

    Args:
        texts: list of str. The texts.
        labels: sequence of int, same length as `texts`. Class indices.
        tokenizer: a tokenizer with the `tfzoo.text` interface (see the module docstring).
        sequence_length: int. Length of every padded sequence (the largest bucket).
        batch_size: int. Examples per batch.
        shuffle: bool. Shuffle the examples (again at each iteration). Defaults to `True`.
        seed: int. Seed of the shuffle. Defaults to `0`.
        bucket_boundaries: list of int or None. Bucket lengths (e.g. `[32, 64]`); lengths >=
            `sequence_length` are ignored and `sequence_length` is always the last bucket.
            Defaults to `None` (every batch is padded to `sequence_length`).
        num_classes: int or None. When given, every label must lie in `[0, num_classes)`.
            Defaults to `None`.
        drop_remainder: bool. Drop a last, incomplete batch. Defaults to `False`.
        shard: tuple `(num_shards, index)` or None. Keep only this worker's share of the texts.
            Defaults to `None`.

    Returns:
        A `tf.data.Dataset` yielding `(features, labels)`: `features["token_ids"]` int32
        `(b, s)`, `features["padding_mask"]` bool `(b, s)`, `features["segment_ids"]` int32
        `(b, s)` (zeros), and `labels` int32 `(b,)`.

    Raises:
        ValueError: empty `texts`, lengths that differ, a label that is not an integer, a negative
            label, or a label outside `[0, num_classes)`.

    Example:

    >>> data = tfzoo.data.load_sms_spam()
    >>> train_ds = tfzoo.data.classification_dataset(
    ...     data.train.texts, data.train.labels, tokenizer, sequence_length=64, batch_size=32,
    ...     num_classes=2, bucket_boundaries=[16, 32])
    >>> features, labels = next(iter(train_ds))
    >>> features["token_ids"].shape  # (32, 16), (32, 32) or (32, 64), depending on the bucket
    """
    texts = ops.check_texts(texts)
    labels = np.asarray(labels)
    if labels.shape != (len(texts),):
        raise ValueError(
            f"`labels` must have one label per text: {len(texts)} texts, labels of shape "
            f"{labels.shape}."
        )
    if labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0):
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu":
        bad = next(i for i, v in enumerate(labels.tolist()) if not isinstance(v, int))
        raise ValueError(
            f"`labels` must be integer class indices; labels[{bad}] = {labels[bad]!r}."
        )
    if num_classes is not None:
        num_classes = ops.check_positive_int(num_classes, "num_classes")
    upper = num_classes if num_classes is not None else np.iinfo(np.int32).max
    out_of_range = np.flatnonzero((labels < 0) | (labels >= upper))
    if out_of_range.size:
        i = int(out_of_range[0])
        span = f"[0, {num_classes})" if num_classes is not None else "[0, 2**31)"
        raise ValueError(
            f"Label {int(labels[i])} (labels[{i}]) is outside the range {span}"
            + (f" of num_classes={num_classes}." if num_classes is not None else ".")
        )
    sequence_length = ops.check_positive_int(sequence_length, "sequence_length", minimum=2)
    batch_size = ops.check_positive_int(batch_size, "batch_size")
    shard = ops.check_shard(shard)
    ops.check_tokenizer(tokenizer, ("pad_token_id", "start_token_id", "end_token_id"))
    start_id, end_id, pad_id = (
        tokenizer.start_token_id,
        tokenizer.end_token_id,
        tokenizer.pad_token_id,
    )

    ds = ops.texts_dataset(texts, shard, shuffle, seed, extra=labels.astype(np.int32))

    if not bucket_boundaries:

        def to_batch(strings, y):
            ids = ops.add_specials(
                ops.tokenize(tokenizer, strings), sequence_length, start_id, end_id
            )
            return ops.pad(ids, sequence_length, pad_id), y

        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        return ops.finish(ds.map(to_batch, num_parallel_calls=ops.AUTOTUNE))

    boundaries = sorted({int(b) for b in bucket_boundaries if 0 < int(b) < sequence_length})
    boundaries.append(sequence_length)

    def to_ids(strings, y):
        ids = ops.add_specials(ops.tokenize(tokenizer, strings), sequence_length, start_id, end_id)
        return ids.to_tensor(default_value=pad_id), tf.cast(ids.row_lengths(), tf.int32), y

    def trim(ids, length, y):
        return ids[:length], length, y

    # Tokenize in chunks (fast), then go back to one example per element for bucketing.
    ds = ds.batch(256).map(to_ids, num_parallel_calls=ops.AUTOTUNE).unbatch()
    ds = ds.map(trim, num_parallel_calls=ops.AUTOTUNE)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda ids, length, y: length,
        # Bucket i takes lengths in [b_{i-1} + 1, b_i].
        bucket_boundaries=[b + 1 for b in boundaries[:-1]],
        bucket_batch_sizes=[batch_size] * len(boundaries),
        padded_shapes=([None], [], []),
        padding_values=(tf.constant(pad_id, tf.int32), 0, 0),
        drop_remainder=drop_remainder,
    )
    bucket_lengths = tf.constant(boundaries, tf.int32)

    def to_features(ids, lengths, y):
        # ids: (b, longest in batch). All rows share one bucket: the smallest boundary that
        # holds the longest row. Pad to it (the padding mask comes from the true lengths,
        # because pad_token_id may equal end_token_id, as in GPT-2).
        longest = tf.reduce_max(lengths)
        bucket = tf.gather(bucket_lengths, tf.argmax(tf.cast(bucket_lengths >= longest, tf.int32)))
        token_ids = tf.pad(ids, [[0, 0], [0, bucket - tf.shape(ids)[1]]], constant_values=pad_id)
        features = {
            "token_ids": token_ids,
            "padding_mask": tf.sequence_mask(lengths, bucket),
            "segment_ids": tf.zeros_like(token_ids),
        }
        return features, y

    return ops.finish(ds.map(to_features, num_parallel_calls=ops.AUTOTUNE))
