"""The tokenizer stored in a GGUF file's metadata, as a `tfzoo.text.FastTokenizer`.

A GGUF file has no `tokenizer.json`: llama.cpp stores the vocabulary (`tokenizer.ggml.tokens`),
the token types, the BPE merges, the special token ids, the pre-tokenizer's name and the chat
template as metadata. This module rebuilds the byte-level BPE tokenizer those describe with
the `tokenizers` library, the way `transformers` does for GGUF files, so the ids agree.
"""

from tfzoo.text.fast_tokenizer import FastTokenizer

_CONTROL, _USER_DEFINED = 3, 4  # llama.cpp token types
# Pre-tokenizer splits by `tokenizer.ggml.pre` name (as in transformers' GGUF loader); any other
# name splits like GPT-2 (`smollm`, `gpt-2`, `default`, ...).
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_SPLITS = {
    **dict.fromkeys(("llama3", "llama-v3", "llama-bpe", "smaug-bpe", "dbrx"), _LLAMA3_SPLIT),
    **dict.fromkeys(("qwen2", "deepseek-r1-qwen"), _QWEN2_SPLIT),
}


def _bytes_to_unicode():
    """GPT-2's map from the 256 byte values to printable characters."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def tokenizer_from_gguf(gguf_file, sequence_length=None):
    """Builds the tokenizer a GGUF file describes.

    Supports byte-level BPE vocabularies (`tokenizer.ggml.model == "gpt2"`: SmolLM, Llama 3,
    Qwen 2, ...). Control tokens (`<|im_start|>`, `<|endoftext|>`, ...) are special tokens,
    matched whole in the text; user-defined tokens are matched whole too. The end-of-turn ids
    for `generate` are the file's `eos`, `eot` and `eom` token ids.

    Args:
        gguf_file: a `tfzoo.io.gguf.GGUFFile`, or the path of a `.gguf` file.
        sequence_length: int or `None`. Default output length of `__call__`.

    Returns:
        A `tfzoo.text.FastTokenizer`.

    Raises:
        ValueError: the file has no tokenizer, or one of another kind (e.g. SentencePiece).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    from tfzoo.io.gguf import GGUFFile, end_token_ids

    if not isinstance(gguf_file, GGUFFile):
        gguf_file = GGUFFile(gguf_file)
    m, path = gguf_file.metadata, gguf_file.path
    kind = m.get("tokenizer.ggml.model")
    if kind is None or "tokenizer.ggml.tokens" not in m:
        raise ValueError(f"{path!r} stores no tokenizer (no `tokenizer.ggml.model`/`tokens`).")
    if kind != "gpt2":
        raise ValueError(
            f"{path!r} stores a {kind!r} tokenizer; tfzoo builds GGUF tokenizers of kind 'gpt2' "
            f"(byte-level BPE) only."
        )
    tokens = list(m["tokenizer.ggml.tokens"])
    types = list(m.get("tokenizer.ggml.token_type") or [1] * len(tokens))
    merges = m.get("tokenizer.ggml.merges")
    if not merges:
        raise ValueError(
            f"{path!r} has a byte-level BPE vocabulary but no `tokenizer.ggml.merges`."
        )
    spelling = _bytes_to_unicode()
    alphabet = set(spelling.values())
    # Tokens outside GPT-2's byte alphabet are respelled from their UTF-8 bytes (as transformers).
    vocab = {}
    for i, token in enumerate(tokens):
        if not set(token) <= alphabet:
            token = "".join(spelling[b] for b in token.encode("utf-8"))
        vocab.setdefault(token, i)
    pairs = [tuple(merge.split(" ")) for merge in merges]
    backend = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=pairs,
            dropout=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
        )
    )
    add_prefix_space = bool(m.get("tokenizer.ggml.add_space_prefix", False))
    split = _SPLITS.get(m.get("tokenizer.ggml.pre"))
    if split is None:
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    else:
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(split), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    backend.decoder = decoders.ByteLevel()

    def token_of(key):
        i = m.get(f"tokenizer.ggml.{key}")
        return tokens[i] if i is not None and 0 <= i < len(tokens) else None

    special = {
        "bos_token": token_of("bos_token_id"),
        "eos_token": token_of("eos_token_id"),
        "unk_token": token_of("unknown_token_id"),
        "pad_token": token_of("padding_token_id"),
    }
    control = [t for t, k in zip(tokens, types) if k == _CONTROL and set(t) <= alphabet]
    control += [t for t in special.values() if t is not None and t not in control]
    backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in control])
    user = [t for t, k in zip(tokens, types) if k == _USER_DEFINED and t in vocab]
    if user:
        backend.add_tokens([AddedToken(t, normalized=False, special=False) for t in user])
    if backend.get_vocab_size(with_added_tokens=True) != len(tokens):
        raise ValueError(
            f"{path!r}: the rebuilt tokenizer has {backend.get_vocab_size(True)} tokens, the "
            f"file lists {len(tokens)}; the vocabulary has duplicates tfzoo cannot place."
        )
    end_ids = end_token_ids(m)
    context = m.get(f"{gguf_file.architecture}.context_length")
    return FastTokenizer(
        backend,
        special_tokens=special,
        end_token_ids=end_ids,
        chat_template=m.get("tokenizer.chat_template"),
        add_start_token=bool(m.get("tokenizer.ggml.add_bos_token", False)),
        add_end_token=bool(m.get("tokenizer.ggml.add_eos_token", False)),
        sequence_length=sequence_length,
        max_sequence_length=int(context) if context else 2048,
    )
