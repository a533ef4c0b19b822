"""`FastTokenizer`: a Hugging Face `tokenizers` (Rust) tokenizer behind tfzoo's interface."""

import json

import numpy as np
import tensorflow as tf

from tfzoo.text.chat_template import render_chat_template
from tfzoo.text.tokenizer import Tokenizer, config_text


class _Backend:
    """What `tfzoo.text.Tokenizer` asks of the tokenizer it holds, on a `tokenizers.Tokenizer`."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def vocabulary_size(self):
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token):
        i = self.tokenizer.token_to_id(token)
        if i is None:
            raise KeyError(f"Token {token!r} is not in the vocabulary.")
        return i

    def id_to_token(self, i):
        token = self.tokenizer.id_to_token(i)
        if token is None:
            raise KeyError(f"Id {i} is not in the vocabulary (size {self.vocabulary_size()}).")
        return token

    def detokenize(self, ids):
        def decode(flat, row_splits):
            flat, splits = flat.numpy().tolist(), row_splits.numpy().tolist()
            rows = [flat[a:b] for a, b in zip(splits[:-1], splits[1:])]
            texts = self.tokenizer.decode_batch(rows, skip_special_tokens=False)
            return np.array([t.encode("utf-8") for t in texts], dtype=object)

        ids = tf.convert_to_tensor(ids) if not isinstance(ids, tf.RaggedTensor) else ids
        rank = ids.shape.rank
        if rank == 1:
            ids = ids[tf.newaxis]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        texts = tf.py_function(
            decode, [tf.cast(ids.flat_values, tf.int64), ids.row_splits], tf.string
        )
        texts.set_shape([None])
        return texts[0] if rank == 1 else texts


class FastTokenizer(Tokenizer):
    """A `tokenizers.Tokenizer` (Hugging Face's Rust tokenizers) with tfzoo's interface.

    Encoding runs in Rust, inside `tf.py_function`, so the tokenizer works eagerly, in
    `tf.function` and in `tf.data.Dataset.map` (not inside a SavedModel or TFLite graph). The
    ids are those of the wrapped tokenizer, special tokens found in the text included.
    `__call__` adds the start token when `add_start_token` and the end token when
    `add_end_token` (the checkpoint's `add_bos_token` / `add_eos_token`).

    Usually built by `tfzoo.tokenizer_from_pretrained("model.gguf")`. See `tfzoo.text.Tokenizer`
    for the shared interface.

    Args:
        tokenizer: a `tokenizers.Tokenizer`.
        special_tokens: dict. `bos_token`, `eos_token`, `unk_token`, `pad_token` -> token string
            or `None`.
        end_token_ids: sequence of int. Ids that end a turn (`generate(end_token_id=...)`).
            Defaults to the id of `eos_token`.
        chat_template: string or `None`. Jinja chat template (`apply_chat_template`).
        add_start_token, add_end_token: bool. Defaults to `False`.
        sequence_length: int or `None`. Default output length of `__call__`.
        max_sequence_length: int. Defaults to `2048`.

    Example:

    >>> tokenizer = tfzoo.tokenizer_from_pretrained(tfzoo.text.smollm2_gguf_path())
    >>> ids = tokenizer.apply_chat_template(
    ...     [{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    """

    kind = "bpe"

    def __init__(
        self,
        tokenizer,
        special_tokens=None,
        end_token_ids=None,
        chat_template=None,
        add_start_token=False,
        add_end_token=False,
        sequence_length=None,
        max_sequence_length=2048,
    ):
        backend = _Backend(tokenizer)
        self.special_tokens = dict(special_tokens or {})
        ids = {k: tokenizer.token_to_id(v) for k, v in self.special_tokens.items() if v}
        start, end = ids.get("bos_token"), ids.get("eos_token")
        if end_token_ids is None:
            end_token_ids = () if end is None else (end,)
        self.end_token_ids = tuple(int(i) for i in dict.fromkeys(end_token_ids))
        self.chat_template = chat_template
        self.add_start_token = bool(add_start_token)
        self.add_end_token = bool(add_end_token)
        pad = ids.get("pad_token", end)
        super().__init__(
            backend,
            pad_token_id=0 if pad is None else pad,
            start_token_id=start,
            end_token_id=end,
            mask_token_id=None,
            unk_token_id=ids.get("unk_token"),
            start_ids=(start,) if add_start_token and start is not None else (),
            end_ids=(end,) if add_end_token and end is not None else (),
            sequence_length=sequence_length,
            max_sequence_length=max_sequence_length,
        )

    @property
    def backend(self):
        """The wrapped `tokenizers.Tokenizer`."""
        return self.tokenizer.tokenizer

    def _tokenize(self, strings):
        def encode(batch):
            texts = [s.decode("utf-8") for s in batch.numpy().tolist()]
            encodings = self.backend.encode_batch(texts, add_special_tokens=False)
            lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
            flat = [i for e in encodings for i in e.ids]
            return np.array(flat, dtype=np.int32), lengths

        flat, lengths = tf.py_function(encode, [strings], [tf.int32, tf.int64])
        flat.set_shape([None])
        lengths.set_shape([None])
        return tf.RaggedTensor.from_row_lengths(flat, lengths)

    def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=True, **kwargs):
        """Formats a conversation with the checkpoint's chat template.

        Rendered like Hugging Face's `apply_chat_template` (sandboxed Jinja); the special
        tokens (`bos_token`, `eos_token`, ...) are template variables.

        Args:
            messages: list of dicts with `"role"` and `"content"`.
            add_generation_prompt: bool. End with the tokens that open the assistant's turn.
                Defaults to `False`.
            tokenize: bool. Return ids (int32 array) rather than text. Defaults to `True`.
            **kwargs: further template variables (`tools`, `documents`, ...).

        Returns:
            An int32 NumPy array of ids, or the prompt text when `tokenize=False`.

        Raises:
            ValueError: the tokenizer has no chat template, or the template fails.
        """
        if not self.chat_template:
            raise ValueError(
                "This tokenizer has no chat template (the checkpoint defines none); format "
                "the prompt yourself."
            )
        variables = {k: v for k, v in self.special_tokens.items() if v is not None}
        variables.update(kwargs)
        text = render_chat_template(
            self.chat_template, messages, add_generation_prompt=add_generation_prompt, **variables
        )
        if not tokenize:
            return text
        return np.asarray(self.backend.encode(text, add_special_tokens=False).ids, dtype=np.int32)

    def get_vocabulary(self):
        vocab = self.backend.get_vocab(with_added_tokens=True)
        by_id = [None] * self.vocabulary_size
        for token, i in vocab.items():
            by_id[i] = token
        return by_id

    def _files(self):
        config = {"tokenizer_class": "PreTrainedTokenizerFast"}
        config.update({k: v for k, v in self.special_tokens.items() if v is not None})
        config.update(
            add_bos_token=self.add_start_token,
            add_eos_token=self.add_end_token,
            model_max_length=self.max_sequence_length,
        )
        if self.chat_template:
            config["chat_template"] = self.chat_template
        return {
            "tokenizer.json": json.dumps(json.loads(self.backend.to_str()), ensure_ascii=False),
            "tokenizer_config.json": config_text(config),
        }
