import numpy as np
import pytest

from tfzoo.layers import MultiHeadAttention
from tfzoo.layers.local_attention import LocalMultiHeadAttention
from tfzoo.testing import assert_close, run_layer_test


def _pair(window, global_tokens=0, **kwargs):
    """A local layer and a dense `MultiHeadAttention` with the same weights."""
    x = np.random.default_rng(0).normal(size=(2, 37, 32)).astype("float32")
    local = LocalMultiHeadAttention(4, sliding_window=window, global_tokens=global_tokens, **kwargs)
    dense = MultiHeadAttention(4, **kwargs)
    local(x)
    dense(x)
    dense.set_weights(local.get_weights())
    return x, local, dense


def _padding():
    mask = np.ones((2, 37), "int32")
    mask[1, 30:] = 0
    return mask


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("window", [1, 5, 8, 37])
def test_equals_dense_attention_with_the_band_mask(causal, window):
    # 37 tokens: not a multiple of the window, so the last chunk is padded inside the layer.
    x, local, _ = _pair(window, num_key_value_heads=2)
    banded = MultiHeadAttention(4, num_key_value_heads=2, sliding_window=window)
    banded(x)
    banded.set_weights(local.get_weights())
    mask = _padding()
    expected = np.asarray(banded(x, padding_mask=mask, use_causal_mask=causal))
    actual = np.asarray(local(x, padding_mask=mask, use_causal_mask=causal))
    assert_close(actual[0], expected[0], atol=1e-5)
    assert_close(actual[1, :30], expected[1, :30], atol=1e-5)  # real (unpadded) queries


@pytest.mark.parametrize("causal", [False, True])
def test_global_tokens_equal_dense_attention_with_the_longformer_mask(causal):
    window, g = 6, 2
    x, local, dense = _pair(window, global_tokens=g)
    mask = _padding()
    pos = np.arange(37)
    allowed = (
        (np.abs(pos[:, None] - pos[None, :]) < window) | (pos[None, :] < g) | (pos[:, None] < g)
    )
    attention_mask = np.broadcast_to(allowed, (2, 37, 37)).astype("int32")
    expected = np.asarray(
        dense(x, padding_mask=mask, attention_mask=attention_mask, use_causal_mask=causal)
    )
    actual = np.asarray(local(x, padding_mask=mask, use_causal_mask=causal))
    assert_close(actual[0], expected[0], atol=1e-5)
    assert_close(actual[1, :30], expected[1, :30], atol=1e-5)


def _assert_cached_decoding_equals_full(layer, x):
    """Feeding `x` one token at a time through a key/value cache gives the full causal output."""
    full = np.asarray(layer(x, use_causal_mask=True))
    length = x.shape[1]
    cache = np.zeros((1, 2, length, 4, 8), "float32")  # (batch, k/v, length, heads, head_dim)
    steps = []
    for t in range(length):
        out, cache = layer(x[:, t : t + 1], use_causal_mask=True, cache=cache, cache_update_index=t)
        steps.append(np.asarray(out))
    assert_close(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_cached_decoding_falls_back_to_the_exact_band():
    x, local, _ = _pair(5)
    _assert_cached_decoding_equals_full(local, x[:1, :9])


@pytest.mark.parametrize("causal", [False, True])
def test_dense_fallback_keeps_the_global_tokens(causal):
    # An explicit all-ones attention_mask sends the layer to its dense path: the mask there must
    # still be band OR global, so the result equals the blocked path.
    x, local, _ = _pair(6, global_tokens=2)
    mask = _padding()
    blocked = np.asarray(local(x, padding_mask=mask, use_causal_mask=causal))
    ones = np.ones((2, 37, 37), "int32")
    dense = np.asarray(local(x, padding_mask=mask, attention_mask=ones, use_causal_mask=causal))
    assert_close(dense[0], blocked[0], atol=1e-5)
    assert_close(dense[1, :30], blocked[1, :30], atol=1e-5)


def test_cached_decoding_with_global_tokens_equals_the_blocked_layer():
    x, local, _ = _pair(3, global_tokens=2)
    _assert_cached_decoding_equals_full(local, x[:1, :11])


def test_global_tokens_are_self_attention_only():
    x = np.zeros((1, 10, 16), "float32")
    with pytest.raises(ValueError, match="self-attention only"):
        LocalMultiHeadAttention(2, sliding_window=4, global_tokens=1)(x, value=x)


def test_layer_harness():
    run_layer_test(
        LocalMultiHeadAttention,
        dict(num_heads=2, sliding_window=4, global_tokens=1),
        np.random.default_rng(1).normal(size=(2, 12, 16)).astype("float32"),
        call_kwargs=dict(use_causal_mask=True),
        expected_output_shape=(2, 12, 16),
    )


@pytest.mark.parametrize("window", [0, -3, None, 2.5, True])
def test_window_must_be_a_positive_int(window):
    with pytest.raises(ValueError, match="sliding_window"):
        LocalMultiHeadAttention(2, sliding_window=window)


def test_window_or_globals_larger_than_the_sequence():
    x = np.zeros((1, 10, 16), "float32")
    with pytest.raises(ValueError, match=r"sliding_window=16 is larger than the sequence \(10"):
        LocalMultiHeadAttention(2, sliding_window=16)(x)
    with pytest.raises(ValueError, match="global_tokens=11"):
        LocalMultiHeadAttention(2, sliding_window=4, global_tokens=11)(x)
    with pytest.raises(ValueError, match="global_tokens"):
        LocalMultiHeadAttention(2, sliding_window=4, global_tokens=-1)
