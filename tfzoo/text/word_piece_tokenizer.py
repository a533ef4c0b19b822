"""BERT's WordPiece tokenizer, in TensorFlow ops, on top of keras-hub's."""

import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text

from tfzoo.text.tokenizer import TF_ONLY, Tokenizer, config_text


class WordPieceTokenizer(Tokenizer):
    """A BERT-style WordPiece tokenizer that runs inside `tf.data`.

    Text is normalized the way Hugging Face's `BertNormalizer` does it (control characters
    removed, unicode whitespace turned into spaces, accents stripped, lowercased, CJK
    characters split), then split on whitespace and punctuation and cut into WordPiece
    subwords by `keras_hub.tokenizers.WordPieceTokenizer` (tf-text's fast WordPiece).
    `__call__` packs BERT inputs: `[CLS] a [SEP]`, or `[CLS] a [SEP] b [SEP]` for pairs,
    with segment ids 0 and 1.

    Usually built by `tfzoo.text.tokenizer_from_pretrained` or `tfzoo.text.train_wordpiece`.
    See `tfzoo.text.Tokenizer` for the interface every tfzoo tokenizer shares.

    Args:
        vocabulary: list of str. Tokens in id order (the lines of `vocab.txt`).
        lowercase: bool. Lowercase the text. Defaults to `True`.
        strip_accents: bool or None. Remove accents (NFD, then drop combining marks). None
            follows `lowercase`, as in BERT. Defaults to `None`.
        split_on_cjk: bool. Make each CJK character a word. Defaults to `True`.
        clean_text: bool. Remove control characters and map unicode whitespace to spaces.
            Defaults to `True`.
        unk_token, cls_token, sep_token, pad_token, mask_token: str. Special tokens. Each
            but `unk_token` may be missing from the vocabulary (its id is then None).
        sequence_length: int or None. Default output length of `__call__`. Defaults to `None`.
        max_sequence_length: int. Truncation length when no length is given. Defaults to `512`.

    Example:

    >>> import tensorflow as tf
    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.tokenizer_from_pretrained(tfzoo.text.minilm_path())
    >>> tokenizer.tokenize("Hello, Wörld!").numpy().tolist()
    [7592, 1010, 2088, 999]
    >>> batch = tokenizer(["a good film", "bad"], sequence_length=6)
    >>> batch["token_ids"].numpy().tolist()
    [[101, 1037, 2204, 2143, 102, 0], [101, 2919, 102, 0, 0, 0]]
    >>> ds = tf.data.Dataset.from_tensor_slices(["a good film", "bad"]).batch(2)
    >>> ds = ds.map(lambda x: tokenizer(x, sequence_length=8))
    """

    kind = "wordpiece"

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        strip_accents=None,
        split_on_cjk=True,
        clean_text=True,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        sequence_length=None,
        max_sequence_length=512,
    ):
        vocabulary = list(vocabulary)
        if not vocabulary:
            raise ValueError("`vocabulary` is empty: a WordPiece tokenizer needs its tokens.")
        if unk_token not in vocabulary:
            raise ValueError(
                f"The unknown token {unk_token!r} is not in the vocabulary; pass the one the "
                f"vocabulary uses as `unk_token=`. Received: unk_token={unk_token!r}"
            )
        self.lowercase = bool(lowercase)
        self.strip_accents = self.lowercase if strip_accents is None else bool(strip_accents)
        self.split_on_cjk = bool(split_on_cjk)
        self.clean_text = bool(clean_text)
        self.special_tokens = {
            "unk_token": unk_token,
            "cls_token": cls_token,
            "sep_token": sep_token,
            "pad_token": pad_token,
            "mask_token": mask_token,
        }
        # Normalization is done by `_normalize` below; keras-hub only splits and cuts.
        tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=vocabulary,
            lowercase=False,
            strip_accents=False,
            split=True,
            split_on_cjk=self.split_on_cjk,
            suffix_indicator="##",
            oov_token=unk_token,
            **TF_ONLY,
        )
        index = {token: i for i, token in enumerate(vocabulary)}
        cls_id, sep_id = index.get(cls_token), index.get(sep_token)
        pad_id = index.get(pad_token)
        if cls_id is None or sep_id is None:
            raise ValueError(
                f"The vocabulary has no {cls_token!r} or no {sep_token!r}, which BERT inputs "
                "need; pass the vocabulary's own tokens as `cls_token=` and `sep_token=`."
            )
        super().__init__(
            tokenizer,
            pad_token_id=0 if pad_id is None else pad_id,
            start_token_id=cls_id,
            end_token_id=sep_id,
            mask_token_id=index.get(mask_token),
            unk_token_id=index[unk_token],
            start_ids=[cls_id],
            sep_ids=[sep_id],
            end_ids=[sep_id],
            sequence_length=sequence_length,
            max_sequence_length=max_sequence_length,
        )

    def _normalize(self, strings):
        # The same steps, in the same order, as Hugging Face's BertNormalizer.
        if self.clean_text:
            strings = tf.strings.regex_replace(strings, r"\p{Z}|[\t\n\r]", " ")
            strings = tf.strings.regex_replace(strings, r"\p{C}|\x{FFFD}", "")
        if self.strip_accents:
            strings = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace")
            strings = tf_text.normalize_utf8(strings, "NFD")
            strings = tf.strings.regex_replace(strings, r"\p{Mn}", "")
        if self.lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        return strings

    def _tokenize(self, strings):
        return self.tokenizer.tokenize(self._normalize(strings))

    def get_vocabulary(self):
        return list(self.tokenizer.get_vocabulary())

    def _files(self):
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.lowercase,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.split_on_cjk,
            "model_max_length": self.max_sequence_length,
            **self.special_tokens,
        }
        special_tokens_map = {
            k: v for k, v in self.special_tokens.items() if v in set(self.get_vocabulary())
        }
        return {
            "vocab.txt": "".join(f"{token}\n" for token in self.get_vocabulary()),
            "tokenizer_config.json": config_text(config),
            "special_tokens_map.json": config_text(special_tokens_map),
        }
