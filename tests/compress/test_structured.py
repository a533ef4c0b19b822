"""Structured pruning: removed heads and neurons, exact outputs, parameter counts, reload, fit."""

import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfzoo.compress.pruning import prune_low_magnitude
from tfzoo.compress.schedules import ConstantSparsity
from tfzoo.compress.structured import prune_structured
from tfzoo.testing import SMALL_TEXT_SIZES, randomize_weights, tiny_model, tiny_token_data

SMALL = dict(SMALL_TEXT_SIZES, num_heads=4, vocabulary_size=100, dropout=0.0)


def run(model, x):
    """An eager call (no `predict` tracing: keeps the test fast on a shared CPU)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def randomize(model):
    """Distinct random weights (the zoo's shared initializer makes same-shaped kernels equal)."""
    return randomize_weights(model, stddev=0.1, suffixes=("kernel", "bias"))


def bert_inputs(n=3, seq=8, seed=0):
    inputs = tiny_token_data(n, seq, vocabulary_size=100, seed=seed)
    inputs["padding_mask"][0, 6:] = 0
    return inputs


def zero_units(backbone, heads_per_layer, neurons_per_layer, group=1):
    """Zeroes whole heads (q/k/v/o slices) and neurons (in/gate columns, out rows) in place."""
    for block, heads, neurons in zip(
        backbone.transformer_layers, heads_per_layer, neurons_per_layer
    ):
        att, ffn = block.self_attention, block.feed_forward
        q_heads = [h * group + j for h in heads for j in range(group)]
        for dense, idx in (
            (att.query_dense, q_heads),
            (att.key_dense, heads),
            (att.value_dense, heads),
        ):
            k = keras.ops.convert_to_numpy(dense.kernel).copy()
            k[:, idx, :] = 0
            dense.kernel.assign(k)
        o = keras.ops.convert_to_numpy(att.output_dense.kernel).copy()
        o[q_heads] = 0
        att.output_dense.kernel.assign(o)
        for dense in (ffn.intermediate_dense, ffn.gate_dense):
            if dense is not None:
                k = keras.ops.convert_to_numpy(dense.kernel).copy()
                k[:, neurons] = 0
                dense.kernel.assign(k)
        k = keras.ops.convert_to_numpy(ffn.output_dense.kernel).copy()
        k[neurons] = 0
        ffn.output_dense.kernel.assign(k)


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.weights)


def test_bert_exact_when_removed_units_were_zero(tmp_path):
    model = randomize(tiny_model("bert", "classification", num_classes=3, **SMALL))
    zero_units(model.backbone, [[1], [3]], [list(range(0, 38, 2)), list(range(5, 24))])
    x = bert_inputs()
    expected = run(model, x)
    small = prune_structured(model, heads_fraction=0.25, ffn_fraction=0.3)  # 1 head, 19 neurons
    assert type(small) is type(model)
    b = small.backbone
    assert (b.num_heads, b.head_dim, b.intermediate_dim) == (3, 8, 45)
    np.testing.assert_allclose(run(small, x), expected, atol=1e-5)
    # Parameters: per layer 1 head of q/k/v (kernel + bias) and o, and 19 neurons (in + bias, out).
    hidden, head_dim = 32, 8
    per_layer = 3 * (hidden * head_dim + head_dim) + head_dim * hidden + 19 * (hidden + 1 + hidden)
    assert count(model) - count(small) == 2 * per_layer
    # .keras round trip.
    small.save(tmp_path / "small.keras")
    again = keras.saving.load_model(tmp_path / "small.keras")
    assert again.backbone.num_heads == 3 and again.backbone.intermediate_dim == 45
    np.testing.assert_allclose(run(again, x), expected, atol=1e-5)
    # fit works on the shrunk model.
    small.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True
    )
    history = small.fit(x, np.array([0, 1, 2]), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_gpt_causal_lm_exact_with_cache():
    model = randomize(tiny_model("gpt", "causal_lm", **SMALL))
    zero_units(model.backbone, [[0, 2], [1, 3]], [list(range(32)), list(range(32, 64))])
    x = {
        "token_ids": np.array([[5, 7, 9, 11, 13]], "int32"),
        "padding_mask": np.ones((1, 5), "int32"),
    }
    expected = run(model, x)
    small = prune_structured(model, heads_fraction=0.5, ffn_fraction=0.5)
    assert small.backbone.num_heads == 2 and small.backbone.intermediate_dim == 32
    np.testing.assert_allclose(run(small, x), expected, atol=1e-5)
    assert small.init_cache(1, 8).shape == (1, 2, 2, 8, 2, 8)
    logits, _, _ = small.call_with_cache(x["token_ids"], small.init_cache(1, 8), 0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), expected, atol=1e-5)


def test_llama_gqa_removes_whole_groups():
    model = randomize(
        tiny_model(
            "llama",
            "causal_lm",
            num_key_value_heads=2,
            **{k: v for k, v in SMALL.items() if k != "dropout"},
        )
    )
    assert model.backbone.num_heads == 4
    zero_units(model.backbone, [[1], [0]], [list(range(10)), list(range(50, 60))], group=2)
    x = {"token_ids": np.array([[1, 2, 3, 4]], "int32"), "padding_mask": np.ones((1, 4), "int32")}
    expected = run(model, x)
    small = prune_structured(model, heads_fraction=0.5, ffn_fraction=10 / 64)
    b = small.backbone
    assert (b.num_heads, b.num_key_value_heads, b.intermediate_dim) == (2, 1, 54)
    np.testing.assert_allclose(run(small, x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="removes 0 of 1 key/value groups"):
        prune_structured(small, heads_fraction=0.3, ffn_fraction=0.0)  # multi-query now


def test_taylor_importance_removes_units_without_effect():
    model = randomize(tiny_model("bert", "classification", num_classes=2, **SMALL))
    zero_units(model.backbone, [[2], [0]], [list(range(19)), list(range(19))])
    x = bert_inputs(n=8)
    y = np.arange(8) % 2
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    expected = run(model, x)
    with pytest.raises(ValueError, match="needs a loss"):
        prune_structured(model, importance="taylor", data=data)
    small = prune_structured(
        model,
        0.25,
        0.3,
        importance="taylor",
        data=data,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    np.testing.assert_allclose(run(small, x), expected, atol=1e-5)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    compiled = prune_structured(model, 0.25, 0.3, importance="taylor", data=data)
    np.testing.assert_allclose(run(compiled, x), expected, atol=1e-5)


def test_bad_input():
    model = tiny_model("bert", "classification", num_classes=2, **SMALL)
    with pytest.raises(ValueError, match="heads_fraction"):
        prune_structured(model, heads_fraction=1.0)
    with pytest.raises(ValueError, match="removes 0 of 4 heads"):
        prune_structured(model, heads_fraction=0.1)
    with pytest.raises(ValueError, match="importance"):
        prune_structured(model, importance="random")
    with pytest.raises(ValueError, match="needs `data`"):
        prune_structured(model, importance="taylor")
    with pytest.raises(ValueError, match="strip_pruning"):
        prune_structured(prune_low_magnitude(model, ConstantSparsity(0.5, 0)))
    with pytest.raises(ValueError, match="BERT/GPT/Llama"):
        prune_structured(keras.Sequential([keras.layers.Dense(2)]))


def test_shrunk_model_is_faster():
    """Prints latency of a tf.function call, original vs shrunk (not asserted: shared CPU)."""
    config = dict(SMALL, num_layers=2, hidden_dim=64, intermediate_dim=256, max_sequence_length=128)
    model = tiny_model("bert", **config)
    small = prune_structured(model, heads_fraction=0.5, ffn_fraction=0.5)
    x = bert_inputs(n=4, seq=128)
    x = {k: tf.constant(v) for k, v in x.items()}
    timings = {}
    for name, m in (("original", model), ("shrunk", small)):
        fn = tf.function(lambda inputs, m=m: m(inputs))
        fn(x)
        best = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(10):
                fn(x)["sequence_output"].numpy()
            best.append((time.perf_counter() - start) / 10)
        timings[name] = min(best) * 1e3
    print(
        f"\nlatency (batch 4, seq 128, tf.function): original {timings['original']:.2f} ms, "
        f"shrunk {timings['shrunk']:.2f} ms, params {count(model)} -> {count(small)}"
    )
    assert count(small) < count(model)
