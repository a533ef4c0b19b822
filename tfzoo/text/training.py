"""Train WordPiece and byte-level BPE vocabularies with the `tokenizers` library."""

import os
import tempfile

from tfzoo.text.gpt2 import GPT2_END_OF_TEXT
from tfzoo.text.loading import tokenizer_from_pretrained
from tfzoo.text.tokenizer import config_text

BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece(
    texts,
    vocabulary_size,
    lowercase=True,
    strip_accents=None,
    min_frequency=1,
    special_tokens=BERT_SPECIAL_TOKENS,
    directory=None,
    sequence_length=None,
    max_sequence_length=512,
):
    """Trains a BERT-style WordPiece vocabulary on `texts`.

    Training runs in Rust (Hugging Face `tokenizers`): seconds for millions of words. The
    normalization is BERT's, the one `tfzoo.text.WordPieceTokenizer` applies.

    Args:
        texts: iterable of str (or bytes). The corpus, e.g. a list of sentences or a
            generator over a file.
        vocabulary_size: int. Number of tokens wanted, special tokens included.
        lowercase: bool. Lowercase the text. Defaults to `True`.
        strip_accents: bool or None. Remove accents; None follows `lowercase`.
            Defaults to `None`.
        min_frequency: int. A pair must occur this often to become a token. Defaults to `1`.
        special_tokens: sequence of str. They take the first ids, in this order; must hold
            `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`. Defaults to those five.
        directory: str or None. Where to write `vocab.txt` and `tokenizer_config.json`;
            a new temporary directory if None.
        sequence_length: int or None. Default output length of the tokenizer's `__call__`.
        max_sequence_length: int. Written as `model_max_length`. Defaults to `512`.

    Returns:
        A `tfzoo.text.WordPieceTokenizer` loaded from the written files.

    Raises:
        ValueError: if `texts` is empty or a single string, if `vocabulary_size` is too
            small for the special tokens, or if the corpus yields fewer tokens than
            `vocabulary_size` (the message gives both numbers).

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.train_wordpiece(sentences, vocabulary_size=2000)
    >>> inputs = tokenizer(sentences[:8], sequence_length=32)
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    special_tokens = list(special_tokens)
    missing = [t for t in BERT_SPECIAL_TOKENS if t not in special_tokens]
    if missing:
        raise ValueError(
            f"`special_tokens` lacks {missing}; BERT inputs need {list(BERT_SPECIAL_TOKENS)}. "
            f"Received: special_tokens={special_tokens}"
        )
    _check_size(vocabulary_size, len(special_tokens) + 1, "special tokens")
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=strip_accents,
        lowercase=lowercase,
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocabulary_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    counted = _Counted(texts)
    tokenizer.train_from_iterator(counted, trainer=trainer)
    counted.check()
    vocab = tokenizer.get_vocab()
    _check_trained_size(len(vocab), vocabulary_size)

    directory = _directory(directory, "wordpiece")
    by_id = sorted(vocab, key=vocab.get)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{token}\n" for token in by_id)
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": bool(lowercase),
        "strip_accents": strip_accents,
        "tokenize_chinese_chars": True,
        "model_max_length": max_sequence_length,
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    }
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(config_text(config))
    return tokenizer_from_pretrained(directory, sequence_length=sequence_length)


def train_bpe(
    texts,
    vocabulary_size,
    min_frequency=1,
    special_tokens=(GPT2_END_OF_TEXT,),
    directory=None,
    sequence_length=None,
    max_sequence_length=1024,
):
    """Trains a GPT-2-style byte-level BPE vocabulary on `texts`.

    The 256 byte tokens are always in the vocabulary, so any text can be encoded.
    Training runs in Rust (Hugging Face `tokenizers`).

    Args:
        texts: iterable of str (or bytes). The corpus.
        vocabulary_size: int. Number of tokens wanted: 256 bytes + special tokens + merges.
        min_frequency: int. A pair must occur this often to be merged. Defaults to `1`.
        special_tokens: sequence of str. They take the first ids. The first one serves as
            start, end and padding token, like GPT-2's `<|endoftext|>`.
            Defaults to `("<|endoftext|>",)`.
        directory, sequence_length, max_sequence_length: as in `train_wordpiece` (the files
            written are `vocab.json`, `merges.txt` and `tokenizer_config.json`);
            `max_sequence_length` defaults to `1024` here.

    Returns:
        A `tfzoo.text.BytePairTokenizer` loaded from the written files.

    Raises:
        ValueError: if `texts` is empty or a single string, if `vocabulary_size` is not
            above 256 + the number of special tokens, or if the corpus yields fewer tokens
            than `vocabulary_size` (the message gives both numbers).

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.train_bpe(sentences, vocabulary_size=1000)
    >>> tokenizer.detokenize(tokenizer.tokenize("any text, even 🤗")).numpy()
    b'any text, even \\xf0\\x9f\\xa4\\x97'
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    special_tokens = list(special_tokens)
    if not special_tokens:
        raise ValueError("`special_tokens` needs at least one token, e.g. '<|endoftext|>'.")
    _check_size(vocabulary_size, 256 + len(special_tokens) + 1, "byte tokens + special tokens")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocabulary_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    counted = _Counted(texts)
    tokenizer.train_from_iterator(counted, trainer=trainer)
    counted.check()
    _check_trained_size(tokenizer.get_vocab_size(), vocabulary_size)

    directory = _directory(directory, "bpe")
    tokenizer.model.save(directory)
    end = special_tokens[0]
    config = {
        "tokenizer_class": "GPT2Tokenizer",
        "add_prefix_space": False,
        "model_max_length": max_sequence_length,
        "bos_token": end,
        "eos_token": end,
        "unk_token": end,
    }
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(config_text(config))
    return tokenizer_from_pretrained(directory, sequence_length=sequence_length)


class _Counted:
    """Iterates over the corpus once, checking types and counting non-empty texts."""

    def __init__(self, texts):
        if isinstance(texts, (str, bytes)):
            raise ValueError(
                "`texts` must be an iterable of strings (e.g. a list of sentences), not a "
                "single string; wrap it: `[text]`."
            )
        try:
            self._iterator = iter(texts)
        except TypeError as error:
            raise ValueError(
                f"`texts` must be an iterable of strings. Received: {type(texts).__name__}"
            ) from error
        self.count = 0

    def __iter__(self):
        for text in self._iterator:
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            if not isinstance(text, str):
                raise ValueError(
                    f"`texts` must yield strings; item {self.count} is a {type(text).__name__}."
                )
            if text.strip():
                self.count += 1
                yield text

    def check(self):
        if self.count == 0:
            raise ValueError(
                "`texts` is empty (no non-blank string): pass the sentences to train on."
            )


def _check_size(vocabulary_size, minimum, what):
    if not isinstance(vocabulary_size, int) or vocabulary_size < minimum:
        raise ValueError(
            f"`vocabulary_size` must be an int of at least {minimum} ({what} + 1). "
            f"Received: vocabulary_size={vocabulary_size!r}"
        )


def _check_trained_size(trained, requested):
    if trained < requested:
        raise ValueError(
            f"The corpus is too small for vocabulary_size={requested}: training found only "
            f"{trained} tokens. Pass vocabulary_size={trained} or less, or more text."
        )


def _directory(directory, kind):
    if directory is None:
        return tempfile.mkdtemp(prefix=f"tfzoo-{kind}-")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    return directory
