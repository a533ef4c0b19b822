import os

import keras
import numpy as np
import pytest

import tfzoo
import tfzoo.models.vit  # noqa: F401  (registers the vit family)
from tfzoo.layers.patch_embedding import PatchEmbedding
from tfzoo.models.vit import ViTBackbone, ViTClassifier, vit_parameter_count
from tfzoo.testing import assert_close, run_layer_test, run_model_test

TINY = dict(
    num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64, image_size=32, patch_size=8
)
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _images(batch=2, size=32, channels=3, seed=0):
    return (
        np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32")
    )


def test_patch_embedding_equals_flatten_and_dense():
    layer = PatchEmbedding(hidden_dim=16, patch_size=4, image_size=8, num_channels=2)
    images = _images(2, 8, 2)
    out = np.asarray(layer(images))
    assert out.shape == (2, 1 + 4, 16)
    # NumPy reference: flatten each 4x4x2 patch (row-major over the grid) and apply the kernel.
    kernel = np.asarray(layer.patch_projection.kernel).reshape(-1, 16)  # (p*p*c, D)
    bias = np.asarray(layer.patch_projection.bias)
    patches = images.reshape(2, 2, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4, 5).reshape(2, 4, -1)
    pos = np.asarray(layer.position_embeddings)
    expected = (
        np.concatenate(
            [np.broadcast_to(np.asarray(layer.class_token), (2, 1, 16)), patches @ kernel + bias],
            axis=1,
        )
        + pos[None]
    )
    assert_close(out, expected, atol=1e-5)


def test_patch_embedding_layer_harness():
    run_layer_test(
        PatchEmbedding,
        dict(hidden_dim=16, patch_size=4, image_size=8),
        _images(2, 8),
        expected_output_shape=(2, 5, 16),
    )


def test_position_interpolation_keeps_the_table_at_its_own_size():
    layer = PatchEmbedding(hidden_dim=8, patch_size=4, image_size=16, use_class_token=False)
    layer.build((None, None, None, 3))
    table = np.asarray(layer.position_embeddings)  # (16, 8): a 4x4 grid
    same = np.asarray(layer._positions(4, 4))[0]
    assert_close(same, table, atol=0)
    # Interpolated to 2x4: rows 0.5 and 2.5 of the 4x4 grid (half-pixel centres, linear).
    grid = table.reshape(4, 4, 8)
    expected = np.stack([(grid[0] + grid[1]) / 2, (grid[2] + grid[3]) / 2]).reshape(8, 8)
    assert_close(np.asarray(layer._positions(2, 4))[0], expected, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(hidden_dim=16, patch_size=5, image_size=32), r"size \(32\).*patch size \(5\)"),
        (dict(hidden_dim=0, patch_size=4, image_size=32), "hidden_dim"),
    ],
)
def test_patch_embedding_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PatchEmbedding(**kwargs)


def test_backbone_rejects_bad_images():
    backbone = ViTBackbone(**TINY)
    with pytest.raises(ValueError, match=r"height \(30\).*patch size \(8\)"):
        backbone({"images": np.zeros((1, 30, 32, 3), "float32")})
    with pytest.raises(ValueError, match="channels"):
        backbone({"images": np.zeros((1, 32, 32, 1), "float32")})
    with pytest.raises(ValueError, match="float pixels"):
        backbone({"images": np.zeros((1, 32, 32, 3), "uint8")})
    with pytest.raises(ValueError, match="rank 4"):
        backbone({"images": np.zeros((32, 32, 3), "float32")})
    with pytest.raises(ValueError, match="images"):
        backbone({"pixels": np.zeros((1, 32, 32, 3), "float32")})


def test_backbone_outputs_and_harness(tmp_path):
    backbone = tfzoo.build("vit-tiny", **TINY)
    assert isinstance(backbone, ViTBackbone)
    inputs = {"images": _images()}
    out = backbone(inputs)
    assert out["sequence_output"].shape == (2, 17, 32)
    assert_close(out["pooled_output"], np.asarray(out["sequence_output"])[:, 0], atol=0)
    assert backbone.count_params() == vit_parameter_count(**TINY)
    # The harness also runs a 16x32 image (half height): the position grid is interpolated.
    run_model_test(backbone, tmp_path, inputs=inputs, fit=False)


def test_classifier_harness(tmp_path):
    model = tfzoo.build("vit-tiny", task="classification", num_classes=4, **TINY)
    assert isinstance(model, ViTClassifier)
    assert model({"images": _images()}).shape == (2, 4)
    assert model.count_params() == vit_parameter_count(**TINY, num_classes=4)
    run_model_test(model, tmp_path, inputs={"images": _images()}, loss=SCE, y=np.array([0, 3]))


def test_classifier_mean_pooling_and_bad_args():
    backbone = ViTBackbone(**TINY)
    model = ViTClassifier(backbone, num_classes=3, pooling="mean")
    assert model({"images": _images()}).shape == (2, 3)
    with pytest.raises(ValueError, match="pooling"):
        ViTClassifier(backbone, num_classes=3, pooling="max")
    with pytest.raises(ValueError, match="num_classes"):
        ViTClassifier(backbone, num_classes=1)


def test_presets_registered():
    assert {"vit-tiny", "vit-small", "vit-base"} <= set(tfzoo.list_models("vit"))
    base = tfzoo.get_config("vit-base")
    assert base["published_parameters"] == vit_parameter_count(**base["config"], num_classes=1000)
    assert base["config"]["patch_size"] == 16 and base["config"]["image_size"] == 224


@pytest.mark.slow
def test_vit_base_has_the_published_parameter_count():
    model = tfzoo.build("vit-base", task="classification", num_classes=1000)
    assert model.count_params() == 86_567_656


def _bars(n, size=32, seed=0):
    """Images of one bright bar (4 classes: horizontal/vertical x top-left/bottom-right half)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.3, (n, size, size, 1)).astype("float32")
    labels = rng.integers(0, 4, n)
    for i, label in enumerate(labels):
        pos = rng.integers(2, size // 2 - 2) + (size // 2 if label % 2 else 0)
        if label < 2:
            images[i, pos - 1 : pos + 2, :, 0] += 2.0
        else:
            images[i, :, pos - 1 : pos + 2, 0] += 2.0
    return images, labels


@pytest.mark.slow
def test_tiny_vit_learns_and_exports_to_int8_tflite(tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    x, y = _bars(480)
    model = tfzoo.build("vit-tiny", task="classification", num_classes=4, num_channels=1, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=SCE, metrics=["accuracy"])
    model.fit(x[:384], y[:384], epochs=6, batch_size=32, verbose=0)
    accuracy = model.evaluate(x[384:], y[384:], verbose=0)[1]
    print(f"tiny ViT held-out accuracy: {accuracy:.3f}")
    assert accuracy > 0.8, accuracy

    # Full-integer int8 TFLite with converter calibration on a representative dataset.
    @tf.function(input_signature=[tf.TensorSpec((1, 32, 32, 1), tf.float32, name="images")])
    def serve(images):
        return {"logits": model({"images": images}, training=False)}

    def representative():
        for i in range(32):
            yield [x[i : i + 1]]

    # The converter freezes the variables a tf.Module tracks: give it the underlying tf.Variables.
    module = tf.Module()
    module.weights = [getattr(v, "value", v) for v in model.variables]
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], module
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = os.path.join(tmp_path, "vit-int8.tflite")
    with open(path, "wb") as f:
        f.write(converter.convert())

    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    keras_pred = np.argmax(np.asarray(model.predict(x[384:], verbose=0)), -1)
    lite_pred = []
    for image in x[384:]:
        interpreter.set_tensor(inp["index"], image[None])
        interpreter.invoke()
        lite_pred.append(np.argmax(interpreter.get_tensor(out["index"])[0]))
    agreement = float(np.mean(np.asarray(lite_pred) == keras_pred))
    print(f"int8 TFLite vs Keras top-1 agreement: {agreement:.3f} ({os.path.getsize(path)} bytes)")
    assert agreement >= 0.9, agreement


def test_tiny_vit_learns_real_digits_above_chance():
    # scikit-learn's handwritten digits (real images, no download): a 1-layer ViT trained for a
    # few seconds on 600 of them must classify the held-out test split far above chance (0.1).
    from tfzoo.data import load_digits

    keras.utils.set_random_seed(0)
    data = load_digits(image_size=16)
    config = dict(
        num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, image_size=16, patch_size=4
    )
    model = tfzoo.build("vit-tiny", task="classification", num_classes=10, num_channels=1, **config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=SCE, metrics=["accuracy"])
    model.fit(data.train.images[:600], data.train.labels[:600], epochs=8, batch_size=32, verbose=0)
    accuracy = model.evaluate(data.test.images, data.test.labels, verbose=0)[1]
    assert accuracy > 0.6, accuracy
