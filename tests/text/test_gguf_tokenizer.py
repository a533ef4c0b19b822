"""GGUF tokenizers and chat templates, against transformers' GGUF tokenizer on the same file."""

import os

import numpy as np
import pytest
import tensorflow as tf
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

import tfzoo
from tests.convert.gguf_files import bpe_tokenizer_metadata, write_gguf

MIXED = (
    "Hello world! naïve café 東京 🤗 <|im_start|>user\nHi  there\n\n  x<|im_end|>\n"
    "<|endoftext|>12345 don't\tTAB   end "
)
TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are helpful.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHAT = [
    {"role": "user", "content": "Où est la tour Eiffel ?"},
    {"role": "assistant", "content": "À Paris."},
    {"role": "user", "content": "Merci 🙂"},
]


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    """A GGUF file holding only a byte-level BPE tokenizer trained on a few lines (no tensors)."""
    corpus = [MIXED, "The quick brown fox jumps over the lazy dog. " * 3, "naïve café 東京 🤗"] * 5
    metadata = {
        "llama.block_count": 1,
        "llama.context_length": 64,
        "llama.embedding_length": 8,
        "llama.feed_forward_length": 16,
        "llama.attention.head_count": 2,
        **bpe_tokenizer_metadata(corpus, TEMPLATE),
    }
    directory = tmp_path_factory.mktemp("gguf-tokenizer")
    return write_gguf(directory / "tok.gguf", "llama", metadata, {})


def _reference(path):
    transformers.utils.logging.set_verbosity_error()
    directory, name = os.path.split(path)
    return transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)


def test_ids_match_transformers_gguf_tokenizer(tiny_gguf):
    ours = tfzoo.tokenizer_from_pretrained(tiny_gguf)
    reference = _reference(tiny_gguf)
    assert isinstance(ours, tfzoo.text.FastTokenizer) and ours.vocabulary_size == len(reference)
    texts = [MIXED, "The lazy dog", "  leading spaces", "<|im_start|>assistant\n", ""]
    for text in texts:
        expected = reference.encode(text, add_special_tokens=False)
        assert ours.tokenize(text).numpy().tolist() == expected, text
        assert ours.detokenize(expected).numpy().decode("utf-8") == text
    # Control tokens stay whole.
    assert ours.tokenize("<|im_end|>").numpy().tolist() == [ours.token_to_id("<|im_end|>")]
    assert ours.end_token_ids == (ours.token_to_id("<|im_end|>"), ours.token_to_id("<|endoftext|>"))


def test_chat_template_matches_transformers(tiny_gguf):
    ours = tfzoo.tokenizer_from_pretrained(os.path.dirname(tiny_gguf))  # the directory
    reference = _reference(tiny_gguf)
    for prompt in (False, True):
        text = ours.apply_chat_template(CHAT, add_generation_prompt=prompt, tokenize=False)
        expected = reference.apply_chat_template(CHAT, add_generation_prompt=prompt, tokenize=False)
        assert text == expected
        ids = ours.apply_chat_template(CHAT, add_generation_prompt=prompt)
        assert ids.dtype == np.int32
        assert ids.tolist() == reference.encode(expected, add_special_tokens=False)
    assert text.endswith("<|im_start|>assistant\n")


def test_gguf_tokenizer_in_tf_data(tiny_gguf):
    tokenizer = tfzoo.tokenizer_from_pretrained(tiny_gguf, sequence_length=12)
    dataset = tf.data.Dataset.from_tensor_slices([MIXED, "The lazy dog"]).batch(2)
    batch = next(iter(dataset.map(tokenizer)))
    expected = tokenizer(np.array([MIXED, "The lazy dog"]))
    for key in ("token_ids", "padding_mask"):
        np.testing.assert_array_equal(batch[key].numpy(), expected[key].numpy())
    short = tokenizer.tokenize("The lazy dog").numpy().tolist()
    assert batch["token_ids"][1, : len(short)].numpy().tolist() == short
    assert not batch["padding_mask"][1, len(short) :].numpy().any()
    assert batch["token_ids"][1, -1] == tokenizer.pad_token_id


def test_gguf_tokenizer_errors(tmp_path, tiny_gguf):
    no_template = write_gguf(
        tmp_path / "bare.gguf",
        "llama",
        {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": ["a", "b"], "x": 1},
        {},
    )
    with pytest.raises(ValueError, match="no `tokenizer.ggml.merges`"):
        tfzoo.tokenizer_from_pretrained(no_template)
    spm = write_gguf(
        tmp_path / "spm.gguf",
        "llama",
        {"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": ["<s>", "a"]},
        {},
    )
    with pytest.raises(ValueError, match="'llama' tokenizer"):
        tfzoo.tokenizer_from_pretrained(spm)
    none = write_gguf(tmp_path / "none.gguf", "llama", {"x": 1}, {})
    with pytest.raises(ValueError, match="stores no tokenizer"):
        tfzoo.tokenizer_from_pretrained(none)
    tokenizer = tfzoo.tokenizer_from_pretrained(tiny_gguf)
    with pytest.raises(ValueError, match="list of dicts"):
        tokenizer.apply_chat_template("Hi")
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="no chat template"):
        tokenizer.apply_chat_template(CHAT)


@pytest.mark.slow
def test_smollm2_tokenizer_matches_transformers():
    path = tfzoo.text.smollm2_gguf_path()
    ours = tfzoo.tokenizer_from_pretrained(path)
    reference = _reference(path)
    assert ours.vocabulary_size == len(reference) == 49152
    assert ours.tokenize(MIXED).numpy().tolist() == reference.encode(
        MIXED, add_special_tokens=False
    )
    ids = ours.apply_chat_template(CHAT, add_generation_prompt=True)
    expected = reference.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    assert ids.tolist() == reference.encode(expected, add_special_tokens=False)
    assert ours.end_token_ids == (2,)  # <|im_end|>
