"""Knowledge distillation: loss math against NumPy and keras.distillation, training, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfzoo.testing import tiny_model, tiny_token_data
from tfzoo.train import Distiller, distill, hard_label_loss, soft_target_loss

SEQ = 8


def _np_soft(t, s, temperature, w=None):
    def log_softmax(z):
        z = z / temperature
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    lp, lq = log_softmax(t), log_softmax(s)
    kl = (np.exp(lp) * (lp - lq)).sum(-1)
    mean = kl.mean() if w is None else (kl * w).sum() / w.sum()
    return temperature**2 * mean


def test_soft_target_loss_matches_numpy_and_keras_distillation():
    rng = np.random.default_rng(0)
    t, s = rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3
    for temperature in (1.0, 2.0, 4.0):
        ours = float(soft_target_loss(t, s, temperature))
        np.testing.assert_allclose(ours, _np_soft(t, s, temperature), rtol=1e-5)
        # keras.distillation's own implementation (probabilities clipped at 1e-7). The loss
        # must be passed as a KLDivergence *instance*: with the default loss="kl_divergence",
        # Keras 3.15 resolves a plain function, misses its isinstance check and applies the KL
        # to the scaled logits instead of probabilities (checked: 15.95 vs 2.90 here at T=1).
        reference = keras.distillation.LogitsDistillation(
            temperature=temperature, loss=keras.losses.KLDivergence()
        )
        theirs = float(reference.compute_loss(t.astype("float32"), s.astype("float32")))
        np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert float(soft_target_loss(t, t, 2.0)) == pytest.approx(0.0, abs=1e-6)


def test_weighted_token_level_losses_match_numpy():
    rng = np.random.default_rng(1)
    t, s = rng.normal(size=(2, 4, 7)), rng.normal(size=(2, 4, 7))
    w = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], "float32")
    np.testing.assert_allclose(
        float(soft_target_loss(t, s, 3.0, w)), _np_soft(t, s, 3.0, w), rtol=1e-5
    )
    labels = rng.integers(0, 7, (2, 4))
    z = s - s.max(-1, keepdims=True)
    ce = -(z - np.log(np.exp(z).sum(-1, keepdims=True)))[
        np.arange(2)[:, None], np.arange(4)[None, :], labels
    ]
    np.testing.assert_allclose(
        float(hard_label_loss(labels, s, w)), (ce * w).sum() / w.sum(), rtol=1e-5
    )


def _bert(layers, width, dropout=0.0):
    return tiny_model(
        "bert",
        "classification",
        num_classes=3,
        num_layers=layers,
        hidden_dim=width,
        intermediate_dim=2 * width,
        vocabulary_size=60,
        max_sequence_length=SEQ,
        dropout=dropout,
    )


def _data(n=16):
    rng = np.random.default_rng(2)
    x = tiny_token_data(n, SEQ, vocabulary_size=60, seed=rng, min_token_id=1)
    y = rng.integers(0, 3, n).astype("int32")
    return x, y


def test_distiller_loss_is_the_weighted_sum_and_training_reduces_it(tmp_path):
    teacher, student = _bert(2, 32), _bert(1, 16)
    x, y = _data()
    distiller = Distiller(teacher, student, temperature=2.0, alpha=0.7, hidden_layers=[(1, 0)])
    distiller.compile(optimizer=keras.optimizers.Adam(3e-3))
    teacher_before = [w.numpy().copy() for w in teacher.weights]

    loss = float(distiller.compute_loss(x, y, training=False))
    t_logits, s_logits = teacher.predict(x, verbose=0), student.predict(x, verbose=0)
    soft = _np_soft(t_logits.astype("float64"), s_logits.astype("float64"), 2.0)
    hard = float(hard_label_loss(y, s_logits))
    hidden = float(distiller._hidden_loss(x, training=False))
    assert hidden > 0
    np.testing.assert_allclose(loss, 0.7 * soft + 0.3 * hard + hidden, rtol=1e-4)

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = distiller.fit(ds, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert {"soft_loss", "hard_loss", "hidden_loss"} <= set(history.history)
    # The teacher is frozen.
    for w, b in zip(teacher.weights, teacher_before):
        np.testing.assert_array_equal(w.numpy(), b)

    # The student stands alone: saved and reloaded without the distiller or its projection.
    path = tmp_path / "student.keras"
    student.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), student.predict(x, verbose=0), atol=1e-5
    )
    assert len(reloaded.weights) == len(student.weights)


def test_unlabeled_rows_only_get_the_soft_targets():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 3))
    labels = np.array([2, -1, 0, -1, 1])
    z = logits - logits.max(-1, keepdims=True)
    ce = -(z - np.log(np.exp(z).sum(-1, keepdims=True)))[np.arange(5), np.maximum(labels, 0)]
    np.testing.assert_allclose(
        float(hard_label_loss(labels, logits)), ce[labels >= 0].mean(), rtol=1e-5
    )
    assert float(hard_label_loss(-np.ones(5, "int32"), logits)) == 0.0


def test_a_student_learns_the_teacher_from_soft_targets_alone():
    # No labels at all (-1): whatever the student learns comes from the teacher.
    keras.utils.set_random_seed(4)
    teacher, student = _bert(1, 16), _bert(1, 16)
    kernel, bias = teacher.get_layer("logits").get_weights()
    teacher.get_layer("logits").set_weights([kernel * 20.0, bias])  # distinct answers
    x, _ = _data(32)
    target = teacher.predict(x, verbose=0)
    assert len(set(target.argmax(-1).tolist())) > 1

    def agreement():
        return float(np.mean(student.predict(x, verbose=0).argmax(-1) == target.argmax(-1)))

    before_loss = float(soft_target_loss(target, student.predict(x, verbose=0), 2.0))
    before = agreement()
    ds = tf.data.Dataset.from_tensor_slices((x, -np.ones(32, "int32"))).batch(8)
    distiller = Distiller(teacher, student, temperature=2.0, alpha=1.0)
    distiller.compile(optimizer=keras.optimizers.Adam(3e-3))
    distiller.fit(ds, epochs=20, verbose=0)
    after_loss = float(soft_target_loss(target, student.predict(x, verbose=0), 2.0))
    assert after_loss < 0.2 * before_loss, (before_loss, after_loss)
    assert agreement() >= max(0.9, before), (before, agreement())


def test_distill_function_trains_the_student():
    teacher, student = _bert(1, 16), _bert(1, 16)
    x, y = _data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    before = [w.numpy().copy() for w in student.trainable_weights]
    trained, history = distill(teacher, student, ds, epochs=2, learning_rate=1e-3, verbose=0)
    assert trained is student and len(history.history["loss"]) == 2
    assert any(not np.allclose(w.numpy(), b) for w, b in zip(student.trainable_weights, before))


def test_bad_arguments():
    teacher, student = _bert(1, 16), _bert(1, 16)
    with pytest.raises(ValueError, match="temperature"):
        Distiller(teacher, student, temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        Distiller(teacher, student, alpha=1.5)
    with pytest.raises(ValueError, match="out of range"):
        Distiller(teacher, student, hidden_layers=[(0, 3)])
    other = tiny_model("bert", "classification", vocabulary_size=60, max_sequence_length=SEQ)
    with pytest.raises(ValueError, match="outputs differ"):
        Distiller(teacher, other)
    with pytest.raises(ValueError, match="takes no `loss`"):
        Distiller(teacher, student).compile(optimizer="adam", loss="mse")
