"""WordPiece: tfzoo's MiniLM tokenizer against Hugging Face's BertTokenizerFast."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from transformers import BertTokenizerFast

import tfzoo.text


def hf_inputs(hf, a, b=None, length=None):
    """Hugging Face's encoding, padded to `length` (or to the longest) and truncated."""
    kwargs = dict(padding="max_length", max_length=length) if length else dict(padding=True)
    out = hf(a, b, truncation=True, return_tensors="np", **kwargs)
    return {
        "token_ids": out["input_ids"],
        "padding_mask": out["attention_mask"].astype(bool),
        "segment_ids": out["token_type_ids"],
    }


def assert_same_inputs(ours, theirs):
    for key in ("token_ids", "padding_mask", "segment_ids"):
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key], err_msg=key)
    assert ours["token_ids"].dtype == tf.int32
    assert ours["padding_mask"].dtype == tf.bool
    assert ours["segment_ids"].dtype == tf.int32


def test_attributes(minilm):
    assert minilm.kind == "wordpiece"
    assert isinstance(minilm, tfzoo.text.WordPieceTokenizer)
    assert minilm.vocabulary_size == 30522
    assert (minilm.pad_token_id, minilm.unk_token_id) == (0, 100)
    assert (minilm.start_token_id, minilm.end_token_id, minilm.mask_token_id) == (101, 102, 103)
    assert minilm.max_sequence_length == 512


def test_tokenize_matches_hugging_face(minilm, hf_minilm, sentences):
    ours = minilm.tokenize(sentences)
    assert isinstance(ours, tf.RaggedTensor) and ours.dtype == tf.int32
    theirs = hf_minilm(sentences, add_special_tokens=False)["input_ids"]
    mismatches = [s for s, a, b in zip(sentences, ours.to_list(), theirs) if a != b]
    assert not mismatches, f"{len(mismatches)}/{len(sentences)} differ: {mismatches[:3]}"
    # A scalar string gives one dense vector.
    single = minilm.tokenize(sentences[0])
    assert isinstance(single, tf.Tensor) and single.shape.rank == 1
    assert single.numpy().tolist() == theirs[0]


@pytest.mark.parametrize("length", [None, 16, 64])
def test_call_matches_hugging_face(minilm, hf_minilm, sentences, length):
    # length 16 truncates most sentences, 64 pads most, None pads to the longest.
    assert_same_inputs(
        minilm(sentences, sequence_length=length), hf_inputs(hf_minilm, sentences, length=length)
    )


@pytest.mark.parametrize("length", [None, 24, 96])
def test_pairs_match_hugging_face(minilm, hf_minilm, sentences, length):
    first, second = sentences[:-1], sentences[1:]
    ours = minilm(first, sequence_length=length, pair=second)
    assert_same_inputs(ours, hf_inputs(hf_minilm, first, second, length=length))
    assert set(np.unique(ours["segment_ids"].numpy())) == {0, 1}


def test_tf_data_map_equals_eager(minilm, sentences):
    ds = tf.data.Dataset.from_tensor_slices(sentences).batch(8)
    ds = ds.map(lambda x: minilm(x, sequence_length=32))
    mapped = np.concatenate([b["token_ids"].numpy() for b in ds])
    np.testing.assert_array_equal(mapped, minilm(sentences, sequence_length=32)["token_ids"])
    # Per element, unbatched: tokenize gives variable-length vectors.
    ds = tf.data.Dataset.from_tensor_slices(sentences[:5]).map(minilm.tokenize)
    assert [x.numpy().tolist() for x in ds] == minilm.tokenize(sentences[:5]).to_list()


def test_detokenize(minilm):
    ids = minilm.tokenize(["Hello, Wörld!", "unaffable"])
    assert minilm.detokenize(ids).numpy().tolist() == [b"hello , world !", b"unaffable"]


def test_tokenizer_json_only(minilm, sentences, tmp_path):
    shutil.copy(os.path.join(tfzoo.text.minilm_path(), "tokenizer.json"), tmp_path)
    tok = tfzoo.text.tokenizer_from_pretrained(tmp_path)
    assert tok.kind == "wordpiece" and tok.vocabulary_size == minilm.vocabulary_size
    assert tok.tokenize(sentences).to_list() == minilm.tokenize(sentences).to_list()


def test_save_loads_in_hugging_face_and_back(minilm, hf_minilm, sentences, tmp_path):
    minilm.save(tmp_path)
    assert {"vocab.txt", "tokenizer_config.json"} <= set(os.listdir(tmp_path))
    reloaded = tfzoo.text.tokenizer_from_pretrained(tmp_path)
    hf = BertTokenizerFast.from_pretrained(str(tmp_path))
    expected = hf_minilm(sentences)["input_ids"]
    assert hf(sentences)["input_ids"] == expected
    assert_same_inputs(reloaded(sentences, sequence_length=40), hf_inputs(hf, sentences, length=40))


def test_cased_vocabulary_keeps_case_and_accents(minilm, tmp_path):
    # A cased tokenizer (do_lower_case=False) must neither lowercase nor strip accents.
    minilm.save(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    tok = tfzoo.text.tokenizer_from_pretrained(tmp_path)
    hf = BertTokenizerFast.from_pretrained(str(tmp_path))
    text = ["Hello Café", "naïve ÉCOLE"]
    assert tok.tokenize(text).to_list() == hf(text, add_special_tokens=False)["input_ids"]
