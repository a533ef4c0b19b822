import keras
import numpy as np

import tfzoo
from tfzoo.testing import SMALL_TEXT_SIZES, assert_close, run_model_test, tiny_inputs

TINY = dict(SMALL_TEXT_SIZES, vocabulary_size=120, max_sequence_length=32)
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def test_backbone_outputs_and_padding_invariance(tmp_path):
    backbone = tfzoo.build("bert-tiny", **TINY)
    inputs = tiny_inputs(backbone)
    out = backbone(inputs)
    assert out["sequence_output"].shape == (2, 8, 32)
    assert out["pooled_output"].shape == (2, 32)
    # Changing padded tokens does not change the real tokens' states.
    changed = {k: v.copy() for k, v in inputs.items()}
    changed["token_ids"][-1, -2:] = 7
    again = backbone(changed)["sequence_output"]
    assert_close(np.asarray(again)[-1, :-2], np.asarray(out["sequence_output"])[-1, :-2], atol=1e-5)
    run_model_test(backbone, tmp_path, fit=False)


def test_classifier(tmp_path):
    model = tfzoo.build("bert-tiny", task="classification", num_classes=3, **TINY)
    inputs = tiny_inputs(model)
    assert model(inputs).shape == (2, 3)
    run_model_test(model, tmp_path, loss=SCE, y=np.array([0, 2]))


def test_token_classifier(tmp_path):
    model = tfzoo.build("bert-tiny", task="token_classification", num_classes=5, **TINY)
    inputs = tiny_inputs(model)
    y = np.random.default_rng(0).integers(0, 5, (2, 8))
    run_model_test(
        model, tmp_path, loss=SCE, y=y, sample_weight=inputs["padding_mask"].astype("float32")
    )


def test_masked_lm_is_tied_to_the_embedding(tmp_path):
    model = tfzoo.build("bert-tiny", task="masked_lm", **TINY)
    inputs = tiny_inputs(model)
    logits = model(inputs)
    assert logits.shape == (2, 8, 120)
    table = model.backbone.token_embedding.embeddings
    assert not any(w is table for w in model.weights if w.shape == (32, 120))
    assert sum(1 for w in model.weights if tuple(w.shape) == (120, 32)) == 1, (
        "one table for input and output"
    )
    y = inputs["token_ids"]
    sw = (np.random.default_rng(1).random((2, 8)) < 0.5).astype("float32")
    run_model_test(model, tmp_path, loss=SCE, y=y, sample_weight=sw)


def test_sentence_embedding(tmp_path):
    model = tfzoo.build("bert-tiny", task="sentence_embedding", normalize=True, **TINY)
    inputs = tiny_inputs(model)
    emb = np.asarray(model(inputs))
    assert_close(np.linalg.norm(emb, axis=-1), np.ones(2), atol=1e-5)
    seq = np.asarray(model.backbone(inputs)["sequence_output"])
    mask = inputs["padding_mask"][..., None]
    mean = (seq * mask).sum(1) / mask.sum(1)
    assert_close(emb, mean / np.linalg.norm(mean, axis=-1, keepdims=True), atol=1e-5)
    run_model_test(model, tmp_path, fit=False)
