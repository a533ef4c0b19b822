import numpy as np
import pytest
import torch

from tfzoo.layers import (
    AlibiBias,
    PositionEmbedding,
    RelativePositionBias,
    RotaryEmbedding,
    SinusoidalPositionEncoding,
    alibi_slopes,
)
from tfzoo.testing import assert_close, run_layer_test


def test_sinusoidal_matches_paper_formula():
    d, n = 16, 12
    out = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, n, d), "float32")))[0]
    pos = np.arange(n)[:, None]
    i = np.arange(d // 2)[None]
    angle = pos / 10000 ** (2 * i / d)
    ref = np.zeros((n, d))
    ref[:, 0::2], ref[:, 1::2] = np.sin(angle), np.cos(angle)
    assert_close(out, ref, atol=1e-5)
    shifted = np.asarray(
        SinusoidalPositionEncoding()(np.zeros((1, 2, d), "float32"), start_index=5)
    )[0]
    assert_close(shifted, ref[5:7], atol=1e-5)


def test_learned_positions_slice_the_table():
    layer = PositionEmbedding(sequence_length=10)
    out = np.asarray(layer(np.zeros((2, 4, 8), "float32"), start_index=3))
    assert_close(out[0], layer.position_embeddings.numpy()[3:7])
    with pytest.raises(ValueError, match="max_sequence_length=10"):
        layer(np.zeros((1, 11, 8), "float32"))
    run_layer_test(PositionEmbedding, {"sequence_length": 10}, np.zeros((2, 4, 8), "float32"))


@pytest.mark.parametrize("scaling", [1.0, 4.0])
def test_rope_matches_hugging_face_llama(scaling):
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3, 8)).astype("float32")  # (batch, seq, heads, dim)
    ours = np.asarray(RotaryEmbedding(10000, scaling_factor=scaling)(x, start_index=2))
    pos = (np.arange(2, 7) / scaling)[:, None]
    inv = 1.0 / 10000 ** (np.arange(0, 8, 2) / 8)
    emb = np.concatenate([pos * inv, pos * inv], -1)
    cos, sin = torch.tensor(np.cos(emb))[None], torch.tensor(np.sin(emb))[None]
    xt = torch.tensor(x.transpose(0, 2, 1, 3), dtype=torch.float64)  # HF layout (b, h, s, d)
    ref, _ = apply_rotary_pos_emb(xt, xt, cos, sin)
    assert_close(ours, ref.numpy().transpose(0, 2, 1, 3), atol=1e-5)


def test_t5_buckets_match_hugging_face():
    from transformers.models.t5.modeling_t5 import T5Attention

    relative = np.arange(-300, 300)[None, :]
    for bidirectional in (True, False):
        layer = RelativePositionBias(
            num_heads=2, num_buckets=32, max_distance=128, bidirectional=bidirectional
        )
        ours = np.asarray(layer.relative_position_bucket(relative.astype("int32")))
        ref = T5Attention._relative_position_bucket(
            torch.tensor(relative), bidirectional=bidirectional, num_buckets=32, max_distance=128
        ).numpy()
        np.testing.assert_array_equal(ours, ref)


def test_relative_bias_shape_and_lookup():
    layer = RelativePositionBias(num_heads=3)
    bias = np.asarray(layer(np.zeros((1, 4, 8)), np.zeros((1, 6, 8))))
    assert bias.shape == (1, 3, 4, 6)
    table = layer.embeddings.numpy()
    buckets = np.asarray(layer.relative_position_bucket(np.arange(6)[None] - np.arange(4)[:, None]))
    assert_close(bias[0], table[buckets].transpose(2, 0, 1), atol=1e-6)


def test_alibi_slopes_and_bias():
    np.testing.assert_allclose(alibi_slopes(8), [2.0 ** -(i + 1) for i in range(8)])
    assert len(alibi_slopes(12)) == 12
    bias = np.asarray(AlibiBias(8)(np.zeros((1, 4, 2)), query_start=0))
    dist = np.abs(np.arange(4)[None] - np.arange(4)[:, None])
    assert_close(bias[0, 0], -0.5 * dist)
