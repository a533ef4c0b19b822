"""Magnitude pruning of tfzoo models: schedules, masks, fit, `.keras` round trip, strip, errors."""

import keras
import numpy as np
import pytest

import tfzoo
from tfzoo.compress.pruning import (
    PrunedModel,
    magnitude_mask,
    prune_low_magnitude,
    sparsity_report,
    strip_pruning,
)
from tfzoo.compress.schedules import ConstantSparsity, PolynomialDecay, schedule_from_config
from tfzoo.testing import randomize_weights, tiny_model, tiny_token_data


def run(model, x):
    """An eager call (no `predict` tracing: keeps the test fast on a shared CPU)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def tiny_classifier():
    # Distinct random kernels: magnitudes would tie with the zoo's shared initializer.
    return randomize_weights(tiny_model("bert", "classification", vocabulary_size=100))


def batch(n=16, seq=8, seed=0):
    rng = np.random.default_rng(seed)
    return tiny_token_data(n, seq, vocabulary_size=100, seed=rng), rng.integers(0, 2, (n,))


def compile_(model, **kwargs):
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **kwargs,
    )


# --- schedules ---------------------------------------------------------------------------------
def test_constant_sparsity_steps():
    s = ConstantSparsity(0.5, begin_step=10, end_step=30, frequency=10)
    assert [s(step)[0] for step in (0, 9, 10, 15, 20, 30, 40)] == [
        False,
        False,
        True,
        False,
        True,
        True,
        False,
    ]
    assert s(10)[1] == pytest.approx(0.5)
    assert ConstantSparsity(0.5, 0, frequency=1)(10**6)[0]  # end_step=-1: never ends


def test_polynomial_decay_values():
    s = PolynomialDecay(0.1, 0.9, begin_step=0, end_step=100, power=3, frequency=10)
    assert s(0) == (True, pytest.approx(0.1))
    assert s(100) == (True, pytest.approx(0.9))
    assert s(50)[1] == pytest.approx(0.9 + (0.1 - 0.9) * 0.5**3, rel=1e-6)
    assert s(55)[0] is False and s(200) == (False, pytest.approx(0.9))
    assert schedule_from_config(s.get_config()) == s


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConstantSparsity(1.0, 0), "target_sparsity"),
        (lambda: ConstantSparsity(-0.1, 0), "target_sparsity"),
        (lambda: ConstantSparsity(0.5, 10, end_step=5), "before `begin_step`"),
        (lambda: ConstantSparsity(0.5, 0, frequency=0), "frequency"),
        (lambda: PolynomialDecay(0.0, 1.5, 0, 10), "final_sparsity"),
        (lambda: PolynomialDecay(0.0, 0.5, 10, 10), "after `begin_step`"),
        (lambda: PolynomialDecay(0.0, 0.5, 0, 10, frequency=-1), "frequency"),
        (lambda: schedule_from_config({"class_name": "Nope", "config": {}}), "Known schedules"),
    ],
)
def test_schedule_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- masks -------------------------------------------------------------------------------------
def test_magnitude_mask_matches_numpy_reference():
    w = np.random.default_rng(1).normal(size=(8, 12)).astype("float32")
    for sparsity in (0.0, 0.25, 0.5, 0.9):
        mask = magnitude_mask(w, sparsity)
        k = max(int(np.round(w.size * (1 - sparsity))), 1)
        kept = np.argsort(-np.abs(w).reshape(-1))[:k]
        expected = np.zeros(w.size, "float32")
        expected[kept] = 1
        np.testing.assert_array_equal(mask.reshape(-1), expected)


def test_block_mask_keeps_whole_blocks():
    w = np.random.default_rng(2).normal(size=(8, 8)).astype("float32")
    for block, pooling, reduce in (((1, 4), "max", np.max), ((4, 1), "avg", np.mean)):
        mask = magnitude_mask(w, 0.5, block, pooling)
        bh, bw = block
        blocks = mask.reshape(8 // bh, bh, 8 // bw, bw)
        assert np.all(blocks.min(axis=(1, 3)) == blocks.max(axis=(1, 3)))  # constant per block
        assert mask.mean() == 0.5
        scores = reduce(np.abs(w).reshape(8 // bh, bh, 8 // bw, bw), axis=(1, 3))
        kept = blocks.max(axis=(1, 3)) == 1
        assert scores[kept].min() >= scores[~kept].max()
    with pytest.raises(ValueError, match="does not divide"):
        magnitude_mask(np.ones((6, 6)), 0.5, (1, 4))


# --- wrapping ----------------------------------------------------------------------------------
def test_default_targets_are_the_transformer_blocks():
    model = tiny_classifier()
    pruned = prune_low_magnitude(model, ConstantSparsity(0.5, 0))
    assert pruned.target_names == [
        "transformer_layer_0/self_attention/query",
        "transformer_layer_0/self_attention/key",
        "transformer_layer_0/self_attention/value",
        "transformer_layer_0/self_attention/attention_output",
        "transformer_layer_0/feed_forward/intermediate",
        "transformer_layer_0/feed_forward/output",
    ]
    every = prune_low_magnitude(tiny_classifier(), ConstantSparsity(0.5, 0), targets="all")
    assert {"pooler", "logits"} <= set(every.target_names)
    assert not any("embedding" in name for name in every.target_names)
    ffn = prune_low_magnitude(
        tiny_classifier(), ConstantSparsity(0.5, 0), targets=["*/feed_forward/*", "pooler"]
    )
    assert ffn.target_names == [
        "transformer_layer_0/feed_forward/intermediate",
        "transformer_layer_0/feed_forward/output",
        "pooler",
    ]


def test_bad_input():
    schedule = ConstantSparsity(0.5, 0)
    model = tiny_classifier()
    with pytest.raises(ValueError, match="Candidates.*pooler"):
        prune_low_magnitude(model, schedule, targets=["transformer_layer_0/attention/query"])
    with pytest.raises(ValueError, match="scope"):
        prune_low_magnitude(model, schedule, scope="model")
    with pytest.raises(ValueError, match="block_size"):
        prune_low_magnitude(model, schedule, block_size=(0, 4))
    with pytest.raises(ValueError, match="does not divide"):
        prune_low_magnitude(model, schedule, block_size=(1, 3))
    with pytest.raises(ValueError, match="ConstantSparsity or PolynomialDecay"):
        prune_low_magnitude(model, 0.5)
    with pytest.raises(ValueError, match="not being pruned"):
        strip_pruning(model)
    pruned = prune_low_magnitude(model, schedule)
    with pytest.raises(ValueError, match="already being pruned"):
        prune_low_magnitude(pruned, schedule)
    with pytest.raises(ValueError, match="already being pruned"):
        prune_low_magnitude(model, schedule)  # the model inside a PrunedModel
    stripped = strip_pruning(pruned)
    prune_low_magnitude(stripped, schedule)  # allowed again after strip


def test_global_scope_uses_one_threshold():
    model = tiny_classifier()
    pruned = prune_low_magnitude(model, ConstantSparsity(0.6, 0), scope="global")
    layers = tfzoo.compress.pruning.prunable_layers(model)
    before = {n: np.abs(keras.ops.convert_to_numpy(layers[n].kernel)) for n in pruned.target_names}
    pruned.update_masks(0.6)
    everything = np.concatenate([v.reshape(-1) for v in before.values()])
    k = int(np.round(np.float32(everything.size) * np.float32(0.4)))
    threshold = np.sort(everything)[::-1][k - 1]
    report = sparsity_report(pruned)
    for name, magnitude in before.items():
        kernel = keras.ops.convert_to_numpy(layers[name].kernel)
        np.testing.assert_array_equal(kernel != 0, magnitude >= threshold)
        assert report[name] == pytest.approx(np.mean(magnitude < threshold))
    total = sum(np.sum(keras.ops.convert_to_numpy(layers[n].kernel) == 0) for n in before)
    assert total == everything.size - k
    assert len({round(v, 3) for v in report.values()}) > 1  # layers differ, unlike scope="layer"


# --- fit, save, strip --------------------------------------------------------------------------
def test_fit_prunes_on_schedule_and_zeros_stay(tmp_path):
    model = tiny_classifier()
    x, y = batch()
    schedule = PolynomialDecay(0.0, 0.75, begin_step=2, end_step=6, frequency=2)
    pruned = prune_low_magnitude(model, schedule, block_size=(1, 4))
    compile_(pruned)
    history = pruned.fit(x, y, batch_size=2, epochs=1, verbose=0)  # 8 steps, compiled
    assert np.isfinite(history.history["loss"][0])
    assert pruned.pruning_step == 8
    report = sparsity_report(pruned)
    assert all(v == pytest.approx(0.75) for v in report.values()), report
    layers = tfzoo.compress.pruning.prunable_layers(model)
    for name, mask in zip(pruned.target_names, pruned.pruning_state.masks):
        kernel = keras.ops.convert_to_numpy(layers[name].kernel)
        mask = keras.ops.convert_to_numpy(mask)
        np.testing.assert_array_equal(kernel[mask == 0], 0.0)
        assert np.all(kernel[mask == 1] != 0)

    # .keras round trip: same class, masks, step and outputs.
    path = tmp_path / "pruned.keras"
    pruned.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, PrunedModel) and reloaded.pruning_step == 8
    assert reloaded.schedule == schedule and reloaded.block_size == (1, 4)
    np.testing.assert_array_equal(run(reloaded, x), run(pruned, x))
    for a, b in zip(reloaded.pruning_state.masks, pruned.pruning_state.masks):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))

    # Further training (no more pruning steps, lr > 0): pruned weights stay exactly zero.
    before = sparsity_report(reloaded)
    compile_(reloaded, run_eagerly=True)
    reloaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert reloaded.pruning_step == 12
    assert sparsity_report(reloaded) == before

    # Strip: the original class, no mask variables, zeros persist through .keras.
    stripped = strip_pruning(reloaded)
    assert type(stripped) is type(model)
    assert not any("mask" in w.path for w in stripped.weights)
    assert len(stripped.weights) == len(model.weights)
    stripped.save(tmp_path / "stripped.keras")
    again = keras.saving.load_model(tmp_path / "stripped.keras")
    assert type(again) is type(model)
    after = sparsity_report(again)
    for name, value in before.items():
        assert after[name] == value
    np.testing.assert_allclose(run(again, x), run(reloaded, x), atol=1e-6)
