"""Checks and graph pieces shared by the `tfzoo.data` pipelines (internal; see `pipelines`)."""

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def check_texts(texts, name="texts"):
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


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_shard(shard):
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


def check_tokenizer(tokenizer, needed):
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


def vocabulary(tokenizer):
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


def special_ids(tokenizer):
    """Ids that are never masked and never drawn as random replacements."""
    ids = {
        getattr(tokenizer, a, None)
        for a in ("pad_token_id", "start_token_id", "end_token_id", "mask_token_id")
    }
    ids.update(getattr(tokenizer, "special_token_ids", None) or ())
    vocab = vocabulary(tokenizer)
    if vocab is not None:
        # "[UNK]", "<|endoftext|>", "<s>" ...: bracketed tokens are special by convention.
        ids.update(
            i
            for i, t in enumerate(vocab)
            if len(t) > 2 and ((t[0], t[-1]) in (("[", "]"), ("<", ">")))
        )
    return sorted(int(i) for i in ids if i is not None)


def seed_pair(seed, shard_index):
    if seed is None:
        raise ValueError("`seed` must be an int, not None: tfzoo.data pipelines are deterministic.")
    return tf.constant([int(seed), int(shard_index)], dtype=tf.int64)


# ----------------------------------------------------------------------------------------------
# Graph helpers
# ----------------------------------------------------------------------------------------------


def tokenize(tokenizer, strings):
    ids = tokenizer.tokenize(strings)
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.RaggedTensor.from_tensor(ids)
    return tf.cast(ids, tf.int32)


def add_specials(ids, max_length, start_id, end_id):
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


def pad(ids, length, pad_id):
    """Ragged (b, <=length) -> features dict of dense (b, length) tensors."""
    lengths = ids.row_lengths()
    token_ids = ids.to_tensor(default_value=pad_id, shape=[None, length])
    padding_mask = tf.sequence_mask(lengths, length)
    return {
        "token_ids": token_ids,
        "padding_mask": padding_mask,
        "segment_ids": tf.zeros_like(token_ids),
    }


def finish(ds):
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(AUTOTUNE)


def texts_dataset(texts, shard, shuffle, seed, extra=None):
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
