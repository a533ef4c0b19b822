import numpy as np
import pytest

from tfzoo.layers import (
    ReversibleEmbedding,
    TokenAndPositionEmbedding,
    TransformerDecoder,
    TransformerEncoder,
)
from tfzoo.testing import assert_close, run_layer_test

X = np.random.default_rng(0).normal(size=(2, 6, 16)).astype("float32")
PAD = np.array([[1] * 6, [1] * 4 + [0] * 2], "int32")


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("norm", ["layer_norm", "rms_norm"])
def test_encoder_block(normalize_first, norm):
    kwargs = {
        "num_heads": 4,
        "intermediate_dim": 32,
        "normalize_first": normalize_first,
        "norm": norm,
    }
    block, out = run_layer_test(
        TransformerEncoder,
        kwargs,
        X,
        call_kwargs={"padding_mask": PAD},
        expected_output_shape=X.shape,
    )
    # Composition check: the block is exactly attention + FFN with residuals and norms.
    attn = block.self_attention(
        block.self_attention_norm(X) if normalize_first else X, padding_mask=PAD
    )
    h = X + attn if normalize_first else block.self_attention_norm(X + attn)
    ffn = block.feed_forward(block.feed_forward_norm(h) if normalize_first else h)
    ref = h + ffn if normalize_first else block.feed_forward_norm(h + ffn)
    assert_close(out, ref, atol=1e-5)
    # Padded tokens do not change real tokens' outputs.
    x2 = X.copy()
    x2[1, 4:] = 123.0
    assert_close(block(x2, padding_mask=PAD)[1, :4], np.asarray(out)[1, :4], atol=1e-5)


def test_decoder_block_is_causal_and_caches():
    block = TransformerDecoder(
        num_heads=4, intermediate_dim=32, normalize_first=True, num_key_value_heads=2
    )
    full = np.asarray(block(X))
    x2 = X.copy()
    x2[:, 4:] = 50.0  # changing the future must not change the past
    assert_close(np.asarray(block(x2))[:, :4], full[:, :4], atol=1e-5)
    cache = np.zeros((2, 2, 6, 2, 4), "float32")
    outs = []
    for i in range(6):
        y, cache = block(X[:, i : i + 1], self_attention_cache=cache, cache_update_index=i)
        outs.append(np.asarray(y))
    assert_close(np.concatenate(outs, 1), full, atol=1e-5)
    run_layer_test(TransformerDecoder, {"num_heads": 4, "intermediate_dim": 32}, X)


def test_decoder_cross_attention_with_precomputed_cache():
    block = TransformerDecoder(num_heads=2, intermediate_dim=32, use_cross_attention=True)
    memory = np.random.default_rng(1).normal(size=(2, 3, 16)).astype("float32")
    full = np.asarray(block(X, encoder_outputs=memory))
    cross = block.compute_cross_attention_cache(memory)
    cache = np.zeros((2, 2, 6, 2, 8), "float32")
    outs = []
    for i in range(6):
        y, cache, cross = block(
            X[:, i : i + 1],
            self_attention_cache=cache,
            cache_update_index=i,
            cross_attention_cache=cross,
        )
        outs.append(np.asarray(y))
    assert_close(np.concatenate(outs, 1), full, atol=1e-5)
    with pytest.raises(ValueError, match="encoder_outputs"):
        block(X)


def test_embeddings():
    emb = TokenAndPositionEmbedding(50, 8, 16, num_segments=2)
    ids = np.array([[1, 2, 3]], "int32")
    seg = np.array([[0, 0, 1]], "int32")
    out = np.asarray(emb(ids, segment_ids=seg))
    ref = (
        emb.token_embedding.embeddings.numpy()[ids[0]]
        + emb.position_embedding.position_embeddings.numpy()[:3]
        + emb.segment_embedding.embeddings.numpy()[seg[0]]
    )
    assert_close(out[0], ref, atol=1e-6)
    with pytest.raises(ValueError, match="segment_ids"):
        emb(ids)
    with pytest.raises(ValueError, match="max_sequence_length=8"):
        emb(np.ones((1, 9), "int32"), segment_ids=np.zeros((1, 9), "int32"))


def test_reversible_embedding_is_tied_and_checks_ids():
    emb = ReversibleEmbedding(20, 4)
    h = np.random.default_rng(0).normal(size=(1, 2, 4)).astype("float32")
    assert_close(emb(h, reverse=True), h @ emb.embeddings.numpy().T, atol=1e-6)
    with pytest.raises(ValueError, match=r"outside \[0, 20\)"):
        emb(np.array([[3, 20]], "int32"))
    with pytest.raises(ValueError, match="integer"):
        emb(np.array([[1.0, 2.0]], "float32"))
