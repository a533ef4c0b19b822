"""tf.data pipelines on real text with a real WordPiece tokenizer (see conftest.py)."""

import numpy as np
import pytest
import tensorflow as tf

import tfzoo.data


def _as_numpy(ds):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in ds]


def _special_mask(tokenizer, ids):
    specials = [
        tokenizer.pad_token_id,
        tokenizer.start_token_id,
        tokenizer.end_token_id,
        tokenizer.mask_token_id,
        tokenizer.unk_token_id,
    ]
    return np.isin(ids, specials)


# --- classification ------------------------------------------------------------------------------


def test_classification_features(wordpiece, movie_reviews):
    texts, labels = movie_reviews.train.texts[:50], movie_reviews.train.labels[:50]
    ds = tfzoo.data.classification_dataset(
        texts, labels, wordpiece, sequence_length=24, batch_size=16, shuffle=False, num_classes=2
    )
    batches = _as_numpy(ds)
    assert [len(b[1]) for b in batches] == [16, 16, 16, 2]
    features, y = batches[0]
    assert features["token_ids"].dtype == np.int32 and features["token_ids"].shape == (16, 24)
    assert features["padding_mask"].dtype == bool
    assert not features["segment_ids"].any() and features["segment_ids"].dtype == np.int32
    np.testing.assert_array_equal(y, labels[:16])
    ids = wordpiece.tokenize(texts[:16])
    for row, mask, expected in zip(features["token_ids"], features["padding_mask"], ids):
        body = expected.numpy()[:22]
        n = len(body) + 2
        np.testing.assert_array_equal(
            row[:n], [wordpiece.start_token_id, *body, wordpiece.end_token_id]
        )
        assert (row[n:] == wordpiece.pad_token_id).all()
        assert mask[:n].all() and not mask[n:].any()
    _fit_one_epoch(ds, wordpiece.vocabulary_size)


def _fit_one_epoch(ds, vocabulary_size):
    """The features dict is what a Keras model with named inputs takes."""
    import keras

    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="bool", name="padding_mask")
    segment_ids = keras.Input((None,), dtype="int32", name="segment_ids")
    x = keras.layers.Embedding(vocabulary_size, 8)(token_ids)
    x = keras.layers.GlobalAveragePooling1D()(x, mask=padding_mask)
    model = keras.Model(
        {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids},
        keras.layers.Dense(2)(x),
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_classification_validation(wordpiece):
    with pytest.raises(ValueError, match="empty"):
        tfzoo.data.classification_dataset([], [], wordpiece, 16, 4)
    with pytest.raises(ValueError, match=r"Label 3 \(labels\[1\]\) is outside the range \[0, 2\)"):
        tfzoo.data.classification_dataset(["a", "b"], [1, 3], wordpiece, 16, 4, num_classes=2)
    with pytest.raises(ValueError, match=r"Label -1"):
        tfzoo.data.classification_dataset(["a", "b"], [0, -1], wordpiece, 16, 4)
    with pytest.raises(ValueError, match="one label per text"):
        tfzoo.data.classification_dataset(["a", "b"], [0], wordpiece, 16, 4)
    with pytest.raises(ValueError, match="shard"):
        tfzoo.data.classification_dataset(["a"], [0], wordpiece, 16, 4, shard=(2, 2))


def test_bucketing_pads_each_batch_to_its_bucket_and_shards(wordpiece, movie_reviews):
    texts = movie_reviews.train.texts[:600]
    boundaries = [16, 32, 48]
    widths, seen = set(), []
    for index in range(2):
        ds = tfzoo.data.classification_dataset(
            texts,
            np.arange(600),
            wordpiece,
            sequence_length=64,
            batch_size=32,
            seed=3,
            bucket_boundaries=boundaries,
            shard=(2, index),
        )
        seen.append(_check_buckets(_as_numpy(ds), boundaries, wordpiece, widths))
    assert len(widths) >= 3
    assert not set(seen[0]) & set(seen[1]) and set(seen[0]) | set(seen[1]) == set(range(600))


def _check_buckets(batches, boundaries, wordpiece, widths):
    seen = []
    for features, y in batches:
        width = features["token_ids"].shape[1]
        lengths = features["padding_mask"].sum(axis=1)
        # The bucket is the smallest boundary that holds every row of the batch ...
        assert width == min(b for b in boundaries + [64] if b >= lengths.max())
        # ... and every row of the batch belongs to that bucket.
        lower = max([0] + [b for b in boundaries if b < width])
        assert (lengths > lower).all()
        assert (features["token_ids"][~features["padding_mask"]] == wordpiece.pad_token_id).all()
        widths.add(width)
        seen.extend(int(i) for i in y)
    return seen


def test_shards_are_disjoint_and_the_shuffle_is_seeded(wordpiece, movie_reviews):
    texts = movie_reviews.validation.texts[:301]

    def labels_seen(index, seed=5):
        ds = tfzoo.data.classification_dataset(
            texts, np.arange(len(texts)), wordpiece, 48, 50, seed=seed, shard=(2, index)
        )
        return np.concatenate([y for _, y in _as_numpy(ds)])

    first, second = labels_seen(0), labels_seen(1)
    assert len(first) == 151 and len(second) == 150
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(range(len(texts)))
    # The same seed gives the same order; another seed another order.
    np.testing.assert_array_equal(first, labels_seen(0))
    other = labels_seen(0, seed=6)
    assert not np.array_equal(first, other) and sorted(first) == sorted(other)


# --- masked LM -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlm_batches(wordpiece, movie_reviews):
    ds = tfzoo.data.masked_lm_dataset(
        movie_reviews.train.texts[:3000], wordpiece, sequence_length=64, batch_size=100, seed=11
    )
    return _as_numpy(ds)


def test_masking_statistics(wordpiece, mlm_batches):
    selected = candidates = to_mask = to_random = unchanged = 0
    for features, labels, weight in mlm_batches:
        assert labels.dtype == np.int32 and weight.dtype == np.float32
        assert labels.shape == weight.shape == features["token_ids"].shape == (len(labels), 64)
        chosen = weight == 1.0
        assert ((weight == 0.0) | chosen).all()
        candidate = features["padding_mask"] & ~_special_mask(wordpiece, labels)
        # Specials and padding are never selected; unselected tokens are untouched.
        assert not (chosen & ~candidate).any()
        ids = features["token_ids"]
        np.testing.assert_array_equal(ids[~chosen], labels[~chosen])
        selected += chosen.sum()
        candidates += candidate.sum()
        to_mask += (chosen & (ids == wordpiece.mask_token_id)).sum()
        replaced = chosen & (ids != wordpiece.mask_token_id) & (ids != labels)
        to_random += replaced.sum()
        unchanged += (chosen & (ids == labels)).sum()
        # A random replacement is never a special token.
        assert not _special_mask(wordpiece, ids[replaced]).any()
    assert candidates > 50_000
    assert abs(selected / candidates - 0.15) < 0.015
    assert abs(to_mask / selected - 0.8) < 0.03
    assert abs(to_random / selected - 0.1) < 0.03
    assert abs(unchanged / selected - 0.1) < 0.03


def test_masking_is_deterministic(wordpiece, movie_reviews, mlm_batches):
    texts = movie_reviews.train.texts[:3000]
    again = tfzoo.data.masked_lm_dataset(texts, wordpiece, 64, 100, seed=11).take(3)
    for first, second in zip(mlm_batches, _as_numpy(again)):
        tf.nest.map_structure(np.testing.assert_array_equal, first, second)
    other = _as_numpy(tfzoo.data.masked_lm_dataset(texts, wordpiece, 64, 100, seed=12).take(1))
    assert not np.array_equal(other[0][2], mlm_batches[0][2])


def test_whole_word_masking_keeps_words_together(wordpiece, movie_reviews):
    ds = tfzoo.data.masked_lm_dataset(
        movie_reviews.train.texts[:1500], wordpiece, 64, 100, whole_word=True, seed=4
    )
    is_continuation = np.array([t.startswith("##") for t in wordpiece.vocabulary])
    selected_words = words = pieces_in_selected = 0
    for features, labels, weight in _as_numpy(ds):
        ids, chosen = features["token_ids"], weight == 1.0
        continuation = is_continuation[labels] & features["padding_mask"]
        assert continuation.any()
        # A continuation is selected exactly when the piece before it is, and gets the same
        # treatment ([MASK] or not).
        rows, cols = np.nonzero(continuation)
        np.testing.assert_array_equal(chosen[rows, cols], chosen[rows, cols - 1])
        masked = ids == wordpiece.mask_token_id
        both = chosen[rows, cols]
        np.testing.assert_array_equal(masked[rows, cols][both], masked[rows, cols - 1][both])
        starts = features["padding_mask"] & ~_special_mask(wordpiece, labels) & ~continuation
        words += starts.sum()
        selected_words += (starts & chosen).sum()
        pieces_in_selected += (continuation & chosen).sum()
    assert pieces_in_selected > 0
    assert abs(selected_words / words - 0.15) < 0.015


def test_masked_lm_needs_a_mask_token(wordpiece):
    class NoMask:
        def __getattr__(self, name):
            return None if name == "mask_token_id" else getattr(wordpiece, name)

    with pytest.raises(ValueError, match="causal_lm_dataset"):
        tfzoo.data.masked_lm_dataset(["some text"], NoMask(), 16, 2)


# --- causal LM -----------------------------------------------------------------------------------


def test_causal_packing_reconstructs_the_stream(wordpiece, movie_reviews):
    texts = movie_reviews.test.texts[:400]
    ds = tfzoo.data.causal_lm_dataset(
        texts, wordpiece, sequence_length=32, batch_size=8, shuffle=False
    )
    stream = np.concatenate(
        [np.append(ids, wordpiece.end_token_id) for ids in wordpiece.tokenize(texts).numpy()]
    )
    windows = []
    for features, y, weight in _as_numpy(ds):
        x = features["token_ids"]
        assert x.dtype == y.dtype == np.int32 and x.shape[1] == 32
        assert features["padding_mask"].all() and (weight == 1.0).all()
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        windows.extend(np.concatenate([x, y[:, -1:]], axis=1))
    packed = np.concatenate(windows)
    assert len(stream) - 33 < len(packed) <= len(stream)
    np.testing.assert_array_equal(packed, stream[: len(packed)])


def test_causal_shards_are_disjoint(wordpiece, movie_reviews):
    texts = movie_reviews.test.texts[:200]

    def windows(shard):
        ds = tfzoo.data.causal_lm_dataset(texts, wordpiece, 16, 4, seed=9, shard=shard)
        return np.concatenate([f["token_ids"] for f, _, _ in _as_numpy(ds)])

    halves = [windows((2, i)) for i in range(2)]
    assert not {tuple(w) for w in halves[0]} & {tuple(w) for w in halves[1]}
    # Each shard packs its own documents: together they hold every document's tokens.
    num_tokens = sum(len(ids) + 1 for ids in wordpiece.tokenize(texts).numpy())
    assert num_tokens - 2 * 17 < 17 * (len(halves[0]) + len(halves[1])) <= num_tokens
