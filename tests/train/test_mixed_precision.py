"""Mixed precision: float16 (with loss scaling) and bfloat16 train zoo models like float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfzoo.testing import tiny_model, tiny_token_data
from tfzoo.train import create_optimizer

SEQ = 12
TINY = dict(hidden_dim=32, intermediate_dim=64, vocabulary_size=100, max_sequence_length=SEQ)


def _bert_data():
    x = tiny_token_data(32, SEQ, vocabulary_size=100, min_token_id=1)
    return tf.data.Dataset.from_tensor_slices(
        (x, (x["token_ids"][:, 1] > 50).astype("int32"))
    ).batch(8)


def _lm_data():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 100, (32, SEQ + 1)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones((32, SEQ), "int32")}
    return tf.data.Dataset.from_tensor_slices((x, ids[:, 1:])).batch(8)


def _train(policy, kind):
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    if kind == "bert":
        model = tiny_model("bert", "classification", dropout=0.0, **TINY)
        data = _bert_data()
    else:
        model = tiny_model("gpt", "causal_lm", **TINY)
        data = _lm_data()
    model.compile(
        optimizer=create_optimizer(1e-3, 12, 2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(data, epochs=3, verbose=0)
    keras.config.set_dtype_policy("float32")
    return model, history.history["loss"]


# Trains 3 tiny models per case (float32, float16, bfloat16). BERT runs by default; the GPT
# case only with `pytest -m slow tests/train`.
@pytest.mark.parametrize("kind", ["bert", pytest.param("gpt", marks=pytest.mark.slow)])
def test_mixed_precision_trains_close_to_float32(kind):
    _, reference = _train("float32", kind)
    for policy in ("mixed_float16", "mixed_bfloat16"):
        model, losses = _train(policy, kind)
        compute = {layer.compute_dtype for layer in model.backbone.transformer_layers}
        assert compute == {policy.split("_")[1]}, compute
        assert (
            model.backbone.transformer_layers[0].self_attention.query_dense.kernel.dtype
            == "float32"
        )
        assert np.all(np.isfinite(losses)), (policy, losses)
        # Loss after 12 steps within 10% of float32's.
        assert abs(losses[-1] - reference[-1]) <= 0.1 * reference[-1], (policy, losses, reference)
        assert losses[-1] < losses[0]
        if policy == "mixed_float16":
            # Keras wraps the optimizer in a LossScaleOptimizer under mixed_float16.
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            assert isinstance(model.optimizer.inner_optimizer, keras.optimizers.AdamW)
        else:
            assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
