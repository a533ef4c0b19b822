"""create_optimizer / WarmupDecay: schedule values, weight-decay exclusions, clipping, accumulation."""

import math

import keras
import numpy as np
import pytest

from tfzoo.testing import tiny_model
from tfzoo.train import WarmupDecay, create_optimizer, decays_weight


def test_linear_schedule_values():
    s = WarmupDecay(1e-3, decay_steps=110, warmup_steps=10, decay="linear")
    expected = {0: 1e-4, 4: 5e-4, 9: 1e-3, 10: 1e-3, 60: 5e-4, 110: 0.0, 500: 0.0}
    for step, value in expected.items():
        assert float(s(step)) == pytest.approx(value, abs=1e-9), step


def test_cosine_schedule_values_and_floor():
    s = WarmupDecay(2e-3, decay_steps=100, warmup_steps=0, decay="cosine", end_learning_rate=1e-4)
    for step in (0, 25, 50, 75, 100, 150):
        progress = min(step / 100, 1.0)
        value = 1e-4 + (2e-3 - 1e-4) * 0.5 * (1 + math.cos(math.pi * progress))
        assert float(s(step)) == pytest.approx(value, rel=1e-5), step


def test_schedule_and_optimizer_serialise():
    s = WarmupDecay(3e-4, decay_steps=50, warmup_steps=5, decay="cosine")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert isinstance(restored, WarmupDecay)
    for step in (0, 3, 5, 20, 50):
        assert float(restored(step)) == pytest.approx(float(s(step)))
    optimizer = create_optimizer(3e-4, 50, 5, decay="cosine")
    clone = type(optimizer).from_config(optimizer.get_config())
    assert float(clone.learning_rate) == pytest.approx(float(optimizer.learning_rate))
    assert clone.global_clipnorm == 1.0 and clone.weight_decay == pytest.approx(0.01)


def test_weight_decay_skips_bias_and_norms_but_decays_kernels():
    model = tiny_model("bert", "masked_lm", vocabulary_size=50, max_sequence_length=8)
    lr, wd = 0.1, 0.5
    optimizer = create_optimizer(lr, 10, 0, decay="constant", weight_decay=wd, clipnorm=None)
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    # Zero gradients: Adam's step is exactly 0, so only the decoupled decay moves a weight.
    optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in variables])
    names = set()
    for v, b in zip(variables, before):
        names.add(v.name)
        if v.name in ("bias", "gamma", "beta"):
            np.testing.assert_array_equal(v.numpy(), b, err_msg=v.path)
            assert not decays_weight(optimizer, v)
        else:  # kernel, embeddings
            np.testing.assert_allclose(v.numpy(), b * (1 - lr * wd), rtol=1e-6, err_msg=v.path)
            assert decays_weight(optimizer, v)
    assert {"bias", "gamma", "beta", "kernel", "embeddings"} <= names
    no_embed = create_optimizer(lr, 10, weight_decay=wd, exclude_embeddings=True)
    table = model.backbone.embeddings.token_embedding.embeddings
    assert not decays_weight(no_embed, table)


def test_global_norm_clipping():
    optimizer = create_optimizer(1e-3, 10, clipnorm=1.0)
    grads = [np.full((3,), 4.0, "float32"), np.full((2, 2), -3.0, "float32")]
    clipped = optimizer._clip_gradients(grads)
    norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in clipped))
    assert norm == pytest.approx(1.0, rel=1e-5)
    # Direction kept: one global factor for every tensor.
    ratio = float(clipped[0][0]) / 4.0
    np.testing.assert_allclose(clipped[1], grads[1] * ratio, rtol=1e-5)


def _dense_model():
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3)]
    )
    return model


def test_gradient_accumulation_equals_a_bigger_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 3, 16)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    results = []
    for batch_size, accumulation in ((8, None), (4, 2)):
        model = _dense_model()
        # 2 updates in both runs; a small clipnorm so clipping of the averaged gradient matters.
        # A schedule that changes at every update: Keras 3.15 alone would evaluate it per batch.
        optimizer = create_optimizer(
            1e-2,
            num_train_steps=3,
            warmup_steps=2,
            clipnorm=0.05,
            gradient_accumulation_steps=accumulation,
        )
        model.compile(optimizer=optimizer, loss=loss)
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        # With accumulation, `iterations` counts updates (batches // k): 2 in both runs.
        assert int(optimizer.iterations.numpy()) == 2
        results.append([w.numpy() for w in model.weights])
    initial = [w.numpy() for w in _dense_model().weights]
    assert not np.allclose(results[0][0], initial[0])
    for big, accumulated in zip(*results):
        np.testing.assert_allclose(accumulated, big, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="warmup_steps"):
        create_optimizer(1e-3, num_train_steps=10, warmup_steps=20)
    with pytest.raises(ValueError, match="Unknown decay"):
        create_optimizer(1e-3, 10, decay="step")
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        create_optimizer(1e-3, 10, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="num_train_steps|decay_steps"):
        create_optimizer(1e-3, 0)
    with pytest.raises(ValueError, match="learning_rate"):
        create_optimizer(-1.0, 10)
    with pytest.raises(ValueError, match="clipnorm"):
        create_optimizer(1e-3, 10, clipnorm=0)
