import itertools

import keras
import numpy as np
import pytest

import tfzoo
import tfzoo.models.seq2seq  # noqa: F401  (registers the seq2seq family)
from tfzoo.models.seq2seq import (
    Seq2SeqBackbone,
    Seq2SeqLM,
    seq2seq_inputs,
    seq2seq_parameter_count,
)
from tfzoo.testing import SMALL_TEXT_SIZES, assert_close, run_model_test

TINY = dict(SMALL_TEXT_SIZES, vocabulary_size=60)
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _batch(seed=0, batch=2, src=7, tgt=6, vocab=60):
    rng = np.random.default_rng(seed)
    source = rng.integers(3, vocab, (batch, src))
    target = rng.integers(3, vocab, (batch, tgt))
    source[-1, -2:] = 0  # padding
    target[-1, -3:] = 0
    target[:, -1] = np.where(target[:, -1] == 0, 0, 2)
    return seq2seq_inputs(source, target, start_token_id=1, pad_token_id=0)


def _log_softmax(logits):
    logits = logits - logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _full_forward_greedy(model, source, steps, start=1):
    """Reference decoder: re-runs the whole model on the growing prefix, no cache."""
    tokens = np.full((len(source), 1), start, "int32")
    for _ in range(steps):
        x = {
            "encoder_token_ids": source,
            "encoder_padding_mask": (source != 0).astype("int32"),
            "decoder_token_ids": tokens,
            "decoder_padding_mask": np.ones_like(tokens),
        }
        logits = np.asarray(model(x, training=False))[:, -1]
        tokens = np.concatenate([tokens, logits.argmax(-1)[:, None].astype("int32")], axis=1)
    return tokens


def test_backbone_and_harness(tmp_path):
    normalize_first = True
    backbone = tfzoo.build("transformer-base", normalize_first=normalize_first, **TINY)
    assert isinstance(backbone, Seq2SeqBackbone)
    x, _, _ = _batch()
    out = backbone(x)
    assert out["encoder_sequence_output"].shape == (2, 7, 32)
    assert out["decoder_sequence_output"].shape == (2, 6, 32)
    assert backbone.count_params() == seq2seq_parameter_count(
        **TINY, normalize_first=normalize_first
    )
    run_model_test(backbone, tmp_path, inputs=x, fit=False)


def test_seq2seq_lm_teacher_forcing_and_harness(tmp_path):
    model = tfzoo.build("transformer-base", task="seq2seq_lm", **TINY)
    assert isinstance(model, Seq2SeqLM)
    x, y, w = _batch()
    assert model(x).shape == (2, 6, 60)
    # The output projection is the (shared) embedding table: no extra vocabulary matrix.
    assert sum(1 for v in model.weights if tuple(v.shape) in ((60, 32), (32, 60))) == 1
    assert model.count_params() == seq2seq_parameter_count(**TINY)
    run_model_test(model, tmp_path, inputs=x, loss=SCE, y=y, sample_weight=w)


def test_padding_does_not_leak():
    model = tfzoo.build("transformer-base", task="seq2seq_lm", dropout=0.0, **TINY)
    x, _, _ = _batch()
    out = np.asarray(model(x))
    changed = {k: v.copy() for k, v in x.items()}
    changed["encoder_token_ids"][-1, -2:] = 9  # masked source positions
    changed["decoder_token_ids"][-1, -1] = 9  # a future, masked target position
    again = np.asarray(model(changed))
    assert_close(again[-1, :-1], out[-1, :-1], atol=1e-5)


T5_STYLE = dict(normalize_first=True, position="relative", norm="rms_norm", use_bias=False)


@pytest.mark.parametrize(
    "variant", [dict(normalize_first=False), dict(normalize_first=True), T5_STYLE]
)
def test_cached_greedy_equals_full_forward_argmax(variant):
    model = tfzoo.build("transformer-base", task="seq2seq_lm", dropout=0.0, **variant, **TINY)
    source = np.random.default_rng(3).integers(3, 60, (3, 5)).astype("int32")
    source[1, -2:] = 0
    out = model.generate(source, max_new_tokens=6, start_token_id=1)
    assert out["token_ids"].shape == (3, 7)
    np.testing.assert_array_equal(out["token_ids"], _full_forward_greedy(model, source, 6))


def test_beam_one_is_greedy_and_end_token_stops():
    model = tfzoo.build("transformer-base", task="seq2seq_lm", dropout=0.0, **TINY)
    source = np.random.default_rng(4).integers(3, 60, (2, 6)).astype("int32")
    greedy = model.generate(source, max_new_tokens=6, start_token_id=1, jit_compile=False)
    beam = model.generate(
        source, max_new_tokens=6, start_token_id=1, num_beams=1, jit_compile=False
    )
    np.testing.assert_array_equal(beam["token_ids"], greedy["token_ids"])
    # Use the first generated token of row 0 as the end token: row 0 stops right there.
    end = int(greedy["token_ids"][0, 1])
    stopped = model.generate(
        source,
        max_new_tokens=6,
        start_token_id=1,
        end_token_id=end,
        pad_token_id=0,
        jit_compile=False,
    )
    assert stopped["token_ids"][0, 1] == end
    assert (stopped["token_ids"][0, 2:] == 0).all()
    assert stopped["padding_mask"][0].tolist() == [1, 1, 0, 0, 0, 0, 0]


def test_beam_search_is_exact_when_the_beam_holds_every_prefix():
    # Vocabulary 12, two steps, 12 beams: every first token survives, so the best of the 144
    # two-token outputs must be found. Checked by scoring all 144 with a full forward pass.
    config = dict(TINY, vocabulary_size=12)
    model = tfzoo.build("transformer-base", task="seq2seq_lm", dropout=0.0, **config)
    source = np.array([[5, 6, 7, 8]], "int32")
    out = model.generate(
        source,
        max_new_tokens=2,
        start_token_id=1,
        num_beams=12,
        length_penalty=0.0,
        jit_compile=False,
    )
    pairs = np.array(list(itertools.product(range(12), repeat=2)), "int32")  # (144, 2)
    decoder = np.concatenate([np.ones((144, 1), "int32"), pairs[:, :1]], axis=1)
    x = {
        "encoder_token_ids": np.repeat(source, 144, 0),
        "encoder_padding_mask": np.ones((144, 4), "int32"),
        "decoder_token_ids": decoder,
        "decoder_padding_mask": np.ones_like(decoder),
    }
    log_probs = _log_softmax(np.asarray(model(x), "float64"))
    totals = np.take_along_axis(log_probs, pairs[:, :, None], axis=2)[..., 0].sum(1)
    best = pairs[np.argmax(totals)]
    assert out["token_ids"][0, 1:].tolist() == best.tolist()
    assert_close(out["scores"], [totals.max()], atol=1e-4)


def test_source_longer_than_positions_and_bad_generate_args():
    model = tfzoo.build("transformer-base", task="seq2seq_lm", **TINY)
    long_source = np.ones((1, 17), "int32")
    x, _, _ = _batch()
    too_long = dict(
        x, encoder_token_ids=long_source, encoder_padding_mask=np.ones_like(long_source)
    )
    with pytest.raises(ValueError, match=r"source has 17 tokens.*max_sequence_length=16"):
        model(too_long)
    with pytest.raises(ValueError, match=r"source has 17 tokens"):
        model.generate(long_source)
    with pytest.raises(ValueError, match="num_beams"):
        model.generate(x["encoder_token_ids"], num_beams=0)
    with pytest.raises(ValueError, match=r"num_beams=61 exceeds the target vocabulary \(60\)"):
        model.generate(x["encoder_token_ids"], max_new_tokens=4, num_beams=61)
    with pytest.raises(ValueError, match="max_sequence_length"):
        model.generate(x["encoder_token_ids"], max_new_tokens=16)
    with pytest.raises(ValueError, match="end_token_id"):
        model.generate(x["encoder_token_ids"], max_new_tokens=4, end_token_id=60)
    with pytest.raises(ValueError, match="integer"):
        model.generate(x["encoder_token_ids"].astype("float32"), max_new_tokens=4)


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match="share_embeddings=False"):
        Seq2SeqBackbone(**TINY, target_vocabulary_size=70)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        Seq2SeqBackbone(**dict(TINY, num_heads=3))
    with pytest.raises(ValueError, match="(?i)missing"):
        Seq2SeqBackbone(**TINY)({"encoder_token_ids": np.ones((1, 3), "int32")})
    with pytest.raises(ValueError, match="2-D integer"):
        seq2seq_inputs([1, 2], [[1, 2]], start_token_id=1)


def test_unshared_embeddings(tmp_path):
    config = dict(TINY, share_embeddings=False, target_vocabulary_size=40)
    model = Seq2SeqLM(Seq2SeqBackbone(**config))
    x, y, w = _batch(vocab=40)
    assert model(x).shape == (2, 6, 40)
    assert model.count_params() == seq2seq_parameter_count(**config)
    out = model.generate(x["encoder_token_ids"], max_new_tokens=3, start_token_id=1)
    assert out["token_ids"].max() < 40


def test_t5_style_relative_positions(tmp_path):
    model = tfzoo.build("t5-small", task="seq2seq_lm", num_buckets=8, max_distance=16, **TINY)
    assert model.backbone.position == "relative"
    x, y, w = _batch()
    assert model.count_params() == seq2seq_parameter_count(**TINY, **T5_STYLE, num_buckets=8)
    run_model_test(model, tmp_path, inputs=x, loss=SCE, y=y, sample_weight=w)


def test_presets():
    assert {"transformer-base", "transformer-big"} <= set(tfzoo.list_models("seq2seq"))
    assert seq2seq_parameter_count(**tfzoo.get_config("transformer-base")["config"]) == 63_082_496
    t5 = tfzoo.get_config("t5-small")
    assert seq2seq_parameter_count(**t5["config"]) == t5["published_parameters"] == 60_506_624


@pytest.mark.slow
def test_copy_task_learns_with_teacher_forcing():
    # Learn to copy a short source; greedy decoding must then reproduce held-out sources.
    rng = np.random.default_rng(0)
    source = rng.integers(3, 20, (2048, 4))
    target = np.concatenate([source, np.full((2048, 1), 2)], axis=1)  # copy + end token 2
    x, y, w = seq2seq_inputs(source, target, start_token_id=1)
    config = dict(TINY, vocabulary_size=20, dropout=0.0, normalize_first=True)
    model = tfzoo.build("transformer-base", task="seq2seq_lm", **config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=SCE)
    model.fit(x, y, sample_weight=w, epochs=8, batch_size=64, verbose=0)
    held_out = rng.integers(3, 20, (32, 4)).astype("int32")
    out = model.generate(held_out, max_new_tokens=5, start_token_id=1, end_token_id=2)
    exact = np.mean((out["token_ids"][:, 1:5] == held_out).all(1))
    print(f"copy task exact match: {exact:.3f}")
    assert exact > 0.8, exact


@pytest.mark.slow
def test_reverse_words_of_real_movie_review_sentences():
    # Text-to-text on real sentences: 5 consecutive words of a movie-review sentence (all among
    # the 500 most frequent training words) -> the same words in reverse order. Test windows come
    # from held-out sentences (the test split); the metric is exact match of all 5 words.
    import collections
    import re

    from tfzoo.data import load_movie_reviews

    data = load_movie_reviews()

    def words(text):
        return re.findall(r"[a-z']+", text.lower())

    counts = collections.Counter(w for t in data.train.texts for w in words(t))
    ids = {w: i + 3 for i, (w, _) in enumerate(counts.most_common(500))}  # 0 pad, 1 start, 2 end

    def windows(texts, n=5):
        out = []
        for text in texts:
            ws = words(text)
            for i in range(0, len(ws) - n + 1, n):
                if all(w in ids for w in ws[i : i + n]):
                    out.append([ids[w] for w in ws[i : i + n]])
        return np.array(out, "int32")

    train, test = windows(data.train.texts), windows(data.test.texts)
    assert len(train) > 3000 and len(test) > 400, (len(train), len(test))
    target = np.concatenate([train[:, ::-1], np.full((len(train), 1), 2, "int32")], axis=1)
    x, y, w = seq2seq_inputs(train, target, start_token_id=1)
    config = dict(
        num_layers=2,
        hidden_dim=64,
        num_heads=4,
        intermediate_dim=128,
        vocabulary_size=503,
        max_sequence_length=16,
        dropout=0.0,
        normalize_first=True,
    )
    model = tfzoo.build("transformer-base", task="seq2seq_lm", **config)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=SCE)
    model.fit(x, y, sample_weight=w, epochs=15, batch_size=64, verbose=0)
    out = model.generate(test, max_new_tokens=6, start_token_id=1, end_token_id=2)
    exact = float(np.mean((out["token_ids"][:, 1:6] == test[:, ::-1]).all(1)))
    beam = model.generate(test, max_new_tokens=6, start_token_id=1, end_token_id=2, num_beams=4)
    exact_beam = float(np.mean((beam["token_ids"][:, 1:6] == test[:, ::-1]).all(1)))
    print(
        f"reverse-words exact match on {len(test)} held-out windows: greedy {exact:.3f}, "
        f"beam 4 {exact_beam:.3f} ({len(train)} training windows)"
    )
    assert exact > 0.5, exact
