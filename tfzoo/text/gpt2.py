"""GPT-2's byte-level BPE vocabulary, rebuilt from the ranks file that openai-whisper ships.

GPT-2's tokenizer is published as `vocab.json` + `merges.txt`; openai-whisper ships the same
tokenizer as `assets/gpt2.tiktoken`: one line per token, `base64(token bytes) rank`, where the
rank is the token id. This module turns the ranks back into the two Hugging Face files:

- `vocab.json`: each token's bytes written with GPT-2's byte-to-unicode alphabet, mapped to its
  rank, plus `<|endoftext|>` = 50256.
- `merges.txt`: one merge per multi-byte token, in rank order. A rank-based BPE (tiktoken's)
  builds a token by repeatedly joining the adjacent pair whose join has the lowest rank. So
  the pair that creates the token of rank `r` is what that procedure leaves when it runs on the
  token's own bytes with only the tokens ranked below `r` allowed: exactly two pieces.
  Merge `i` then has priority `i`, the same order as the ranks, so a merges-based BPE
  (Hugging Face, keras-hub) applies the merges in the same order as the rank-based one.
"""

import base64
import json
import os

from tfzoo.text import assets

GPT2_END_OF_TEXT = "<|endoftext|>"
GPT2_END_OF_TEXT_ID = 50256
_CACHE_VERSION = "v1"


def bytes_to_unicode():
    """Returns GPT-2's map from each byte value (0-255) to a printable unicode character.

    Printable Latin-1 bytes map to themselves; the others (control characters, space, ...)
    map, in byte order, to the code points from 256 upward, so every token is a printable
    string without spaces.
    """
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def read_tiktoken_ranks(path):
    """Reads a `.tiktoken` file into a dict `{token bytes: rank}`."""
    ranks = {}
    with open(path, "rb") as f:
        for line_number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
            except ValueError as error:
                raise ValueError(
                    f"{path}, line {line_number}: expected `<base64 token> <rank>`, "
                    f"got {line[:80]!r}."
                ) from error
    return ranks


def _split_by_lower_ranks(token, rank, ranks):
    """Runs rank-based BPE on `token`'s bytes using only tokens ranked below `rank`."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 1:
        best_index, best_rank = None, rank
        for i in range(len(parts) - 1):
            pair_rank = ranks.get(parts[i] + parts[i + 1])
            if pair_rank is not None and pair_rank < best_rank:
                best_index, best_rank = i, pair_rank
        if best_index is None:
            break
        parts[best_index : best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    return parts


def ranks_to_vocabulary_and_merges(ranks):
    """Converts tiktoken ranks to GPT-2's `vocab.json` dict and `merges.txt` lines.

    Args:
        ranks: dict. Token bytes -> rank, as read by `read_tiktoken_ranks`.

    Returns:
        A tuple `(vocabulary, merges)`: `vocabulary` maps byte-to-unicode strings to ids,
        `merges` is a list of `"left right"` strings in priority order.

    Raises:
        ValueError: if a token cannot be built from two lower-ranked tokens (the file is
            not a BPE ranks file).
    """
    byte_map = bytes_to_unicode()

    def encode(token):
        return "".join(byte_map[b] for b in token)

    vocabulary = {}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        vocabulary[encode(token)] = rank
        if len(token) == 1:
            continue
        parts = _split_by_lower_ranks(token, rank, ranks)
        if len(parts) != 2:
            raise ValueError(
                f"Token {token!r} (rank {rank}) is not the merge of two lower-ranked tokens "
                f"(rank-based BPE leaves {len(parts)} pieces): this is not a BPE ranks file."
            )
        merges.append(f"{encode(parts[0])} {encode(parts[1])}")
    return vocabulary, merges


def gpt2_files(cache_directory=None):
    """Writes (once) GPT-2's `vocab.json` and `merges.txt` and returns their directory.

    The files are derived from `whisper/assets/gpt2.tiktoken` and cached in
    `~/.cache/tfzoo/gpt2-<version>/` (or under `$TFZOO_CACHE`); each file is written
    atomically, so concurrent processes never read a half-written vocabulary.

    Args:
        cache_directory: str or None. Where to write the files. Defaults to the tfzoo cache.

    Returns:
        str. A directory holding `vocab.json`, `merges.txt` and `tokenizer_config.json`,
        loadable by `tfzoo.text.tokenizer_from_pretrained` and by
        `transformers.GPT2TokenizerFast.from_pretrained`.

    Raises:
        ValueError: if openai-whisper is not installed (the message gives the pip command).
    """
    ranks_path = assets.whisper_gpt2_ranks_path()
    directory = cache_directory or assets.cache_dir(f"gpt2-{_CACHE_VERSION}")
    vocab_path = os.path.join(directory, "vocab.json")
    merges_path = os.path.join(directory, "merges.txt")
    config_path = os.path.join(directory, "tokenizer_config.json")
    if all(os.path.isfile(p) for p in (vocab_path, merges_path, config_path)):
        return directory

    vocabulary, merges = ranks_to_vocabulary_and_merges(read_tiktoken_ranks(ranks_path))
    if GPT2_END_OF_TEXT_ID in vocabulary.values():
        raise ValueError(
            f"{ranks_path} already uses id {GPT2_END_OF_TEXT_ID}; it is not GPT-2's ranks file."
        )
    vocabulary[GPT2_END_OF_TEXT] = GPT2_END_OF_TEXT_ID
    config = {
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": GPT2_END_OF_TEXT,
        "eos_token": GPT2_END_OF_TEXT,
        "unk_token": GPT2_END_OF_TEXT,
        "add_prefix_space": False,
        "model_max_length": 1024,
    }
    # Merges first, vocabulary, then config last: the config's presence marks a complete set.
    assets.write_text_atomic(merges_path, "#version: 0.2\n" + "\n".join(merges) + "\n")
    assets.write_text_atomic(vocab_path, json.dumps(vocabulary, ensure_ascii=False))
    assets.write_text_atomic(config_path, json.dumps(config, indent=2))
    return directory


def gpt2_tokenizer(sequence_length=None):
    """Returns GPT-2's byte-level BPE tokenizer (50,257 tokens), built offline.

    The vocabulary is converted from openai-whisper's copy of GPT-2's BPE ranks (see
    `gpt2_files`); the result gives the same ids as Hugging Face's GPT-2 tokenizer.
    GPT-2 has no padding, mask or unknown token: `pad_token_id`, `start_token_id` and
    `end_token_id` are all `<|endoftext|>` (50256), and padded positions carry
    `padding_mask=False`.

    Args:
        sequence_length: int or None. Default length of `__call__` outputs.

    Returns:
        A `tfzoo.text.BytePairTokenizer`.

    Raises:
        ValueError: if openai-whisper is not installed; install it with
            `pip install --no-deps openai-whisper`.

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.gpt2_tokenizer()
    >>> tokenizer.tokenize("Hello world").numpy().tolist()
    [15496, 995]
    """
    from tfzoo.text.loading import tokenizer_from_pretrained

    return tokenizer_from_pretrained(gpt2_files(), sequence_length=sequence_length)
