"""GPT-2's vocabulary converted from whisper's ranks, against Hugging Face's GPT-2 tokenizer."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from transformers import GPT2TokenizerFast

import tfzoo.text
from tfzoo.text import gpt2 as gpt2_module

UNICODE_TEXTS = [
    "Hello world",
    "naïve café, São Paulo, Zürich, Ångström, Dvořák",
    "Emoji: 🤗🚀👍🏽 and flags 🇫🇷, ZWJ family 👨‍👩‍👧",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "Ελληνικά, русский текст, עברית, العربية",
    "  leading spaces,\ttabs\t\tand\n\nnewlines\r\n  \n trailing   ",
    "it's, they're, we've, I'm, you'll, he'd, O'Neil's 'quoted'",
    "numbers 1234567890 3.14159 -42 1e10 ½ ² ٣",
    "symbols <|endoftext|> in the middle, <|endoftext|><|endoftext|>, and <|endof",
    "non\u00a0breaking\u2009thin\u3000ideographic\u200bzero-width",
    "math ∑∫√∞ ≠ ≤ ≥, arrows → ← ↔, quotes “ ” ‘ ’ «»",
    "",
    " ",
    "\n",
]


@pytest.fixture(scope="module")
def hf_gpt2(gpt2):
    directory = tfzoo.text.gpt2_files()
    return GPT2TokenizerFast(
        vocab=os.path.join(directory, "vocab.json"),
        merges=os.path.join(directory, "merges.txt"),
    )


def test_converted_files(gpt2):
    directory = tfzoo.text.gpt2_files()
    with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
        merges = [line.rstrip("\n") for line in f][1:]
    assert len(vocab) == 50257 and vocab["<|endoftext|>"] == 50256
    assert len(merges) == 50000 and len(set(merges)) == 50000
    # Merge i makes the token of rank 256 + i (ranks are ids; 0-255 are the bytes).
    for i in (0, 1, 2, 1000, 49999):
        left, right = merges[i].split(" ")
        assert vocab[left + right] == 256 + i
    # GPT-2's published merges.txt begins with these merges.
    assert merges[:8] == ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"]
    # Written atomically: no temporary file left over.
    assert not [n for n in os.listdir(directory) if n.startswith(".tmp-")]


def test_cache_is_reused(gpt2, gpt2_cache):
    directory = tfzoo.text.gpt2_files()
    assert directory.startswith(gpt2_cache)
    stamp = os.stat(os.path.join(directory, "vocab.json")).st_mtime_ns
    assert tfzoo.text.gpt2_files() == directory
    assert os.stat(os.path.join(directory, "vocab.json")).st_mtime_ns == stamp


def test_attributes(gpt2):
    assert gpt2.kind == "bpe" and isinstance(gpt2, tfzoo.text.BytePairTokenizer)
    assert gpt2.vocabulary_size == 50257
    assert gpt2.pad_token_id == gpt2.end_token_id == gpt2.start_token_id == 50256
    assert gpt2.mask_token_id is None and gpt2.unk_token_id is None


def test_known_gpt2_ids(gpt2):
    # Ids of GPT-2's tokenizer quoted throughout its documentation.
    assert gpt2.tokenize("Hello world").numpy().tolist() == [15496, 995]
    assert gpt2.tokenize(" Hello world").numpy().tolist() == [18435, 995]


def test_ids_match_hugging_face(gpt2, hf_gpt2, sentences):
    texts = sentences + UNICODE_TEXTS
    ours = gpt2.tokenize(texts)
    assert isinstance(ours, tf.RaggedTensor) and ours.dtype == tf.int32
    theirs = hf_gpt2(texts)["input_ids"]
    mismatches = [t for t, a, b in zip(texts, ours.to_list(), theirs) if a != b]
    assert not mismatches, f"{len(mismatches)}/{len(texts)} differ: {mismatches[:3]}"


def test_decode_encode_round_trip(gpt2, hf_gpt2, sentences):
    texts = sentences + UNICODE_TEXTS
    ids = gpt2.tokenize(texts)
    decoded = [t.decode("utf-8") for t in gpt2.detokenize(ids).numpy().tolist()]
    assert decoded == texts
    assert [hf_gpt2.decode(row) for row in ids.to_list()] == texts


def test_call_pads_with_end_token(gpt2, hf_gpt2, sentences):
    texts = sentences[:20]
    out = gpt2(texts, sequence_length=32)
    hf_gpt2.pad_token = "<|endoftext|>"
    ref = hf_gpt2(texts, padding="max_length", truncation=True, max_length=32, return_tensors="np")
    np.testing.assert_array_equal(out["token_ids"].numpy(), ref["input_ids"])
    np.testing.assert_array_equal(out["padding_mask"].numpy(), ref["attention_mask"].astype(bool))
    assert not out["segment_ids"].numpy().any()
    # <|endoftext|> in the text is a real token: padding_mask stays True there.
    single = gpt2("a<|endoftext|>", sequence_length=4)
    assert single["token_ids"].numpy().tolist() == [64, 50256, 50256, 50256]
    assert single["padding_mask"].numpy().tolist() == [True, True, False, False]


def test_pair_segments(gpt2):
    out = gpt2(["Hello world"], pair=["Hello"], sequence_length=5)
    assert out["token_ids"].numpy().tolist() == [[15496, 995, 15496, 50256, 50256]]
    assert out["segment_ids"].numpy().tolist() == [[0, 0, 1, 0, 0]]


def test_tf_data(gpt2, sentences):
    ds = tf.data.Dataset.from_tensor_slices(sentences).batch(8).map(gpt2.tokenize)
    assert [row for batch in ds for row in batch.to_list()] == gpt2.tokenize(sentences).to_list()


def test_save_and_tokenizer_json_only(gpt2, hf_gpt2, sentences, tmp_path):
    gpt2.save(tmp_path / "saved")
    reloaded = tfzoo.text.tokenizer_from_pretrained(tmp_path / "saved")
    hf = GPT2TokenizerFast.from_pretrained(str(tmp_path / "saved"))
    expected = hf_gpt2(sentences)["input_ids"]
    assert hf(sentences)["input_ids"] == expected
    assert reloaded.tokenize(sentences).to_list() == expected
    # A directory with only Hugging Face's tokenizer.json.
    hf_gpt2.backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
    from_json = tfzoo.text.tokenizer_from_pretrained(tmp_path)
    assert from_json.kind == "bpe" and from_json.vocabulary_size == 50257
    assert from_json.tokenize(sentences).to_list() == expected


def test_merges_reconstruction_on_a_toy_ranks_table():
    # Ranks of a tiny BPE: "ab" then "abc" (= "ab" + "c"), then "bc" (ranked after "abc").
    ranks = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"abc": 4, b"bc": 5}
    vocab, merges = gpt2_module.ranks_to_vocabulary_and_merges(ranks)
    assert merges == ["a b", "ab c", "b c"]
    with pytest.raises(ValueError, match="not the merge of two lower-ranked tokens"):
        gpt2_module.ranks_to_vocabulary_and_merges({b"a": 0, b"b": 1, b"c": 2, b"abc": 3})
