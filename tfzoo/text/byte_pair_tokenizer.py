"""GPT-2's byte-level BPE tokenizer, in TensorFlow ops, on top of keras-hub's."""

import json
import re

import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text

from tfzoo.text.tokenizer import TF_ONLY, Tokenizer, config_text

# GPT-2 splits text with
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# RE2 (TensorFlow's regex engine) has no look-ahead, so `\s+(?!\S)` is rewritten: a run of
# two or more whitespace characters followed by a non-space character ends one character
# early (the last one joins the next word if it is a space, else stands alone). We mark that
# place, then split with the pattern without the look-ahead.
_WHITESPACE = r"\t\n\x{0B}\f\r\x{85}\p{Z}"  # unicode whitespace, as in Hugging Face
_MARK = "\U0010fffd"  # a private-use character: where a whitespace run is cut
_RUN_BEFORE_WORD = rf"([{_WHITESPACE}]+)([{_WHITESPACE}])([^{_WHITESPACE}])"
_GPT2_PIECE = (
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+"
    rf"| ?[^{_WHITESPACE}\p{{L}}\p{{N}}{_MARK}]+|[{_WHITESPACE}]+"
)


def split_like_gpt2(strings, special_tokens=()):
    """Splits a batch of strings into GPT-2's pre-tokenization pieces (TensorFlow ops).

    Args:
        strings: rank-1 string tensor.
        special_tokens: sequence of str kept whole (e.g. `"<|endoftext|>"`).

    Returns:
        A `tf.RaggedTensor` of strings of shape `(batch, pieces)`.
    """
    if special_tokens:
        special = "|".join(re.escape(t) for t in special_tokens)
        segments = tf_text.regex_split(strings, special, special)  # (batch, segments)
        flat = segments.flat_values
        is_special = tf.strings.regex_full_match(flat, special)
        # A special segment becomes one letter (one piece), then gets its text back.
        flat_pieces = _split_pieces(tf.where(is_special, "x", flat))  # (segments, pieces)
        parent = flat_pieces.value_rowids()
        values = tf.where(
            tf.gather(is_special, parent), tf.gather(flat, parent), flat_pieces.flat_values
        )
        return segments.with_flat_values(flat_pieces.with_flat_values(values)).merge_dims(1, 2)
    return _split_pieces(strings)


def _split_pieces(strings):
    strings = tf.strings.regex_replace(strings, _RUN_BEFORE_WORD, rf"\1{_MARK}\2\3")
    return tf_text.regex_split(strings, rf"{_GPT2_PIECE}|{_MARK}", _GPT2_PIECE)


class _GPT2SplitBytePairTokenizer(keras_hub.tokenizers.BytePairTokenizer):
    """keras-hub's byte-level BPE, fed with GPT-2's exact pre-tokenization.

    keras-hub 0.32 splits whitespace runs as Llama 3 does (`"\\n\\nword"` -> `"\\n\\n"`,
    `"word"`), not as GPT-2 (`"\\n"`, `"\\n"`, `"word"`). This subclass replaces only the
    splitting; the merges, the cache of merged words and the id lookup are keras-hub's.
    """

    def _tokenize_tf(self, inputs):
        self._maybe_initialized_tf()
        inputs = tf.convert_to_tensor(inputs)
        unbatched = inputs.shape.rank == 0
        if unbatched:
            inputs = inputs[tf.newaxis]
        pieces = split_like_gpt2(inputs, self.unsplittable_tokens or ())  # (batch, pieces)
        flat = pieces.flat_values
        cached = self.cache.lookup(flat)
        unseen = cached == ""

        def merge_unseen():
            self._bpe_merge_and_update_cache_tf(tf.boolean_mask(flat, unseen))
            return self.cache.lookup(flat)

        merged = tf.cond(tf.reduce_any(unseen), merge_unseen, lambda: cached)
        # Each piece's tokens, joined by spaces (byte-level tokens hold no spaces).
        tokens = tf.strings.split(merged, sep=" ")  # (pieces, tokens)
        ids = self.token_to_id_map.lookup(tokens)
        ids = tf.RaggedTensor.from_row_splits(
            ids.flat_values, tf.gather(ids.row_splits, pieces.row_splits)
        )  # (batch, tokens)
        return ids[0] if unbatched else ids


class BytePairTokenizer(Tokenizer):
    """A GPT-2-style byte-level BPE tokenizer that runs inside `tf.data`.

    Text is split with GPT-2's regular expression, each piece is written as bytes in GPT-2's
    byte-to-unicode alphabet and merged by `keras_hub.tokenizers.BytePairTokenizer`. Every
    byte has a token, so nothing is unknown (`unk_token_id` is None) and
    `detokenize(tokenize(x)) == x` for any text. `__call__` adds no special tokens (as
    Hugging Face's GPT-2 tokenizer); a pair is concatenated with segment ids 0 and 1. When
    the vocabulary has no padding token, padding uses the end token's id
    (`<|endoftext|>` = 50256 in GPT-2) and `padding_mask` is False there.

    Usually built by `tfzoo.text.gpt2_tokenizer`, `tfzoo.text.tokenizer_from_pretrained` or
    `tfzoo.text.train_bpe`. See `tfzoo.text.Tokenizer` for the shared interface.

    Args:
        vocabulary: dict. Token string (byte-to-unicode alphabet) -> id (`vocab.json`).
        merges: list of str. Merge rules `"left right"` in priority order (`merges.txt`).
        bos_token, eos_token, pad_token, mask_token: str or None. Special tokens; those not
            in the vocabulary are ignored. Defaults: `"<|endoftext|>"` for `bos_token` and
            `eos_token`, None for the others.
        sequence_length: int or None. Default output length of `__call__`. Defaults to `None`.
        max_sequence_length: int. Truncation length when no length is given. Defaults to
            `1024`.

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.gpt2_tokenizer()
    >>> ids = tokenizer.tokenize(["Hello world", "naïve 🤗"])
    >>> tokenizer.detokenize(ids).numpy().tolist()
    [b'Hello world', b'na\\xc3\\xafve \\xf0\\x9f\\xa4\\x97']
    >>> tokenizer("Hello world", sequence_length=4)["padding_mask"].numpy().tolist()
    [True, True, False, False]
    """

    kind = "bpe"

    def __init__(
        self,
        vocabulary,
        merges,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token=None,
        mask_token=None,
        sequence_length=None,
        max_sequence_length=1024,
    ):
        vocabulary = dict(vocabulary)
        merges = [m for m in merges if m and not m.startswith("#version")]
        if not vocabulary:
            raise ValueError("`vocabulary` is empty: a BPE tokenizer needs its tokens.")
        ids = sorted(vocabulary.values())
        if ids != list(range(len(ids))):
            raise ValueError(
                f"Vocabulary ids must be 0..{len(ids) - 1} without gaps or repeats; got "
                f"{len(set(ids))} distinct ids from {ids[0]} to {ids[-1]}."
            )
        self.special_tokens = {
            "bos_token": bos_token,
            "eos_token": eos_token,
            "pad_token": pad_token,
            "mask_token": mask_token,
        }
        present = [t for t in dict.fromkeys(self.special_tokens.values()) if t in vocabulary]
        tokenizer = _GPT2SplitBytePairTokenizer(
            vocabulary=vocabulary,
            merges=merges,
            # Special tokens found in the text map to their ids, as in Hugging Face.
            unsplittable_tokens=present or None,
            **TF_ONLY,
        )
        self._vocabulary = vocabulary
        self._merges = merges
        end_id = vocabulary.get(eos_token)
        pad_id = vocabulary.get(pad_token, end_id)
        super().__init__(
            tokenizer,
            pad_token_id=0 if pad_id is None else pad_id,
            start_token_id=vocabulary.get(bos_token),
            end_token_id=end_id,
            mask_token_id=vocabulary.get(mask_token),
            unk_token_id=None,
            sequence_length=sequence_length,
            max_sequence_length=max_sequence_length,
        )

    def _tokenize(self, strings):
        return self.tokenizer.tokenize(strings)

    def get_vocabulary(self):
        by_id = [None] * len(self._vocabulary)
        for token, i in self._vocabulary.items():
            by_id[i] = token
        return by_id

    def _files(self):
        config = {
            "tokenizer_class": "GPT2Tokenizer",
            "add_prefix_space": False,
            "model_max_length": self.max_sequence_length,
        }
        for key, token in self.special_tokens.items():
            if token in self._vocabulary:
                config[key] = token
        if self.special_tokens["eos_token"] in self._vocabulary:
            # GPT-2's convention: <|endoftext|> also stands for unknown text.
            config["unk_token"] = self.special_tokens["eos_token"]
        return {
            "vocab.json": json.dumps(self._vocabulary, ensure_ascii=False),
            "merges.txt": "#version: 0.2\n" + "".join(f"{m}\n" for m in self._merges),
            "tokenizer_config.json": config_text(config),
        }
