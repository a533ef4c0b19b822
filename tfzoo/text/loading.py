"""`tokenizer_from_pretrained`: a tfzoo tokenizer from a local Hugging Face directory."""

import json
import os

from tfzoo.text.byte_pair_tokenizer import BytePairTokenizer
from tfzoo.text.gguf_tokenizer import tokenizer_from_gguf
from tfzoo.text.tokenizer import special_token_string
from tfzoo.text.word_piece_tokenizer import WordPieceTokenizer

_EXPECTED = (
    "`vocab.txt` (WordPiece), `vocab.json` + `merges.txt` (byte-level BPE), or a "
    "`tokenizer.json` with a WordPiece or byte-level BPE model"
)
_UNSUPPORTED_FILES = {
    "spiece.model": "a SentencePiece model",
    "sentencepiece.bpe.model": "a SentencePiece model",
    "tokenizer.model": "a SentencePiece model",
}


def tokenizer_from_pretrained(path, sequence_length=None):
    """Builds a tfzoo tokenizer from a local Hugging Face tokenizer directory.

    Never downloads. The files decide the tokenizer:

    - `vocab.txt` -> `WordPieceTokenizer`; lowercasing and accent stripping come from
      `tokenizer_config.json` (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`),
      else from the `BertNormalizer` of `tokenizer.json`, else BERT's defaults (lowercase).
    - `vocab.json` + `merges.txt` -> `BytePairTokenizer` (byte-level, GPT-2 style).
    - only `tokenizer.json` -> the vocabulary (and merges) are read from its `model`, which
      must be `WordPiece` or byte-level `BPE`.
    - a `.gguf` file (or a directory without `config.json` holding one) -> the byte-level BPE
      tokenizer in its metadata, as a `FastTokenizer` with the file's chat template and
      end-of-turn ids (`tfzoo.text.tokenizer_from_gguf`).

    Special tokens come from `tokenizer_config.json` / `special_tokens_map.json`, else from
    BERT's (`[CLS]`, `[SEP]`, ...) or GPT-2's (`<|endoftext|>`) conventions. The
    `model_max_length` in `tokenizer_config.json` becomes `max_sequence_length`.

    Args:
        path: str or path-like. The directory.
        sequence_length: int or None. Default output length of the tokenizer's `__call__`.

    Returns:
        A `tfzoo.text.WordPieceTokenizer` or `tfzoo.text.BytePairTokenizer`.

    Raises:
        ValueError: if the directory does not exist, holds no tokenizer files, or holds a
            tokenizer tfzoo does not support (e.g. SentencePiece).

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.tokenizer_from_pretrained(tfzoo.text.minilm_path())
    >>> tokenizer.kind, tokenizer.vocabulary_size, tokenizer.mask_token_id
    ('wordpiece', 30522, 103)
    """
    path = os.fspath(path)
    from tfzoo.io.gguf import find_gguf_file

    gguf_path = find_gguf_file(path)
    if gguf_path is not None:
        return tokenizer_from_gguf(gguf_path, sequence_length=sequence_length)
    if not os.path.isdir(path):
        what = "is a file, not a directory" if os.path.isfile(path) else "does not exist"
        raise ValueError(
            f"Tokenizer path {path!r} {what}. Pass a local directory holding {_EXPECTED} "
            "(tfzoo reads local files only and never downloads)."
        )
    files = set(os.listdir(path))
    config = _read_json(path, "tokenizer_config.json") or {}
    special_map = _read_json(path, "special_tokens_map.json") or {}
    special = {
        key: special_token_string(config.get(key, special_map.get(key)))
        for key in (
            "unk_token",
            "cls_token",
            "sep_token",
            "pad_token",
            "mask_token",
            "bos_token",
            "eos_token",
        )
    }
    max_length = config.get("model_max_length")
    if not isinstance(max_length, int) or not 0 < max_length <= 1_000_000:
        max_length = None  # HF writes a huge sentinel when there is no limit.
    tokenizer_json = _read_json(path, "tokenizer.json") if "tokenizer.json" in files else None

    if "vocab.txt" in files:
        with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as f:
            vocabulary = [line.rstrip("\n").rstrip("\r") for line in f]
        if vocabulary and vocabulary[-1] == "":
            vocabulary.pop()
        normalizer = _bert_normalizer(tokenizer_json, path) if tokenizer_json else {}
        return _wordpiece(vocabulary, config, normalizer, special, max_length, sequence_length)

    if "vocab.json" in files and "merges.txt" in files:
        vocabulary = _read_json(path, "vocab.json")
        with open(os.path.join(path, "merges.txt"), encoding="utf-8") as f:
            merges = [line.rstrip("\n").rstrip("\r") for line in f]
        return _bpe(vocabulary, merges, special, max_length, sequence_length)

    if tokenizer_json is not None:
        return _from_tokenizer_json(
            tokenizer_json, path, config, special, max_length, sequence_length
        )

    for name, what in _UNSUPPORTED_FILES.items():
        if name in files:
            raise ValueError(
                f"{path!r} holds {name} ({what}); tfzoo.text supports only WordPiece and "
                f"byte-level BPE tokenizers: {_EXPECTED}."
            )
    if "vocab.json" in files:
        raise ValueError(
            f"{path!r} has vocab.json but no merges.txt; a byte-level BPE tokenizer needs both."
        )
    raise ValueError(
        f"No tokenizer files in {path!r} (found: {sorted(files)[:10]}). Expected {_EXPECTED}."
    )


def _read_json(path, name):
    full = os.path.join(path, name)
    if not os.path.isfile(full):
        return None
    try:
        with open(full, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{full} is not valid JSON: {error}") from error


def _bert_normalizer(tokenizer_json, path):
    """Returns the BertNormalizer settings of a tokenizer.json (lowercase, strip_accents...)."""
    normalizer = tokenizer_json.get("normalizer")
    if normalizer is None:
        return {"lowercase": False, "strip_accents": False}
    if normalizer.get("type") == "Sequence":
        bert = [n for n in normalizer.get("normalizers", []) if n.get("type") == "BertNormalizer"]
        if len(bert) == 1 and len(normalizer["normalizers"]) == 1:
            normalizer = bert[0]
    if normalizer.get("type") != "BertNormalizer":
        raise ValueError(
            f"{os.path.join(path, 'tokenizer.json')} uses a {normalizer.get('type')} normalizer; "
            "tfzoo's WordPieceTokenizer reproduces only BertNormalizer."
        )
    return {
        "lowercase": normalizer.get("lowercase", True),
        "strip_accents": normalizer.get("strip_accents"),
        "split_on_cjk": normalizer.get("handle_chinese_chars", True),
        "clean_text": normalizer.get("clean_text", True),
    }


def _wordpiece(vocabulary, config, normalizer, special, max_length, sequence_length):
    lowercase = config.get("do_lower_case", normalizer.get("lowercase", True))
    strip_accents = config.get("strip_accents", normalizer.get("strip_accents"))
    split_on_cjk = config.get("tokenize_chinese_chars", normalizer.get("split_on_cjk", True))
    defaults = {
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    }
    tokens = {key: special.get(key) or default for key, default in defaults.items()}
    return WordPieceTokenizer(
        vocabulary,
        lowercase=lowercase,
        strip_accents=strip_accents,
        split_on_cjk=split_on_cjk,
        clean_text=normalizer.get("clean_text", True),
        sequence_length=sequence_length,
        max_sequence_length=max_length or 512,
        **tokens,
    )


def _bpe(vocabulary, merges, special, max_length, sequence_length):
    end_of_text = "<|endoftext|>"
    bos = special.get("bos_token") or end_of_text
    eos = special.get("eos_token") or end_of_text
    return BytePairTokenizer(
        vocabulary,
        merges,
        bos_token=bos,
        eos_token=eos,
        pad_token=special.get("pad_token"),
        mask_token=special.get("mask_token"),
        sequence_length=sequence_length,
        max_sequence_length=max_length or 1024,
    )


def _from_tokenizer_json(tokenizer_json, path, config, special, max_length, sequence_length):
    model = tokenizer_json.get("model") or {}
    kind = model.get("type")
    where = os.path.join(path, "tokenizer.json")
    added = {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}
    vocab = dict(model.get("vocab") or {})
    for token, i in added.items():
        vocab.setdefault(token, i)
    if kind == "WordPiece":
        if model.get("continuing_subword_prefix", "##") != "##":
            raise ValueError(f"{where}: only the '##' subword prefix is supported.")
        vocabulary = _ordered(vocab, where)
        special = dict(special)
        special["unk_token"] = special.get("unk_token") or model.get("unk_token")
        normalizer = _bert_normalizer(tokenizer_json, path)
        return _wordpiece(vocabulary, config, normalizer, special, max_length, sequence_length)
    if kind == "BPE":
        pre = tokenizer_json.get("pre_tokenizer") or {}
        pre_types = {pre.get("type")} | {
            p.get("type") for p in pre.get("pretokenizers", []) if isinstance(p, dict)
        }
        if "ByteLevel" not in pre_types:
            raise ValueError(
                f"{where} holds a BPE model that is not byte-level (pre-tokenizer "
                f"{pre.get('type')}); tfzoo.text supports byte-level BPE (GPT-2 style) only."
            )
        _ordered(vocab, where)
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
        return _bpe(vocab, merges, special, max_length, sequence_length)
    raise ValueError(
        f"{where} holds a {kind} model; tfzoo.text supports WordPiece and byte-level BPE "
        f"tokenizers only ({_EXPECTED})."
    )


def _ordered(vocab, where):
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError(f"{where}: vocabulary ids are not 0..{len(by_id) - 1} without gaps.")
    return [token for token, _ in by_id]
