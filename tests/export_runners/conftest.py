"""Real artifacts for the runner tests, made without tfzoo models.

A tiny `tf.Module` with one named signature (int32 `token_ids`, float32 `padding_mask`, both
`[batch, sequence]` dynamic; outputs `logits` and `pooled`) is written once per session as a
SavedModel, a TFLite file and an ONNX file, each with its reference files.
"""

import os
import shutil

import numpy as np
import pytest

from tfzoo.export.reference import reference_paths, write_reference

VOCAB, WIDTH, CLASSES = 50, 16, 5
TOLERANCE = {"atol": 1e-5}


def _module(tf):
    rng = np.random.default_rng(0)

    class Tiny(tf.Module):
        def __init__(self):
            super().__init__()
            self.embedding = tf.Variable(rng.normal(size=(VOCAB, WIDTH)).astype("float32"))
            self.kernel = tf.Variable(rng.normal(size=(WIDTH, CLASSES)).astype("float32"))

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                tf.TensorSpec([None, None], tf.float32, name="padding_mask"),
            ]
        )
        def serve(self, token_ids, padding_mask):
            x = tf.gather(self.embedding, token_ids)  # (B, T, W)
            mask = tf.expand_dims(padding_mask, -1)  # (B, T, 1)
            pooled = tf.reduce_sum(x * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
            return {"logits": tf.matmul(tf.tanh(pooled), self.kernel), "pooled": pooled}

    return Tiny()


def reference_inputs():
    rng = np.random.default_rng(1)
    token_ids = rng.integers(0, VOCAB, size=(2, 7)).astype("int32")
    padding_mask = np.ones((2, 7), "float32")
    padding_mask[1, 5:] = 0.0
    return {"token_ids": token_ids, "padding_mask": padding_mask}


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """Paths of the three artifacts (keys `saved_model`, `tflite`, `onnx`), references written."""
    import tensorflow as tf
    import tf2onnx

    root = tmp_path_factory.mktemp("artifacts")
    module = _module(tf)
    inputs = reference_inputs()
    outputs = {k: v.numpy() for k, v in sorted(module.serve(**inputs).items())}
    extra = {"tfzoo_version": "test", "model": "tiny"}

    saved_model = str(root / "tiny_saved_model")
    tf.saved_model.save(module, saved_model, signatures={"serving_default": module.serve})
    write_reference(
        saved_model, inputs, outputs, format="saved_model", tolerance=TOLERANCE, extra=extra
    )

    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model, signature_keys=["serving_default"]
    )
    tflite = str(root / "tiny.tflite")
    with open(tflite, "wb") as f:
        f.write(converter.convert())
    write_reference(tflite, inputs, outputs, format="tflite", tolerance=TOLERANCE, extra=extra)

    onnx_path = str(root / "tiny.onnx")
    tf2onnx.convert.from_function(
        module.serve, input_signature=module.serve.input_signature, opset=17, output_path=onnx_path
    )
    write_reference(onnx_path, inputs, outputs, format="onnx", tolerance=TOLERANCE, extra=extra)
    return {"saved_model": saved_model, "tflite": tflite, "onnx": onnx_path}


def copy_artifact(path, folder):
    """Copies an artifact (file or SavedModel directory) with its reference files into `folder`."""
    target = os.path.join(folder, os.path.basename(path))
    if os.path.isdir(path):
        shutil.copytree(path, target)
    else:
        shutil.copy(path, target)
    for source in reference_paths(path):
        shutil.copy(source, folder)
    return target
