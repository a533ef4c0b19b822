"""The interface every tfzoo tokenizer offers; `WordPieceTokenizer` and `BytePairTokenizer`
fill it in on top of keras-hub's tokenizers."""

import json
import os

import numpy as np
import tensorflow as tf
from keras_hub.layers import MultiSegmentPacker

# Called eagerly, keras-hub preprocessing layers turn their outputs into backend tensors or
# Python lists (ragged ids become lists); inside this scope they return tf tensors as they are.
from keras_hub.src.utils.tensor_utils import no_convert_scope

from tfzoo.text import assets

# keras-hub preprocessing layers run plain Python when called eagerly and TensorFlow ops only
# inside `tf.function`/`tf.data`. tfzoo always wants the TensorFlow path, so that eager calls
# and `tf.data` calls give the same tensors; this keyword is how keras-hub 0.32 selects it.
TF_ONLY = {"_allow_python_workflow": False}


class Tokenizer:
    """Base class of tfzoo's tokenizers: one interface for WordPiece and byte-level BPE.

    The rest of tfzoo codes against this interface only. A tokenizer is a plain Python object
    (not a Keras layer) that holds a keras-hub tokenizer and packer; every method is made of
    TensorFlow ops, so it works eagerly, inside `tf.function` and inside
    `tf.data.Dataset.map`.

    Attributes:
        kind: str. `"wordpiece"` or `"bpe"`.
        vocabulary_size: int. Number of ids (largest id + 1).
        pad_token_id: int. Id written at padded positions.
        start_token_id: int or None. Id of the start token (`[CLS]`; `<|endoftext|>` in GPT-2).
        end_token_id: int or None. Id of the end token (`[SEP]`; `<|endoftext|>` in GPT-2).
        mask_token_id: int or None. Id of the mask token (`[MASK]`), None if there is none.
        unk_token_id: int or None. Id of the unknown token, None for byte-level BPE (every
            byte has a token, nothing is unknown).
        sequence_length: int or None. Default length of `__call__` outputs.
        max_sequence_length: int. Longest output when no length is given (inputs are
            truncated to it).

    Methods:
        tokenize(strings): ids without special tokens; a `tf.RaggedTensor` of int32 of shape
            `(batch, None)` for a batch of strings, a dense int32 vector for one string.
        detokenize(ids): strings from ids (a string tensor, scalar for one sequence).
        __call__(strings, sequence_length=None, pair=None): a dict of model inputs,
            `token_ids` (int32), `padding_mask` (bool) and `segment_ids` (int32), each of
            shape `(batch, sequence_length)` (or `(sequence_length,)` for one string).
        save(directory): writes Hugging Face files that `tfzoo.text.tokenizer_from_pretrained`
            and `transformers` both load.
        token_to_id(token), id_to_token(id), get_vocabulary().
    """

    kind = None

    def __init__(
        self,
        tokenizer,
        *,
        pad_token_id,
        start_token_id=None,
        end_token_id=None,
        mask_token_id=None,
        unk_token_id=None,
        start_ids=(),
        sep_ids=(),
        end_ids=(),
        sequence_length=None,
        max_sequence_length=512,
    ):
        if sequence_length is not None and (
            not isinstance(sequence_length, (int, np.integer)) or sequence_length < 1
        ):
            raise ValueError(
                f"`sequence_length` must be a positive int or None. Received: "
                f"sequence_length={sequence_length!r}"
            )
        self.tokenizer = tokenizer
        self.vocabulary_size = int(tokenizer.vocabulary_size())
        self.pad_token_id = pad_token_id
        self.start_token_id = start_token_id
        self.end_token_id = end_token_id
        self.mask_token_id = mask_token_id
        self.unk_token_id = unk_token_id
        self.sequence_length = sequence_length
        self.max_sequence_length = int(max_sequence_length)
        self._num_special_tokens = len(start_ids) + len(sep_ids) + len(end_ids)
        packer_args = dict(
            sequence_length=self.max_sequence_length,
            truncate="round_robin",  # = Hugging Face's "longest_first" for two segments
            **TF_ONLY,
        )
        self._packer = MultiSegmentPacker(
            start_value=list(start_ids),
            sep_value=list(sep_ids),
            end_value=list(end_ids),
            pad_value=pad_token_id,
            **packer_args,
        )
        # Packs ones in place of the ids: gives the padding mask exactly, even when the pad id
        # is also a real token (GPT-2 pads with <|endoftext|>).
        self._mask_packer = MultiSegmentPacker(
            start_value=[1] * len(start_ids),
            sep_value=[1] * len(sep_ids),
            end_value=[1] * len(end_ids),
            pad_value=0,
            **packer_args,
        )

    # --- Interface -----------------------------------------------------------------------
    # The methods below are plain TensorFlow ops with no Python control flow on tensors, so
    # AutoGraph is told not to convert them: converting keras-hub's code when `tf.data`
    # traced a `map` took 19 s, against 1.7 s without (measured on a busy 2-core CPU).

    @tf.autograph.experimental.do_not_convert
    def tokenize(self, strings):
        """Returns the ids of `strings`, without special tokens.

        Args:
            strings: a Python string, a list of strings, a NumPy array or a tf string tensor.

        Returns:
            A `tf.RaggedTensor` of int32 of shape `(batch, None)` for a batch of strings; a
            dense int32 vector for a single string.
        """
        strings = as_string_tensor(strings)
        if strings.shape.rank == 0:
            return self._tokenize_batch(strings[tf.newaxis])[0]
        if strings.shape.rank != 1:
            raise ValueError(
                "Expected one string or a rank-1 batch of strings. Received a tensor of shape "
                f"{strings.shape}; batch it as a vector (e.g. `tf.reshape(x, [-1])`)."
            )
        return self._tokenize_batch(strings)

    @tf.autograph.experimental.do_not_convert
    def detokenize(self, ids):
        """Returns the strings of `ids` (a string tensor; a scalar for one sequence)."""
        if isinstance(ids, (list, tuple, np.ndarray)):
            ids = (
                tf.ragged.constant(ids, dtype=tf.int32)
                if _is_ragged_list(ids)
                else (tf.constant(ids, dtype=tf.int32))
            )
        with no_convert_scope():
            return self.tokenizer.detokenize(ids)

    @tf.autograph.experimental.do_not_convert
    def __call__(self, strings, sequence_length=None, pair=None):
        """Tokenizes and packs `strings` (and `pair`) into model inputs.

        Args:
            strings: one string or a batch of strings (list, NumPy array or tf tensor).
            sequence_length: int or None. Output length: inputs are truncated to it and
                padded up to it. Defaults to the tokenizer's `sequence_length`; if that is
                None too, batches are padded to their longest sequence (truncated to
                `max_sequence_length`).
            pair: None, or second strings of the same shape as `strings` (sentence pairs).
                Pairs are truncated longest-first, as Hugging Face does.

        Returns:
            dict with `token_ids` (int32), `padding_mask` (bool) and `segment_ids` (int32),
            each of shape `(batch, length)`, or `(length,)` for a single string.
        """
        length = self.sequence_length if sequence_length is None else sequence_length
        if length is not None and (
            not isinstance(length, (int, np.integer)) or length <= self._num_special_tokens
        ):
            raise ValueError(
                f"`sequence_length` must be an int above {self._num_special_tokens} (the "
                f"special tokens of a pair) or None. Received: sequence_length={length!r}"
            )
        segments = (self.tokenize(strings),)
        if pair is not None:
            segments += (self.tokenize(pair),)
        if len({s.shape.rank for s in segments}) != 1:
            raise ValueError(
                "`strings` and `pair` must both be single strings or both be batches of "
                "strings of the same size."
            )
        pack_length = length or self.max_sequence_length
        if pair is not None:
            segments = self._truncate_pair(*segments, pack_length - self._num_special_tokens)
        ones = tuple(
            tf.ones_like(s)
            if isinstance(s, tf.Tensor)
            else s.with_flat_values(tf.ones_like(s.flat_values))
            for s in segments
        )
        with no_convert_scope():
            token_ids, segment_ids = self._packer(segments, sequence_length=pack_length)
            mask, _ = self._mask_packer(ones, sequence_length=pack_length)
        if length is None:
            # Pad to the longest sequence of the batch only.
            longest = tf.reduce_max(tf.reduce_sum(tf.cast(mask, tf.int32), axis=-1))
            token_ids = token_ids[..., :longest]
            segment_ids = segment_ids[..., :longest]
            mask = mask[..., :longest]
        return {
            "token_ids": tf.cast(token_ids, tf.int32),
            "padding_mask": tf.cast(mask, tf.bool),
            "segment_ids": tf.cast(segment_ids, tf.int32),
        }

    @staticmethod
    def _truncate_pair(first, second, budget):
        # Hugging Face's "longest_first": when the pair is too long, the shorter sequence
        # keeps min(its length, budget // 2) tokens and the longer one gets the rest (on a
        # tie, the second counts as the longer).
        unbatched = first.shape.rank == 1
        if unbatched:
            first, second = (tf.RaggedTensor.from_tensor(x[tf.newaxis]) for x in (first, second))
        n1, n2 = first.row_lengths(), second.row_lengths()
        budget = tf.cast(budget, n1.dtype)
        shorter = tf.minimum(tf.minimum(n1, n2), budget // 2)
        too_long = n1 + n2 > budget
        keep1 = tf.where(too_long, tf.where(n1 > n2, budget - shorter, shorter), n1)
        keep2 = tf.where(too_long, tf.where(n1 > n2, shorter, budget - shorter), n2)

        def head(x, keep):
            positions = tf.ragged.range(x.row_lengths())
            return tf.ragged.boolean_mask(x, positions < keep[:, tf.newaxis])

        first, second = head(first, keep1), head(second, keep2)
        if unbatched:
            first, second = first[0], second[0]
        return first, second

    def save(self, directory):
        """Writes the tokenizer as Hugging Face files into `directory` (created if needed).

        Returns:
            str. The directory.
        """
        os.makedirs(directory, exist_ok=True)
        for name, text in self._files().items():
            assets.write_text_atomic(os.path.join(directory, name), text)
        return directory

    def token_to_id(self, token):
        """Returns the id of a token string."""
        return int(self.tokenizer.token_to_id(token))

    def id_to_token(self, id):
        """Returns the token string of an id."""
        token = self.tokenizer.id_to_token(int(id))
        return token.decode("utf-8") if isinstance(token, bytes) else str(token)

    def get_vocabulary(self):
        """Returns the vocabulary as a list of token strings, indexed by id."""
        raise NotImplementedError

    def __repr__(self):
        return (
            f"<tfzoo.text.{type(self).__name__} kind={self.kind!r} "
            f"vocabulary_size={self.vocabulary_size}>"
        )

    # --- For subclasses ------------------------------------------------------------------

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string)], autograph=False, reduce_retracing=True
    )
    def _tokenize_batch(self, strings):
        # One graph per tokenizer, traced on first use: run eagerly, keras-hub's BPE merge
        # loop executes op by op and is ~10x slower. Inside `tf.data` this is a nested call.
        with no_convert_scope():
            ids = self._tokenize(strings)
        if isinstance(ids, tf.Tensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(ids, tf.int32)

    def _tokenize(self, strings):
        raise NotImplementedError

    def _files(self):
        """Returns `{file name: text}` of the Hugging Face files that describe this tokenizer."""
        raise NotImplementedError


def as_string_tensor(strings):
    """Converts a string, a list of strings or a string array to a tf string tensor."""
    if isinstance(strings, (tf.Tensor, tf.RaggedTensor)):
        tensor = strings
    else:
        if isinstance(strings, (list, tuple)) and not strings:
            return tf.constant([], dtype=tf.string)
        try:
            tensor = tf.convert_to_tensor(strings)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "Expected a string, a list of strings or a string tensor. Received: "
                f"{type(strings).__name__} {str(strings)[:80]!r}"
            ) from error
    if tensor.dtype != tf.string:
        raise ValueError(
            f"Expected strings, received a tensor of dtype {tensor.dtype.name}. Pass text, not "
            "ids (use `detokenize` to turn ids into text)."
        )
    return tensor


def special_token_string(value):
    """Returns a special token from a tokenizer_config.json entry (str or AddedToken dict)."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def config_text(config):
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def _is_ragged_list(ids):
    if isinstance(ids, np.ndarray):
        return ids.dtype == object
    lengths = {len(row) for row in ids if isinstance(row, (list, tuple, np.ndarray))}
    return len(lengths) > 1
