import numpy as np
import pytest
import torch

from tfzoo.layers import FeedForward, LayerNorm, RMSNorm, gelu, gelu_tanh, get_activation, silu
from tfzoo.testing import assert_close, run_layer_test

X = np.linspace(-6, 6, 101).astype("float32")


def test_activations_match_torch():
    t = torch.tensor(X, dtype=torch.float64)
    assert_close(gelu(X), torch.nn.functional.gelu(t).numpy(), atol=1e-6)
    assert_close(gelu_tanh(X), torch.nn.functional.gelu(t, approximate="tanh").numpy(), atol=1e-6)
    assert_close(silu(X), torch.nn.functional.silu(t).numpy(), atol=1e-6)
    assert get_activation("gelu_new") is gelu_tanh
    with pytest.raises(ValueError, match="Unknown activation"):
        get_activation("gleu")


def test_layer_norm_and_rms_norm_match_numpy():
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32")
    ln = LayerNorm(epsilon=1e-5)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    assert_close(ln(x), ref, atol=1e-5)
    rms = RMSNorm(epsilon=1e-6)
    assert_close(rms(x), x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-6), atol=1e-5)
    run_layer_test(LayerNorm, {"epsilon": 1e-5}, x)
    run_layer_test(RMSNorm, {"epsilon": 1e-6}, x)


@pytest.mark.parametrize(
    "activation, gated", [("gelu", False), ("relu", False), ("silu", True), ("gelu", True)]
)
def test_feed_forward_matches_numpy(activation, gated):
    x = np.random.default_rng(1).normal(size=(2, 3, 8)).astype("float32")
    ffn = FeedForward(16, activation=activation, gated=gated)
    out = ffn(x)
    act = {
        "gelu": lambda v: np.asarray(gelu(v)),
        "relu": lambda v: np.maximum(v, 0),
        "silu": lambda v: v / (1 + np.exp(-v)),
    }[activation]
    up = x @ ffn.intermediate_dense.kernel.numpy() + ffn.intermediate_dense.bias.numpy()
    if gated:
        gate = x @ ffn.gate_dense.kernel.numpy() + ffn.gate_dense.bias.numpy()
        hidden = act(gate) * up
    else:
        hidden = act(up)
    ref = hidden @ ffn.output_dense.kernel.numpy() + ffn.output_dense.bias.numpy()
    assert_close(out, ref, atol=1e-5)
    run_layer_test(
        FeedForward, {"intermediate_dim": 16, "activation": activation, "gated": gated}, x
    )
