"""Quantization-aware training: the fake-quant grid against tfmot, the int8 TFLite op list, the
LiteRT interpreter against Keras, `.keras` round trips, training and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfzoo
from tfzoo.compress.fake_quant import ActivationQuantizer, fake_quant_weights
from tfzoo.compress.qat import (
    QATModel,
    QuantizedDense,
    QuantizedEinsumDense,
    QuantizedMultiHeadAttention,
    QuantizedReversibleEmbedding,
    prepare_qat,
)
from tfzoo.testing import SMALL_TEXT_SIZES, tiny_classification_data, tiny_model

SEQ = 16
VOCAB = 200


def _tiny_bert_classifier():
    sizes = dict(SMALL_TEXT_SIZES, vocabulary_size=VOCAB, max_sequence_length=32)
    return tiny_model("bert", "classification", **sizes, dropout=0.0)


def _classification_data(n=128, seed=0):
    # Learnable rule: class 1 sequences use the lower half of the vocabulary, class 0 the upper.
    return tiny_classification_data(n, SEQ, vocabulary_size=VOCAB, seed=seed)


def _to_tflite(model, input_names, seq=SEQ):
    """Traces `model` with batch 1 and converts it with the default (QAT) optimizations."""
    specs = {name: tf.TensorSpec((1, seq), tf.int32, name=name) for name in input_names}

    @tf.function(input_signature=[specs])
    def serve(inputs):
        return {"output": model(inputs, training=False)}

    with tfzoo.layers.runtime_checks(False):
        concrete = serve.get_concrete_function()
    # No trackable object: the converter freezes the variables before quantizing (see qat.py).
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _interpreter(flatbuffer):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without the default XNNPACK delegate, so the op list is the file's own ops.
    interpreter = Interpreter(
        model_content=flatbuffer,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    return interpreter


def _ops(interpreter):
    """`[(op_name, [input dtypes])]` of every op in the file."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [
        (op["op_name"], [tensors[i]["dtype"] for i in op["inputs"] if i >= 0])
        for op in interpreter._get_ops_details()
    ]


def _check_int8_matmuls(ops):
    names = [name for name, _ in ops]
    assert not [n for n in names if n.startswith("Flex") or n in ("CUSTOM", "DELEGATE")], names
    matmuls = [(n, d) for n, d in ops if n in ("FULLY_CONNECTED", "BATCH_MATMUL")]
    for name, dtypes in matmuls:
        # FULLY_CONNECTED: (input, weights[, int32 bias]); BATCH_MATMUL: (lhs, rhs).
        assert dtypes[0] == np.int8 and dtypes[1] == np.int8, (name, dtypes)
    return names


def _run(interpreter, inputs):
    by_name = {d["name"]: d for d in interpreter.get_input_details()}
    outputs = []
    for i in range(len(inputs["token_ids"])):
        for name, detail in by_name.items():
            key = next(k for k in inputs if k in name)
            interpreter.set_tensor(detail["index"], inputs[key][i : i + 1])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0])
    return np.stack(outputs)


@pytest.fixture(scope="module")
def trained_bert():
    keras.utils.set_random_seed(0)
    qat = prepare_qat(_tiny_bert_classifier())
    inputs, labels = _classification_data()
    qat.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = qat.fit(inputs, labels, batch_size=16, epochs=8, verbose=0)
    return qat, history.history["loss"]


@pytest.fixture(scope="module")
def bert_tflite(trained_bert):
    qat, _ = trained_bert
    return _to_tflite(qat, ("token_ids", "padding_mask", "segment_ids"))


# --- (a) the grid equals tfmot's default 8-bit scheme ------------------------------------------


def test_dense_fake_quant_matches_tfmot():
    import tensorflow_model_optimization as tfmot
    import tf_keras

    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(16, 8)).astype("float32")
    bias = rng.normal(size=(8,)).astype("float32") * 0.1
    x = rng.normal(size=(32, 16)).astype("float32") * 2.0

    float_model = tf_keras.Sequential([tf_keras.Input((16,)), tf_keras.layers.Dense(8)])
    float_model.set_weights([kernel, bias])
    reference = tfmot.quantization.keras.quantize_model(float_model)
    reference(x, training=True)  # tfmot's LastValueQuantizer records the kernel range here
    variables = {v.name.split("/")[-1].split(":")[0]: v.numpy() for v in reference.weights}

    # Same weight range: symmetric, max |w| (narrow range [-127, 127], zero point 0).
    np.testing.assert_allclose(variables["kernel_max"], np.abs(kernel).max(), rtol=1e-6)
    np.testing.assert_allclose(variables["kernel_min"], -np.abs(kernel).max(), rtol=1e-6)
    theirs = tf.quantization.fake_quant_with_min_max_vars(
        kernel, variables["kernel_min"], variables["kernel_max"], num_bits=8, narrow_range=True
    ).numpy()
    ours = fake_quant_weights(kernel, per_channel=False).numpy()
    np.testing.assert_array_equal(ours, theirs)
    scale = np.abs(kernel).max() / 127
    assert len(np.unique(np.round(ours / scale))) <= 255
    np.testing.assert_allclose(ours / scale, np.round(ours / scale), atol=1e-4)

    # Same layer output once the activation ranges agree (tfmot quantizes the input in its
    # QuantizeLayer and the Dense output post-activation; ours in the layer itself).
    layer = QuantizedDense(8)
    layer.build((None, 16))
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    layer.input_quantizer.min_value.assign(variables["quantize_layer_min"])
    layer.input_quantizer.max_value.assign(variables["quantize_layer_max"])
    layer.output_quantizer.min_value.assign(variables["post_activation_min"])
    layer.output_quantizer.max_value.assign(variables["post_activation_max"])
    np.testing.assert_allclose(
        layer(x, training=False), reference(x, training=False), rtol=1e-5, atol=1e-5
    )


def test_per_channel_weights_use_one_scale_per_output_channel():
    kernel = np.array([[1.0, 0.01], [-0.4, 0.02], [0.25, -0.03]], "float32")
    ours = fake_quant_weights(kernel, per_channel=True).numpy()
    for j in range(2):
        scale = np.abs(kernel[:, j]).max() / 127
        np.testing.assert_allclose(ours[:, j] / scale, np.round(kernel[:, j] / scale), atol=1e-4)


def test_activation_range_first_batch_then_moving_average():
    quantizer = ActivationQuantizer(ema_decay=0.5)
    quantizer.build()
    quantizer(np.array([-1.0, 3.0], "float32"), training=True)
    assert quantizer.min_value.numpy() == pytest.approx(-1.0)
    assert quantizer.max_value.numpy() == pytest.approx(3.0)
    quantizer(np.array([1.0, 5.0], "float32"), training=True)  # range includes 0: [0, 5]
    assert quantizer.min_value.numpy() == pytest.approx(-0.5)
    assert quantizer.max_value.numpy() == pytest.approx(4.0)
    quantizer(np.array([100.0], "float32"), training=False)  # frozen at inference
    assert quantizer.max_value.numpy() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="ema_decay"):
        ActivationQuantizer(ema_decay=1.0)


# --- (b) int8 TFLite: op list and agreement with Keras -------------------------------------


def test_bert_classifier_tflite_is_int8_and_agrees(trained_bert, bert_tflite):
    qat, _ = trained_bert
    interpreter = _interpreter(bert_tflite)
    names = _check_int8_matmuls(_ops(interpreter))
    # 2 blocks x (q, k, v, attention output, 2 FFN) + pooler + classifier; 2 attention matmuls.
    assert names.count("FULLY_CONNECTED") == 14
    assert names.count("BATCH_MATMUL") == 4

    inputs, labels = _classification_data(n=32, seed=5)
    lite = _run(interpreter, inputs)
    ref = qat.predict(inputs, verbose=0)
    agreement = np.mean(lite.argmax(-1) == ref.argmax(-1))
    accuracy = np.mean(lite.argmax(-1) == labels)
    cosine = np.sum(lite * ref, -1) / (np.linalg.norm(lite, axis=-1) * np.linalg.norm(ref, axis=-1))
    print(
        f"\nQAT BERT (hidden 32, 2 layers) LiteRT int8 vs Keras QAT: top-1 agreement {agreement:.3f}, "
        f"mean cosine {cosine.mean():.5f}, min cosine {cosine.min():.5f}, "
        f"max |diff| {np.abs(lite - ref).max():.2e}, logit std {ref.std():.3f}, LiteRT accuracy {accuracy:.3f}, "
        f"size {len(bert_tflite)} bytes"
    )
    assert agreement >= 0.9
    assert cosine.mean() > 0.99


# --- (c) .keras round trip ------------------------------------------------------------------


def test_keras_round_trip(trained_bert, tmp_path):
    qat, _ = trained_bert
    path = tmp_path / "qat.keras"
    qat.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, QATModel)
    attention = restored.backbone.transformer_layers[0].self_attention
    assert isinstance(attention, QuantizedMultiHeadAttention)
    assert isinstance(attention.query_dense, QuantizedEinsumDense)
    inputs, _ = _classification_data(n=8, seed=3)
    np.testing.assert_array_equal(
        restored.predict(inputs, verbose=0), qat.predict(inputs, verbose=0)
    )
    ranges = {v.path: v.numpy() for v in qat.weights if "quantizer" in v.path}
    restored_ranges = {v.path: v.numpy() for v in restored.weights if "quantizer" in v.path}
    assert len(ranges) == len(restored_ranges) > 0
    np.testing.assert_array_equal(sorted(ranges.values()), sorted(restored_ranges.values()))


# --- (d) training ---------------------------------------------------------------------------


def test_fit_reduces_loss_and_sets_ranges(trained_bert):
    qat, losses = trained_bert
    print(f"\nQAT fit losses: {[round(v, 4) for v in losses]}")
    assert losses[-1] < losses[0]
    # Every range the classifier uses was set by training (the token embedding's projection
    # quantizers are unused by a classifier and keep their initial range).
    flags = [
        sub.initialized.numpy()
        for layer in qat.quantized_layers
        if not isinstance(layer, QuantizedReversibleEmbedding)
        for sub in layer._flatten_layers(include_self=False, recursive=False)
        if isinstance(sub, ActivationQuantizer)
    ]
    # Per block: 6 attention + 7 projection + 4 feed-forward quantizers; pooler 2, classifier 2.
    assert len(flags) == 2 * 17 + 4 and all(flag == 1.0 for flag in flags)


def test_prepare_qat_leaves_the_float_model_alone():
    model = _tiny_bert_classifier()
    inputs, _ = _classification_data(n=4)
    before = model.predict(inputs, verbose=0)
    qat = prepare_qat(model)
    assert type(model.backbone.pooler) is keras.layers.Dense
    assert type(qat.backbone.pooler) is QuantizedDense
    np.testing.assert_array_equal(model.predict(inputs, verbose=0), before)
    # Untrained ranges are [-6, 6]: quantization changes the logits, but not wildly.
    np.testing.assert_allclose(qat.predict(inputs, verbose=0), before, atol=0.1)


# --- bad input and layer selection ----------------------------------------------------------


def test_layer_selection_and_errors():
    model = _tiny_bert_classifier()
    qat = prepare_qat(model, layers=["pooler"])
    assert type(qat.backbone.pooler) is QuantizedDense
    assert type(qat.model.output_dense) is keras.layers.Dense
    assert type(qat.backbone.transformer_layers[0].self_attention).__name__ == "MultiHeadAttention"

    with pytest.raises(ValueError, match="embeddings_norm"):
        prepare_qat(model, layers=["embeddings_norm"])
    with pytest.raises(ValueError, match="No layer named 'poler'.*pooler"):
        prepare_qat(model, layers=["poler"])
    with pytest.raises(ValueError, match="list of layer names"):
        prepare_qat(model, layers="pooler")
    with pytest.raises(ValueError, match="already quantization-aware"):
        prepare_qat(qat)
    with pytest.raises(ValueError, match="ema_decay"):
        prepare_qat(model, ema_decay=1.5)

    inputs = keras.Input((4, 8))
    bad = keras.Model(inputs, keras.layers.EinsumDense("abc,cd->abd", (4, 3), name="mix")(inputs))
    bad_equation = keras.Model(
        inputs, keras.layers.EinsumDense("abc,bd->acd", (8, 3), name="odd")(inputs)
    )
    assert type(prepare_qat(bad).model.get_layer("mix")) is QuantizedEinsumDense
    with pytest.raises(ValueError, match="'odd'"):
        prepare_qat(bad_equation)


# --- (e) causal LMs: GPT (tied head) and Llama (RoPE, GQA, SwiGLU, untied head) -----------


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, overrides, fully_connected",
    [
        # q, k, v, attention output, 2 FFN, tied LM head.
        ("gpt2", {"num_heads": 2}, 7),
        # q, k, v, attention output, gate, up, down, untied LM head.
        ("llama-tiny", {"num_heads": 4, "num_key_value_heads": 2}, 8),
    ],
)
def test_causal_lm_tflite_is_int8(name, overrides, fully_connected):
    keras.utils.set_random_seed(0)
    lm = tiny_model(
        name,
        "causal_lm",
        num_layers=1,
        hidden_dim=32,
        intermediate_dim=64,
        vocabulary_size=VOCAB,
        max_sequence_length=32,
        **overrides,
    )
    qat = prepare_qat(lm)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (16, SEQ + 1)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones((16, SEQ), "int32")}
    qat.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x, ids[:, 1:], batch_size=8, epochs=1, verbose=0)
    interpreter = _interpreter(_to_tflite(qat, ("token_ids", "padding_mask")))
    names = _check_int8_matmuls(_ops(interpreter))
    assert names.count("FULLY_CONNECTED") == fully_connected
    assert names.count("BATCH_MATMUL") == 2  # q·kᵀ and probs·v
    lite = _run(interpreter, {k: v[:4] for k, v in x.items()})
    ref = qat.predict({k: v[:4] for k, v in x.items()}, verbose=0)
    agreement = np.mean(lite.argmax(-1) == ref.argmax(-1))
    print(
        f"\nQAT {name} (hidden 32, 1 layer) LiteRT vs Keras next-token agreement {agreement:.3f}, "
        f"max |diff| {np.abs(lite - ref).max():.2e}"
    )
    assert agreement >= 0.9
