"""train_wordpiece / train_bpe on real sentences; the saved files load in transformers."""

import numpy as np
import pytest
import tensorflow as tf
from transformers import BertTokenizerFast, GPT2TokenizerFast

import tfzoo.text


@pytest.fixture(scope="module")
def corpus(movie_reviews):
    return movie_reviews[:400]


@pytest.fixture(scope="module")
def held_out(movie_reviews):
    # Unseen sentences: unknown words and accents exercise [UNK] and byte fallbacks.
    return movie_reviews[5000:5030] + ["Zürich naïve 🤗 QWERTYUIOP 12345"]


def test_train_wordpiece(corpus, held_out, tmp_path):
    tok = tfzoo.text.train_wordpiece(corpus, vocabulary_size=1500, directory=tmp_path)
    assert tok.kind == "wordpiece" and tok.vocabulary_size == 1500
    assert (tok.pad_token_id, tok.unk_token_id, tok.start_token_id) == (0, 1, 2)
    assert (tok.end_token_id, tok.mask_token_id) == (3, 4)

    ds = tf.data.Dataset.from_tensor_slices(held_out).batch(8).map(tok)
    batches = list(ds)
    assert batches[0]["token_ids"].shape[0] == 8
    assert all(b["token_ids"].dtype == tf.int32 for b in batches)

    hf = BertTokenizerFast.from_pretrained(str(tmp_path))
    ref = hf(held_out, padding="max_length", truncation=True, max_length=48, return_tensors="np")
    ours = tok(held_out, sequence_length=48)
    np.testing.assert_array_equal(ours["token_ids"].numpy(), ref["input_ids"])
    np.testing.assert_array_equal(ours["padding_mask"].numpy(), ref["attention_mask"] == 1)
    assert (ours["token_ids"].numpy() == tok.unk_token_id).any()  # the emoji


def test_train_bpe(corpus, held_out, tmp_path):
    tok = tfzoo.text.train_bpe(iter(corpus), vocabulary_size=1000, directory=tmp_path)
    assert tok.kind == "bpe" and tok.vocabulary_size == 1000
    assert tok.pad_token_id == tok.end_token_id == 0 and tok.unk_token_id is None

    ds = tf.data.Dataset.from_tensor_slices(held_out).batch(8).map(lambda x: tok(x, 40))
    assert [b["token_ids"].shape[1] for b in ds] == [40] * 4

    hf = GPT2TokenizerFast.from_pretrained(str(tmp_path))
    ids = tok.tokenize(held_out).to_list()
    assert ids == hf(held_out)["input_ids"]
    assert [t.decode() for t in tok.detokenize(tf.ragged.constant(ids)).numpy()] == held_out


def test_corpus_too_small(corpus):
    with pytest.raises(ValueError, match=r"vocabulary_size=30000.*only \d+ tokens"):
        tfzoo.text.train_wordpiece(corpus[:20], vocabulary_size=30000)
    with pytest.raises(ValueError, match=r"vocabulary_size=30000.*only \d+ tokens"):
        tfzoo.text.train_bpe(corpus[:20], vocabulary_size=30000)


@pytest.mark.parametrize("train", [tfzoo.text.train_wordpiece, tfzoo.text.train_bpe])
def test_bad_corpus(train):
    with pytest.raises(ValueError, match="empty"):
        train([], vocabulary_size=500)
    with pytest.raises(ValueError, match="empty"):
        train(["", "   "], vocabulary_size=500)
    with pytest.raises(ValueError, match="not a single string"):
        train("one long string", vocabulary_size=500)
    with pytest.raises(ValueError, match="must yield strings"):
        train(["ok", 3], vocabulary_size=500)
    with pytest.raises(ValueError, match="vocabulary_size"):
        train(["some text"], vocabulary_size=3)
