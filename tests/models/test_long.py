"""The long-sequence zoo entries: BERT and GPT with blocked sliding-window local attention."""

import keras
import numpy as np
import pytest

import tfzoo
from tfzoo.layers.local_attention import LocalMultiHeadAttention
from tfzoo.testing import (
    TINY_TEXT_SIZES,
    assert_close,
    greedy_without_cache,
    run_model_test,
    tiny_inputs,
)

# Tiny shapes of the long entries: the sequence (24) is not a multiple of the window (4).
TINY = dict(
    TINY_TEXT_SIZES,
    num_layers=2,
    vocabulary_size=50,
    max_sequence_length=64,
    sliding_window=4,
    dropout=0.0,
)
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _inputs(model, length=24, pad=5):
    return tiny_inputs(model, sequence_length=length, pad=pad)


def _dense_twin(name, model, **overrides):
    """The same backbone with dense attention under the band mask, and the same weights."""
    config = dict(TINY, attention_implementation="dense", global_tokens=0, **overrides)
    twin = tfzoo.build(name, **config)
    twin.set_weights(model.get_weights())
    return twin


def test_presets_are_long_and_local():
    for name in ("bert-mini-long", "gpt-mini-long"):
        config = tfzoo.get_config(name)["config"]
        assert config["max_sequence_length"] == 4096
        assert config["sliding_window"] == 256
        assert config["attention_implementation"] == "local"
    assert tfzoo.get_config("bert-mini-long")["config"]["global_tokens"] == 1
    assert "gpt-mini-long" in tfzoo.list_models("gpt")


@pytest.mark.parametrize("name", ["bert-mini-long", "gpt-mini-long"])
def test_long_entries_build_with_local_attention(name):
    model = tfzoo.build(name, **TINY)
    assert all(
        isinstance(layer.self_attention, LocalMultiHeadAttention)
        for layer in model.transformer_layers
    )
    # Local attention adds no weights: the count is that of the same shape with dense attention.
    assert model.count_params() == _dense_twin(name, model).count_params()


@pytest.mark.parametrize("name", ["bert-mini-long", "gpt-mini-long"])
def test_equals_dense_attention_with_the_band_mask(name):
    model = tfzoo.build(name, **dict(TINY, global_tokens=0))
    dense = _dense_twin(name, model)
    inputs = _inputs(model)
    real = inputs["padding_mask"].astype(bool)
    out, expected = model(inputs), dense(inputs)
    if isinstance(out, dict):
        out, expected = out["sequence_output"], expected["sequence_output"]
    assert_close(np.asarray(out)[real], np.asarray(expected)[real], atol=1e-5)


def test_bert_global_cls_equals_dense_attention_with_the_longformer_mask():
    model = tfzoo.build("bert-mini-long", **dict(TINY, global_tokens=1))
    inputs = _inputs(model)
    out = np.asarray(model(inputs)["sequence_output"])
    # Reference: the same blocks with dense full attention, masked by an explicit Longformer
    # mask (band OR query 0 OR key 0) built here in NumPy.
    pos = np.arange(24)
    allowed = (np.abs(pos[:, None] - pos[None, :]) < 4) | (pos[:, None] == 0) | (pos[None, :] == 0)
    attention_mask = np.broadcast_to(allowed, (2, 24, 24)).astype("int32")
    dense = _dense_twin("bert-mini-long", model, sliding_window=None)
    x = dense.embeddings(inputs["token_ids"], segment_ids=inputs["segment_ids"])
    x = dense.embeddings_norm(x)
    for layer in dense.transformer_layers:
        x = layer(x, padding_mask=inputs["padding_mask"], attention_mask=attention_mask)
    real = inputs["padding_mask"].astype(bool)
    assert_close(out[real], np.asarray(x)[real], atol=1e-5)


@pytest.mark.parametrize(
    "name, task, kwargs",
    [
        ("bert-mini-long", "classification", dict(num_classes=2)),
        ("gpt-mini-long", "causal_lm", {}),
    ],
)
def test_fit_lowers_the_loss_and_reloads(name, task, kwargs, tmp_path):
    model = tfzoo.build(name, task=task, **TINY, **kwargs)
    inputs = tiny_inputs(model, sequence_length=16, pad=3)
    if task == "causal_lm":
        y = np.roll(inputs["token_ids"], -1, axis=1)
    else:
        y = np.array([0, 1])
    # .keras and weights-only reloads, a half-length sequence (8 >= window 4), mixed precision,
    # and `fit` lowering the loss.
    run_model_test(model, tmp_path, loss=SCE, y=y, inputs=inputs)


def test_gpt_long_cached_generation_equals_the_full_forward():
    lm = tfzoo.build("gpt-mini-long", task="causal_lm", **TINY)
    prompt = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 13, 14]], "int32")
    out = lm.generate(prompt, max_new_tokens=6)["token_ids"]
    np.testing.assert_array_equal(out, greedy_without_cache(lm, prompt, 6))


@pytest.mark.parametrize("window", [0, -1, 2.5])
def test_bad_window_is_named(window):
    with pytest.raises(ValueError, match="sliding_window"):
        tfzoo.build("bert-mini-long", **dict(TINY, sliding_window=window))


def test_window_larger_than_the_sequence_is_named():
    model = tfzoo.build("bert-mini-long", **TINY)
    with pytest.raises(ValueError, match=r"sliding_window=4 is larger than the sequence \(3"):
        model(_inputs(model, length=3, pad=0))


@pytest.mark.parametrize("name", ["bert-mini-long", "gpt-mini-long"])
def test_sequence_longer_than_the_positions_is_named(name):
    model = tfzoo.build(name, **TINY)
    with pytest.raises(ValueError, match="max_sequence_length=64"):
        model(_inputs(model, length=65, pad=0))


def test_local_without_window_and_globals_without_local_are_named():
    with pytest.raises(ValueError, match="needs a `sliding_window`"):
        tfzoo.build("gpt-mini-long", **dict(TINY, sliding_window=None))
    with pytest.raises(ValueError, match="global_tokens` needs attention_implementation='local'"):
        tfzoo.build("bert-mini-long", **dict(TINY, attention_implementation="dense"))
