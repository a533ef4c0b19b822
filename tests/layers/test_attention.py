import numpy as np
import pytest

from tfzoo.layers import MultiHeadAttention
from tfzoo.testing import assert_close, run_layer_test


def numpy_attention(layer, q_in, kv_in, mask=None, bias=None):
    """Reference attention from the layer's weights, in float64 NumPy."""
    w = {
        v.path.split("/")[-2] + "/" + v.name: np.asarray(v.numpy(), "float64")
        for v in layer.weights
    }
    q = np.einsum("btd,dhe->bthe", q_in, w["query/kernel"]) + w["query/bias"]
    k = np.einsum("btd,dhe->bthe", kv_in, w["key/kernel"]) + w["key/bias"]
    v = np.einsum("btd,dhe->bthe", kv_in, w["value/kernel"]) + w["value/bias"]
    groups = layer.num_heads // layer.num_key_value_heads
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    logits = np.einsum("bqhe,bkhe->bhqk", q, k) / np.sqrt(q.shape[-1])
    if bias is not None:
        logits = logits + bias
    if mask is not None:
        logits = np.where(mask[:, None], logits, -1e9)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.einsum("bhqk,bkhe->bqhe", probs, v)
    return np.einsum("bqhe,hed->bqd", out, w["attention_output/kernel"]) + w[
        "attention_output/bias"
    ], probs


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(2, 6, 16)).astype("float32")


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_matches_numpy_with_padding_and_causal_masks(x, kv_heads):
    layer = MultiHeadAttention(num_heads=4, num_key_value_heads=kv_heads)
    padding = np.ones((2, 6), bool)
    padding[1, 4:] = False
    out, probs = layer(x, padding_mask=padding, use_causal_mask=True, return_attention_scores=True)
    causal = np.tril(np.ones((6, 6), bool))
    mask = causal[None] & padding[:, None, :]
    ref, ref_probs = numpy_attention(layer, x.astype("float64"), x.astype("float64"), mask)
    assert_close(out, ref, atol=1e-5)
    assert_close(probs, ref_probs, atol=1e-6)
    probs = np.asarray(probs)
    assert np.all(probs[1, :, :, 4:] < 1e-10), "padded keys must get zero attention"
    assert np.all(probs[:, :, np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] < 1e-10), (
        "future keys"
    )


def test_cross_attention_and_explicit_mask(x):
    layer = MultiHeadAttention(num_heads=2)
    memory = np.random.default_rng(1).normal(size=(2, 3, 16)).astype("float32")
    explicit = np.random.default_rng(2).random((2, 6, 3)) > 0.3
    explicit[..., 0] = True
    out = layer(x, value=memory, attention_mask=explicit)
    ref, _ = numpy_attention(layer, x.astype("float64"), memory.astype("float64"), explicit)
    assert_close(out, ref, atol=1e-5)


def test_position_bias_is_added(x):
    layer = MultiHeadAttention(num_heads=4)
    bias = np.random.default_rng(3).normal(size=(1, 4, 6, 6)).astype("float32")
    out = layer(x, position_bias=bias)
    ref, _ = numpy_attention(layer, x.astype("float64"), x.astype("float64"), bias=bias)
    assert_close(out, ref, atol=1e-5)


def test_sliding_window_equals_band_mask(x):
    windowed = MultiHeadAttention(num_heads=2, sliding_window=2)
    out = windowed(x, use_causal_mask=True)
    band = np.tril(np.ones((6, 6), bool)) & ~np.tril(np.ones((6, 6), bool), -2)
    ref, _ = numpy_attention(
        windowed, x.astype("float64"), x.astype("float64"), np.broadcast_to(band, (2, 6, 6))
    )
    assert_close(out, ref, atol=1e-5)


@pytest.mark.parametrize("rope", [None, 10000])
def test_cached_decoding_equals_full_pass(x, rope):
    layer = MultiHeadAttention(num_heads=4, num_key_value_heads=2, rotary_max_wavelength=rope)
    full = np.asarray(layer(x, use_causal_mask=True))
    cache = np.zeros((2, 2, 6, 2, 4), "float32")
    prefill, cache = layer(x[:, :3], use_causal_mask=True, cache=cache, cache_update_index=0)
    steps = [np.asarray(prefill)]
    for i in range(3, 6):
        step, cache = layer(
            x[:, i : i + 1], use_causal_mask=True, cache=cache, cache_update_index=i
        )
        steps.append(np.asarray(step))
    assert_close(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_dropout_only_in_training(x):
    layer = MultiHeadAttention(num_heads=2, dropout=0.5)
    a = np.asarray(layer(x, training=False))
    b = np.asarray(layer(x, training=False))
    c = np.asarray(layer(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fully_masked_rows_stay_finite_in_fp16(x):
    layer = MultiHeadAttention(num_heads=2, dtype="mixed_float16")
    padding = np.zeros((2, 6), bool)  # every key masked
    out = np.asarray(layer(x * 100.0, padding_mask=padding), dtype="float32")
    assert np.all(np.isfinite(out))


def test_layer_harness(x):
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 4, "num_key_value_heads": 2, "rotary_max_wavelength": 10000},
        x,
        call_kwargs={"use_causal_mask": True},
        expected_output_shape=(2, 6, 16),
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0}, "num_heads"),
        ({"num_heads": 4, "num_key_value_heads": 3}, "multiple of `num_key_value_heads`"),
        ({"num_heads": 2, "dropout": 1.5}, "dropout"),
        ({"num_heads": 2, "sliding_window": 0}, "sliding_window"),
        ({"num_heads": 2, "use_alibi": True, "rotary_max_wavelength": 10000}, "RoPE"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(**kwargs)


def test_hidden_not_divisible_by_heads():
    layer = MultiHeadAttention(num_heads=3)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        layer(np.zeros((1, 2, 16), "float32"))
