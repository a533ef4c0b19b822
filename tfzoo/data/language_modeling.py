"""Masked and causal language-model `tf.data` pipelines (determinism: `tfzoo.data.pipelines`)."""

import numpy as np
import tensorflow as tf

from tfzoo.data import pipeline_ops as ops

# Stream tags folded into the seed, so each random decision draws from its own stream.
_SELECT, _ROUND, _ACTION, _RANDOM_ID = 1, 2, 3, 4

# ----------------------------------------------------------------------------------------------
# Masked language modelling
# ----------------------------------------------------------------------------------------------


def _continuation_ids(tokenizer, continuation_ids):
    if continuation_ids is not None:
        return sorted(int(i) for i in continuation_ids)
    vocab = ops.vocabulary(tokenizer)
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
    texts = ops.check_texts(texts)
    sequence_length = ops.check_positive_int(sequence_length, "sequence_length", minimum=3)
    batch_size = ops.check_positive_int(batch_size, "batch_size")
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
    num_shards, shard_index = ops.check_shard(shard)
    ops.check_tokenizer(
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
    specials = ops.special_ids(tokenizer)
    is_special = _lookup_table(specials, vocabulary_size)
    replacement_ids = tf.constant(np.setdiff1d(np.arange(vocabulary_size), specials), tf.int32)
    if whole_word:
        is_continuation = _lookup_table(
            _continuation_ids(tokenizer, continuation_ids), vocabulary_size
        )
    base_seed = ops.seed_pair(seed, shard_index)
    mask_rate = float(mask_rate)
    mask_cut = float(mask_token_rate)
    random_cut = float(mask_token_rate + random_token_rate)

    def mask_batch(batch_index, strings):
        ids = ops.add_specials(ops.tokenize(tokenizer, strings), sequence_length, start_id, end_id)
        features = ops.pad(ids, sequence_length, pad_id)
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

    ds = ops.texts_dataset(texts, (num_shards, shard_index), shuffle, seed)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).enumerate()
    return ops.finish(ds.map(mask_batch, num_parallel_calls=ops.AUTOTUNE))


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
    texts = ops.check_texts(texts)
    sequence_length = ops.check_positive_int(sequence_length, "sequence_length")
    batch_size = ops.check_positive_int(batch_size, "batch_size")
    shard = ops.check_shard(shard)
    ops.check_tokenizer(tokenizer, ("end_token_id",))
    end_id = tokenizer.end_token_id
    if end_id is None:
        raise ValueError("causal_lm_dataset separates documents with end_token_id, which is None.")

    def to_stream(strings):
        ids = ops.add_specials(
            ops.tokenize(tokenizer, strings), np.iinfo(np.int32).max, None, end_id
        )
        return ids.flat_values  # (tokens,): the documents, each followed by end_token_id

    def split(window):
        x, y = window[:-1], window[1:]
        features = {"token_ids": x, "padding_mask": tf.ones_like(x, dtype=tf.bool)}
        return features, y, tf.ones_like(y, dtype=tf.float32)

    ds = ops.texts_dataset(texts, shard, shuffle, seed)
    ds = ds.batch(64).map(to_stream, num_parallel_calls=ops.AUTOTUNE).unbatch()
    ds = ds.batch(sequence_length + 1, drop_remainder=True)
    ds = ds.map(split, num_parallel_calls=ops.AUTOTUNE)
    return ops.finish(ds.batch(batch_size, drop_remainder=drop_remainder))
