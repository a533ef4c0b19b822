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

AUTOTUNE = tf.data.AUTOTUNE

# Stream tags folded into the seed, so each random decision draws from its own stream.
_SELECT, _ROUND, _ACTION, _RANDOM_ID = 1, 2, 3, 4


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def _check_texts(texts, name="texts"):
    if isinstance(texts, str):
        raise ValueError(
            f"`{name}` must be a list of strings, not one string. Received: {texts[:40]!r}"
        )
    texts = list(texts)
    if not texts:
        raise ValueError(f"`{name}` is empty: a pipeline needs at least one text.")
    for i, text in enumerate(texts):
        if not isinstance(text, str | bytes):
            raise ValueError(
                f"`{name}[{i}]` must be a string. Received: {type(text).__name__} {text!r:.40}"
            )
    return texts


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _check_shard(shard):
    if shard is None:
        return 1, 0
    try:
        num_shards, index = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ValueError(
            f"`shard` must be a pair (num_shards, index). Received: shard={shard!r}"
        ) from None
    if num_shards < 1 or not 0 <= index < num_shards:
        raise ValueError(
            "`shard` must be (num_shards, index) with num_shards >= 1 and "
            f"0 <= index < num_shards. Received: shard={shard!r}"
        )
    return num_shards, index


def _check_tokenizer(tokenizer, needed):
    missing = [a for a in ("tokenize", *needed) if not hasattr(tokenizer, a)]
    if missing:
        raise ValueError(
            f"The tokenizer {type(tokenizer).__name__} lacks {missing}; tfzoo.data pipelines need "
            "`tokenize(strings) -> tf.RaggedTensor` and the attributes vocabulary_size, "
            "pad_token_id, start_token_id, end_token_id, mask_token_id and kind."
        )
    for attr in ("vocabulary_size", "pad_token_id"):
        if attr in needed and getattr(tokenizer, attr) is None:
            raise ValueError(f"The tokenizer's `{attr}` is None; this pipeline needs it.")


def _vocabulary(tokenizer):
    """The tokenizer's vocabulary as a list of str, or None when it does not expose one."""
    vocab = getattr(tokenizer, "vocabulary", None)
    if callable(vocab):
        vocab = vocab()
    if vocab is None and hasattr(tokenizer, "get_vocabulary"):
        vocab = tokenizer.get_vocabulary()
    if vocab is None:
        return None
    if isinstance(vocab, dict):  # token -> id
        out = [""] * (max(vocab.values()) + 1)
        for token, i in vocab.items():
            out[i] = token
        return out
    return [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in vocab]


def _special_ids(tokenizer):
    """Ids that are never masked and never drawn as random replacements."""
    ids = {
        getattr(tokenizer, a, None)
        for a in ("pad_token_id", "start_token_id", "end_token_id", "mask_token_id")
    }
    ids.update(getattr(tokenizer, "special_token_ids", None) or ())
    vocab = _vocabulary(tokenizer)
    if vocab is not None:
        # "[UNK]", "<|endoftext|>", "<s>" ...: bracketed tokens are special by convention.
        ids.update(
            i
            for i, t in enumerate(vocab)
            if len(t) > 2 and ((t[0], t[-1]) in (("[", "]"), ("<", ">")))
        )
    return sorted(int(i) for i in ids if i is not None)


def _seed_pair(seed, shard_index):
    if seed is None:
        raise ValueError("`seed` must be an int, not None: tfzoo.data pipelines are deterministic.")
    return tf.constant([int(seed), int(shard_index)], dtype=tf.int64)


# ----------------------------------------------------------------------------------------------
# Graph helpers
# ----------------------------------------------------------------------------------------------


def _tokenize(tokenizer, strings):
    ids = tokenizer.tokenize(strings)
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.RaggedTensor.from_tensor(ids)
    return tf.cast(ids, tf.int32)


def _add_specials(ids, max_length, start_id, end_id):
    """Truncates each row and wraps it as `start ids end` (either may be None). Ragged (b, <=L)."""
    room = max_length - (start_id is not None) - (end_id is not None)
    ids = ids[:, :room]
    batch = ids.nrows()
    parts = []
    if start_id is not None:
        parts.append(
            tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(start_id, tf.int32)))
        )
    parts.append(ids)
    if end_id is not None:
        parts.append(
            tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(end_id, tf.int32)))
        )
    return tf.concat(parts, axis=1) if len(parts) > 1 else ids


def _pad(ids, length, pad_id):
    """Ragged (b, <=length) -> features dict of dense (b, length) tensors."""
    lengths = ids.row_lengths()
    token_ids = ids.to_tensor(default_value=pad_id, shape=[None, length])
    padding_mask = tf.sequence_mask(lengths, length)
    return {
        "token_ids": token_ids,
        "padding_mask": padding_mask,
        "segment_ids": tf.zeros_like(token_ids),
    }


def _finish(ds):
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(AUTOTUNE)


def _texts_dataset(texts, shard, shuffle, seed, extra=None):
    """Text (and optional aligned tensor) dataset: shard, then shuffle."""
    num_shards, index = shard
    tensors = tf.constant(texts, dtype=tf.string)
    ds = tf.data.Dataset.from_tensor_slices(tensors if extra is None else (tensors, extra))
    if num_shards > 1:
        ds = ds.shard(num_shards, index)
    if shuffle:
        size = -(-len(texts) // num_shards)
        ds = ds.shuffle(size, seed=seed, reshuffle_each_iteration=True)
    return ds


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
    texts = _check_texts(texts)
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
        num_classes = _check_positive_int(num_classes, "num_classes")
    upper = num_classes if num_classes is not None else np.iinfo(np.int32).max
    out_of_range = np.flatnonzero((labels < 0) | (labels >= upper))
    if out_of_range.size:
        i = int(out_of_range[0])
        span = f"[0, {num_classes})" if num_classes is not None else "[0, 2**31)"
        raise ValueError(
            f"Label {int(labels[i])} (labels[{i}]) is outside the range {span}"
            + (f" of num_classes={num_classes}." if num_classes is not None else ".")
        )
    sequence_length = _check_positive_int(sequence_length, "sequence_length", minimum=2)
    batch_size = _check_positive_int(batch_size, "batch_size")
    shard = _check_shard(shard)
    _check_tokenizer(tokenizer, ("pad_token_id", "start_token_id", "end_token_id"))
    start_id, end_id, pad_id = (
        tokenizer.start_token_id,
        tokenizer.end_token_id,
        tokenizer.pad_token_id,
    )

    ds = _texts_dataset(texts, shard, shuffle, seed, extra=labels.astype(np.int32))

    if not bucket_boundaries:

        def to_batch(strings, y):
            ids = _add_specials(_tokenize(tokenizer, strings), sequence_length, start_id, end_id)
            return _pad(ids, sequence_length, pad_id), y

        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        return _finish(ds.map(to_batch, num_parallel_calls=AUTOTUNE))

    boundaries = sorted({int(b) for b in bucket_boundaries if 0 < int(b) < sequence_length})
    boundaries.append(sequence_length)

    def to_ids(strings, y):
        ids = _add_specials(_tokenize(tokenizer, strings), sequence_length, start_id, end_id)
        return ids.to_tensor(default_value=pad_id), tf.cast(ids.row_lengths(), tf.int32), y

    def trim(ids, length, y):
        return ids[:length], length, y

    # Tokenize in chunks (fast), then go back to one example per element for bucketing.
    ds = ds.batch(256).map(to_ids, num_parallel_calls=AUTOTUNE).unbatch()
    ds = ds.map(trim, num_parallel_calls=AUTOTUNE)
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

    return _finish(ds.map(to_features, num_parallel_calls=AUTOTUNE))


# ----------------------------------------------------------------------------------------------
# Masked language modelling
# ----------------------------------------------------------------------------------------------


def _continuation_ids(tokenizer, continuation_ids):
    if continuation_ids is not None:
        return sorted(int(i) for i in continuation_ids)
    vocab = _vocabulary(tokenizer)
    ids = [i for i, t in enumerate(vocab or ()) if t.startswith("##")]
    if not ids:
        raise ValueError(
            "whole_word=True needs to know which ids continue a word: the tokenizer exposes no "
            "vocabulary with WordPiece '##' pieces (kind="
            f"{getattr(tokenizer, 'kind', None)!r}). Pass continuation_ids=[...]."
        )
    return ids


def _lookup_table(ids, vocabulary_size):
    """A bool vector of length vocabulary_size, True at `ids`; gather with token ids."""
    table = np.zeros([vocabulary_size], dtype=bool)
    table[np.asarray(ids, dtype=np.int64)] = True
    return tf.constant(table)


def masked_lm_dataset(
    texts,
    tokenizer,
    sequence_length,
    batch_size,
    mask_rate=0.15,
    whole_word=False,
    seed=0,
    shuffle=True,
    mask_token_rate=0.8,
    random_token_rate=0.1,
    continuation_ids=None,
    drop_remainder=False,
    shard=None,
):
    """A `tf.data.Dataset` of `(features, labels, sample_weight)` batches for masked LM (BERT).

    Each text is wrapped as `[CLS] ids [SEP]`, truncated and padded to `sequence_length`. In each
    sequence, `mask_rate` of the candidate tokens (not padding and not special: `[CLS]`, `[SEP]`,
    `[PAD]`, `[MASK]`, and bracketed vocabulary entries such as `[UNK]`) are selected; the number
    selected in a row is `floor(mask_rate * n + u)`, `u ~ U[0, 1)`, so it is `mask_rate * n` on
    average even for short rows. Of the selected tokens, `mask_token_rate` become `[MASK]`,
    `random_token_rate` become a random non-special id, and the rest stay unchanged.

    With `whole_word=True` the unit is a word: a WordPiece continuation (`##...`) is selected
    with the piece that starts its word, and all pieces of a selected word get the same
    treatment (all `[MASK]`, all random, or all unchanged). `mask_rate` then applies to words.

    Every random choice is a stateless op keyed on `(seed, shard index, batch index)`: the same
    seed gives identical batches in every run.

    Args:
        texts: list of str. The texts (one sequence each; longer ones are truncated).
        tokenizer: a tokenizer with the `tfzoo.text` interface and a `mask_token_id`.
        sequence_length: int. Length of every sequence.
        batch_size: int. Sequences per batch.
        mask_rate: float. Share of candidate tokens (or words) selected. Defaults to `0.15`.
        whole_word: bool. Select whole words. Defaults to `False`.
        seed: int. Seed of the shuffle and of the masking. Defaults to `0`.
        shuffle: bool. Shuffle the texts (again at each iteration). Defaults to `True`.
        mask_token_rate: float. Share of selected tokens set to `[MASK]`. Defaults to `0.8`.
        random_token_rate: float. Share of selected tokens set to a random id. Defaults to `0.1`.
        continuation_ids: list of int or None. Ids that continue a word, for `whole_word=True`.
            Defaults to `None` (the `##` pieces of `tokenizer.vocabulary`).
        drop_remainder: bool. Drop a last, incomplete batch. Defaults to `False`.
        shard: tuple `(num_shards, index)` or None. Keep only this worker's share of the texts.
            Defaults to `None`.

    Returns:
        A `tf.data.Dataset` yielding `(features, labels, sample_weight)`: `features` as in
        `classification_dataset` with the masked `token_ids`; `labels` int32 `(b, s)`, the
        original ids; `sample_weight` float32 `(b, s)`, 1 at selected positions, else 0.

    Example:

    >>> texts = tfzoo.data.load_movie_reviews().train.texts
    >>> ds = tfzoo.data.masked_lm_dataset(texts, tokenizer, sequence_length=64, batch_size=32,
    ...                                   whole_word=True, seed=7)
    >>> features, labels, sample_weight = next(iter(ds))
    >>> model.fit(ds)  # a model whose loss reads labels at every position, weighted
    """
    texts = _check_texts(texts)
    sequence_length = _check_positive_int(sequence_length, "sequence_length", minimum=3)
    batch_size = _check_positive_int(batch_size, "batch_size")
    for name, rate in (
        ("mask_rate", mask_rate),
        ("mask_token_rate", mask_token_rate),
        ("random_token_rate", random_token_rate),
    ):
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"`{name}` must be in [0, 1]. Received: {name}={rate}")
    if mask_token_rate + random_token_rate > 1.0 + 1e-9:
        raise ValueError(
            "`mask_token_rate + random_token_rate` must be <= 1. Received: "
            f"{mask_token_rate} + {random_token_rate}"
        )
    num_shards, shard_index = _check_shard(shard)
    _check_tokenizer(
        tokenizer,
        ("vocabulary_size", "pad_token_id", "start_token_id", "end_token_id", "mask_token_id"),
    )
    if tokenizer.mask_token_id is None:
        raise ValueError(
            f"The tokenizer has no mask token (mask_token_id=None, kind={getattr(tokenizer, 'kind', None)!r}): "
            "masked LM needs one. For a GPT-style tokenizer use tfzoo.data.causal_lm_dataset."
        )
    vocabulary_size = int(tokenizer.vocabulary_size)
    start_id, end_id = tokenizer.start_token_id, tokenizer.end_token_id
    pad_id, mask_id = tokenizer.pad_token_id, tokenizer.mask_token_id
    specials = _special_ids(tokenizer)
    is_special = _lookup_table(specials, vocabulary_size)
    replacement_ids = tf.constant(np.setdiff1d(np.arange(vocabulary_size), specials), tf.int32)
    if whole_word:
        is_continuation = _lookup_table(
            _continuation_ids(tokenizer, continuation_ids), vocabulary_size
        )
    base_seed = _seed_pair(seed, shard_index)
    mask_rate = float(mask_rate)
    mask_cut = float(mask_token_rate)
    random_cut = float(mask_token_rate + random_token_rate)

    def mask_batch(batch_index, strings):
        ids = _add_specials(_tokenize(tokenizer, strings), sequence_length, start_id, end_id)
        features = _pad(ids, sequence_length, pad_id)
        token_ids = features["token_ids"]  # (b, s)
        shape = tf.shape(token_ids)
        batch_seed = tf.random.experimental.stateless_fold_in(base_seed, batch_index)

        def stream(tag):
            return tf.random.experimental.stateless_fold_in(batch_seed, tag)

        candidate = features["padding_mask"] & ~tf.gather(is_special, token_ids)
        if whole_word:
            is_start = candidate & ~tf.gather(is_continuation, token_ids)
        else:
            is_start = candidate
        # Index of the word each token belongs to; -1 before the first word start.
        word_index = tf.cumsum(tf.cast(is_start, tf.int32), axis=1) - 1  # (b, s)
        positions = tf.broadcast_to(tf.range(shape[1])[None, :], shape)
        starts = tf.ragged.boolean_mask(positions, is_start).to_tensor(default_value=0)
        # anchor[b, t]: position of the start of token t's word (itself when not whole-word).
        anchor = tf.gather(starts, tf.maximum(word_index, 0), batch_dims=1)  # (b, s)
        candidate &= word_index >= 0

        # Select floor(rate * n_words + u) word starts per row, uniformly at random.
        num_words = tf.reduce_sum(tf.cast(is_start, tf.float32), axis=1)  # (b,)
        jitter = tf.random.stateless_uniform([shape[0]], stream(_ROUND))
        num_selected = tf.cast(tf.floor(mask_rate * num_words + jitter), tf.int32)
        score = tf.where(is_start, tf.random.stateless_uniform(shape, stream(_SELECT)), 2.0)
        rank = tf.argsort(tf.argsort(score, axis=1, stable=True), axis=1, stable=True)
        start_selected = is_start & (rank < num_selected[:, None])
        selected = candidate & tf.gather(start_selected, anchor, batch_dims=1)

        # One 80/10/10 decision per word, read at its start position.
        action = tf.random.stateless_uniform(shape, stream(_ACTION))
        action = tf.gather(action, anchor, batch_dims=1)
        random_ids = tf.gather(
            replacement_ids,
            tf.random.stateless_uniform(
                shape, stream(_RANDOM_ID), minval=0, maxval=tf.size(replacement_ids), dtype=tf.int32
            ),
        )
        masked = tf.where(selected & (action < mask_cut), mask_id, token_ids)
        masked = tf.where(
            selected & (action >= mask_cut) & (action < random_cut), random_ids, masked
        )
        features["token_ids"] = masked
        return features, token_ids, tf.cast(selected, tf.float32)

    ds = _texts_dataset(texts, (num_shards, shard_index), shuffle, seed)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).enumerate()
    return _finish(ds.map(mask_batch, num_parallel_calls=AUTOTUNE))


# ----------------------------------------------------------------------------------------------
# Causal language modelling
# ----------------------------------------------------------------------------------------------


def causal_lm_dataset(
    texts,
    tokenizer,
    sequence_length,
    batch_size,
    seed=0,
    shuffle=True,
    drop_remainder=False,
    shard=None,
):
    """A `tf.data.Dataset` of packed `(features, labels, sample_weight)` batches for causal LM.

    The documents (shuffled with `seed` when `shuffle=True`) are tokenized, each is followed by
    `end_token_id`, and the resulting token stream is cut into contiguous, non-overlapping
    windows of `sequence_length + 1` tokens (a last, shorter window is dropped). A window `w`
    gives `x = w[:-1]` and `y = w[1:]`: no padding anywhere, so `padding_mask` is all `True`
    and `sample_weight` all ones. Concatenating the windows gives back the token stream.

    Args:
        texts: list of str. The documents.
        tokenizer: a tokenizer with the `tfzoo.text` interface and an `end_token_id`.
        sequence_length: int. Length of `x` and `y`.
        batch_size: int. Windows per batch.
        seed: int. Seed of the document shuffle. Defaults to `0`.
        shuffle: bool. Shuffle the documents (again at each iteration). Defaults to `True`.
        drop_remainder: bool. Drop a last, incomplete batch. Defaults to `False`.
        shard: tuple `(num_shards, index)` or None. Keep only this worker's share of the
            documents. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` yielding `({"token_ids": x, "padding_mask": all True}, y,
        sample_weight)`, `x`, `y` int32 `(b, s)`, `sample_weight` float32 `(b, s)`.

    Example:

    >>> articles = tfzoo.data.load_news_articles(max_articles=500)
    >>> ds = tfzoo.data.causal_lm_dataset(articles, tokenizer, sequence_length=128,
    ...                                   batch_size=8, seed=1)
    >>> features, y, sample_weight = next(iter(ds))
    >>> x = features["token_ids"]
    >>> bool(tf.reduce_all(x[:, 1:] == y[:, :-1]))
    True
    """
    texts = _check_texts(texts)
    sequence_length = _check_positive_int(sequence_length, "sequence_length")
    batch_size = _check_positive_int(batch_size, "batch_size")
    shard = _check_shard(shard)
    _check_tokenizer(tokenizer, ("end_token_id",))
    end_id = tokenizer.end_token_id
    if end_id is None:
        raise ValueError("causal_lm_dataset separates documents with end_token_id, which is None.")

    def to_stream(strings):
        ids = _add_specials(_tokenize(tokenizer, strings), np.iinfo(np.int32).max, None, end_id)
        return ids.flat_values  # (tokens,): the documents, each followed by end_token_id

    def split(window):
        x, y = window[:-1], window[1:]
        features = {"token_ids": x, "padding_mask": tf.ones_like(x, dtype=tf.bool)}
        return features, y, tf.ones_like(y, dtype=tf.float32)

    ds = _texts_dataset(texts, shard, shuffle, seed)
    ds = ds.batch(64).map(to_stream, num_parallel_calls=AUTOTUNE).unbatch()
    ds = ds.batch(sequence_length + 1, drop_remainder=True)
    ds = ds.map(split, num_parallel_calls=AUTOTUNE)
    return _finish(ds.batch(batch_size, drop_remainder=drop_remainder))
