"""Parity with tensorflow-model-optimization (tfmot 0.8.1 on tf_keras), the reference.

tfmot refuses Keras 3 models, so it prunes an equivalent tf_keras model: one Dense layer per
pruned tfzoo kernel, holding that kernel's 2-D view. Both are stepped through the same
schedule with a zero learning rate (the kernels change only by masking), and the schedules'
values and the masks must agree exactly at every step.
"""

import keras
import numpy as np
import pytest

from tfzoo.compress.pruning import (
    _matrix_shape,
    magnitude_mask,
    prunable_layers,
    prune_low_magnitude,
)
from tfzoo.compress.schedules import ConstantSparsity, PolynomialDecay
from tfzoo.testing import randomize_weights, tiny_model, tiny_token_data


def polynomial_decay(initial_sparsity, final_sparsity, begin_step, end_step, power, frequency):
    """A `PolynomialDecay` spec for `both`: its arguments, in the constructor's order."""
    return {"kind": "PolynomialDecay", **locals()}


SCHEDULES = [
    dict(kind="ConstantSparsity", target_sparsity=0.5, begin_step=3, end_step=40, frequency=4),
    dict(kind="ConstantSparsity", target_sparsity=0.8, begin_step=0, frequency=1),
    polynomial_decay(0.1, 0.9, begin_step=5, end_step=77, power=3, frequency=3),
    polynomial_decay(0.0, 0.7, begin_step=0, end_step=30, power=2, frequency=1),
    polynomial_decay(0.3, 0.33, begin_step=1, end_step=1000, power=1.5, frequency=7),
]


@pytest.fixture(scope="module")
def tfmot():
    import tensorflow_model_optimization as tfmot
    import tf_keras  # noqa: F401  (tfmot needs it; importable next to Keras 3)

    return tfmot


def both(spec, tfmot):
    spec = dict(spec)
    kind = spec.pop("kind")
    ours = {"ConstantSparsity": ConstantSparsity, "PolynomialDecay": PolynomialDecay}[kind]
    return ours(**spec), getattr(tfmot.sparsity.keras, kind)(**spec)


@pytest.mark.parametrize("spec", SCHEDULES)
def test_schedules_match_tfmot_at_every_step(spec, tfmot):
    import tensorflow as tf

    ours, theirs = both(spec, tfmot)
    for step in range(0, 140):
        should, sparsity = theirs(tf.constant(step, tf.int64))
        assert ours(step) == (bool(should.numpy()), float(np.float32(sparsity.numpy()))), step


@pytest.mark.parametrize(
    "block, pooling",
    [
        ((1, 1), "AVG"),
        ((1, 4), "AVG"),
        ((4, 1), "AVG"),
        ((1, 4), "MAX"),
        ((4, 1), "MAX"),
        ((2, 2), "AVG"),
    ],
)
def test_masks_match_tfmot(block, pooling, tfmot):
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.sparsity.keras import pruning_impl

    rng = np.random.default_rng(3)
    for shape, sparsity in (((16, 32), 0.5), ((32, 16), 0.13), ((64, 8), 0.9), ((8, 8), 0.0)):
        w = rng.normal(size=shape).astype("float32")
        w[0, :4] = w[1, :4]  # ties
        weight = tf.Variable(w)
        pruning = pruning_impl.Pruning(
            training_step_fn=lambda: tf.constant(1, tf.int64),
            pruning_vars=[(weight, tf.Variable(np.ones(shape, "float32")), tf.Variable(0.0))],
            pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(sparsity, 0, frequency=1),
            block_size=block,
            block_pooling_type=pooling,
        )
        _, expected = pruning._maybe_update_block_mask(weight)
        ours = magnitude_mask(w, sparsity, block, pooling.lower())
        np.testing.assert_array_equal(ours, expected.numpy(), err_msg=f"{shape} {sparsity}")


@pytest.mark.parametrize("block", [(1, 1), pytest.param((1, 4), marks=pytest.mark.slow)])
def test_fit_masks_match_tfmot_step_by_step(block, tfmot):
    import tf_keras

    spec = polynomial_decay(0.2, 0.8, begin_step=2, end_step=8, power=3, frequency=2)
    ours_schedule, tfmot_schedule = both(spec, tfmot)
    steps = 10

    # tfzoo: a tiny BERT with distinct random kernels.
    rng = np.random.default_rng(0)
    model = randomize_weights(
        tiny_model("bert", "classification", vocabulary_size=50, max_sequence_length=8), seed=rng
    )
    pruned = prune_low_magnitude(model, ours_schedule, block_size=block)
    layers = prunable_layers(model)
    matrices = [_matrix_shape(layers[n]) for n in pruned.target_names]
    kernels = [
        keras.ops.convert_to_numpy(layers[n].kernel).reshape(m)
        for n, m in zip(pruned.target_names, matrices)
    ]

    # tf_keras: one Dense per kernel, same 2-D kernel, pruned by tfmot.
    inputs = [tf_keras.Input((m[0],), name=f"in_{i}") for i, m in enumerate(matrices)]
    outs = [
        tf_keras.layers.Dense(m[1], use_bias=False, name=f"dense_{i}")(x)
        for i, (x, m) in enumerate(zip(inputs, matrices))
    ]
    reference = tf_keras.Model(inputs, tf_keras.layers.Concatenate()(outs))
    for i, kernel in enumerate(kernels):
        reference.get_layer(f"dense_{i}").set_weights([kernel])
    reference = tfmot.sparsity.keras.prune_low_magnitude(
        reference, pruning_schedule=tfmot_schedule, block_size=block
    )
    reference.compile(tf_keras.optimizers.SGD(0.0), "mse")
    wrappers = [reference.get_layer(f"prune_low_magnitude_dense_{i}") for i in range(len(kernels))]

    class RecordTf(tf_keras.callbacks.Callback):
        masks = []

        def on_train_batch_end(self, batch, logs=None):
            self.masks.append([w.pruning_vars[0][1].numpy() for w in wrappers])

    x_ref = [np.ones((steps, m[0]), "float32") for m in matrices]
    y_ref = np.zeros((steps, sum(m[1] for m in matrices)), "float32")
    reference.fit(
        x_ref,
        y_ref,
        batch_size=1,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), RecordTf()],
    )

    class Record(keras.callbacks.Callback):
        masks = []

        def on_train_batch_end(self, batch, logs=None):
            self.masks.append(
                [
                    keras.ops.convert_to_numpy(m).reshape(s)
                    for m, s in zip(pruned.pruning_state.masks, matrices)
                ]
            )

    pruned.compile(
        keras.optimizers.SGD(0.0),
        keras.losses.SparseCategoricalCrossentropy(True),
        run_eagerly=True,
    )
    x = tiny_token_data(steps, 8, vocabulary_size=50, seed=rng)
    pruned.fit(x, np.zeros(steps), batch_size=1, epochs=1, verbose=0, callbacks=[Record()])

    assert len(Record.masks) == len(RecordTf.masks) == steps
    for step, (ours, theirs) in enumerate(zip(Record.masks, RecordTf.masks), start=1):
        for name, a, b in zip(pruned.target_names, ours, theirs):
            np.testing.assert_array_equal(a, b, err_msg=f"step {step} {name}")
    final = 1.0 - np.mean(np.concatenate([m.reshape(-1) for m in Record.masks[-1]]))
    assert final == pytest.approx(0.8, abs=0.01)
