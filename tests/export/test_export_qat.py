"""`tfzoo.export` of a quantization-aware model to int8 TFLite: every matmul in the file is int8.

The file is read back with the LiteRT interpreter's own tensor details (not the export report),
so the test checks the artifact, and the report's `matmul_dtypes` is checked against it.
"""

import keras
import numpy as np
import pytest

import tfzoo
from tfzoo.compress import prepare_qat
from tfzoo.export.formats import tflite
from tfzoo.testing import SMALL_TEXT_SIZES, tiny_model

SEQ = 16
VOCAB = 200
MATMULS = ("FULLY_CONNECTED", "BATCH_MATMUL")


def _data(n, seed):
    # Class 1 uses the lower half of the vocabulary, class 0 the upper: learnable in a few steps.
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype("int32")
    ids = np.where(
        labels[:, None] == 1,
        rng.integers(2, VOCAB // 2, (n, SEQ)),
        rng.integers(VOCAB // 2, VOCAB, (n, SEQ)),
    ).astype("int32")
    ids[:, 0] = 1
    mask = np.ones_like(ids)
    mask[::3, -4:] = 0  # some right padding
    return {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(ids)}, labels


def _tiny_classifier():
    sizes = dict(SMALL_TEXT_SIZES, vocabulary_size=VOCAB, max_sequence_length=32)
    return tiny_model("bert", "classification", **sizes, dropout=0.0)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = _tiny_classifier()
    qat = prepare_qat(model)
    x, y = _data(128, seed=0)
    qat.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x, y, batch_size=16, epochs=6, verbose=0)  # 48 steps: distinct trained ranges
    return model, qat


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    _, qat = trained
    path = str(tmp_path_factory.mktemp("qat") / "qat_int8.tflite")
    report = tfzoo.export(qat, path, quantize="int8", sequence_length=SEQ, print_report=False)
    return path, report


def _file_ops(path):
    """`[(op_name, [dtype of each input])]` read from the file, without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    return [
        (str(op["op_name"]), [dtypes[int(i)] for i in op["inputs"] if i >= 0])
        for op in interpreter._get_ops_details()
    ]


def test_every_matmul_is_int8_and_no_flex(exported):
    path, report = exported
    assert report.verified
    ops = _file_ops(path)
    names = [name for name, _ in ops]
    assert not [n for n in names if n.startswith("Flex") or n in ("CUSTOM", "DELEGATE")], names
    matmuls = [(name, dtypes) for name, dtypes in ops if name in MATMULS]
    # 2 blocks x (q, k, v, attention output, 2 FFN) + pooler + classifier; 2 x 2 attention.
    assert names.count("FULLY_CONNECTED") == 14
    assert names.count("BATCH_MATMUL") == 4
    for name, dtypes in matmuls:
        # FULLY_CONNECTED (input, weights[, int32 bias]); BATCH_MATMUL (lhs, rhs).
        assert dtypes[0] == np.int8 and dtypes[1] == np.int8, (name, dtypes)
    assert report.ops["matmul_dtypes"] == {"int8": 18}
    assert report.ops["non_builtin"] == []
    assert report.quantize == "int8"


def test_int8_file_agrees_with_keras_at_any_batch(trained, exported):
    _, qat = trained
    path, _ = exported
    x, y = _data(24, seed=7)
    run = tflite.runner(path, threads=1)
    lite = run(x)["logits"]  # batch 24 on a batch-1 file: row by row
    assert lite.shape == (24, 2)
    one = run({k: v[:1] for k, v in x.items()})["logits"]
    np.testing.assert_array_equal(one, lite[:1])
    ref = np.asarray(qat.predict(x, verbose=0))
    assert np.mean(lite.argmax(-1) == ref.argmax(-1)) >= 0.9
    cosine = np.sum(lite * ref, -1) / (np.linalg.norm(lite, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cosine.mean() > 0.99
    assert np.mean(lite.argmax(-1) == y) >= 0.75  # it learnt the rule, in int8


def test_standalone_runner_accepts_the_qat_file(exported):
    path, _ = exported
    result = tfzoo.export.verify(path, threads=1, runs=2)
    assert result["ok"]


def test_float_and_dynamic_exports_report_their_matmul_dtypes(trained, tmp_path):
    model, _ = trained
    float_report = tfzoo.export(
        model, str(tmp_path / "f.tflite"), sequence_length=SEQ, print_report=False
    )
    assert float_report.verified
    assert float_report.ops["matmul_dtypes"] == {"float32": 18}
    dynamic = tfzoo.export(
        model, str(tmp_path / "d.tflite"), quantize="dynamic", sequence_length=SEQ,
        print_report=False,
    )  # fmt: skip
    assert dynamic.verified
    # Dynamic range: int8 weights with float inputs on the dense layers; attention stays float.
    counts = dynamic.ops["matmul_dtypes"]
    assert counts.get("int8_weights", 0) >= 12 and "int8" not in counts
    assert sum(counts.values()) == 18
    ops = _file_ops(str(tmp_path / "f.tflite"))
    assert all(d[0] == np.float32 for n, d in ops if n in MATMULS)


def test_qat_model_rejects_other_quantize_modes(trained, tmp_path):
    _, qat = trained
    with pytest.raises(ValueError, match="quantization-aware.*quantize='int8'"):
        tfzoo.export(
            qat, str(tmp_path / "q.tflite"), quantize="dynamic", sequence_length=SEQ,
            print_report=False,
        )  # fmt: skip


# --- post-training int8: mixed precision (default) and strict full-integer -------------------


@pytest.fixture(scope="module")
def float_trained():
    keras.utils.set_random_seed(1)
    model = _tiny_classifier()
    x, y = _data(128, seed=0)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    calibration = [{k: v[i : i + 1] for k, v in x.items()} for i in range(32)]  # real padding
    return model, calibration


def _ops_by_dtype(path, name):
    return [dtypes for op, dtypes in _file_ops(path) if op == name]


def test_post_training_int8_is_mixed_precision(float_trained, tmp_path):
    model, calibration = float_trained
    path = str(tmp_path / "ptq.tflite")
    report = tfzoo.export(
        model, path, quantize="int8", representative_data=calibration, sequence_length=SEQ,
        print_report=False,
    )  # fmt: skip
    assert report.verified and report.quantize == "int8"
    fcs = _ops_by_dtype(path, "FULLY_CONNECTED")
    assert len(fcs) == 14
    # 2 feed-forward down projections: int8 weights, float activations (hybrid); the other 12
    # (q, k, v, attention output, FFN up, pooler, classifier) int8 in and int8 weights.
    assert sum(d[0] == np.int8 and d[1] == np.int8 for d in fcs) == 12
    assert sum(d[0] == np.float32 and d[1] == np.int8 for d in fcs) == 2
    # Attention matmuls (no XNNPACK int8 kernel) and LayerNorm stay float.
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "BATCH_MATMUL"))
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "MEAN"))
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "SOFTMAX"))
    assert report.ops["matmul_dtypes"] == {"float32": 4, "int8": 12, "int8_weights": 2}
    assert any("int8 mixed precision" in note for note in report.notes)
    assert report.outputs[0]["cosine"] >= 0.99


def test_strict_full_integer_int8(float_trained, tmp_path):
    model, calibration = float_trained
    path = str(tmp_path / "full.tflite")
    report = tfzoo.export(
        model, path, quantize="int8-full", representative_data=calibration,
        sequence_length=SEQ, print_report=False,
    )  # fmt: skip
    assert report.quantize == "int8-full"
    assert report.ops["matmul_dtypes"] == {"int8": 18}
    assert all(d[0] == np.int8 for d in _ops_by_dtype(path, "MEAN"))


def test_int8_float_ops_overrides_the_float_op_list(float_trained):
    from tfzoo.export import signature
    from tfzoo.export.tflite_conversion import convert_tflite

    model, calibration = float_trained
    serving = signature.ServingFunction(model, SEQ)
    content, notes = convert_tflite(
        serving, "int8", calibration, int8_float_ops=["MEAN", "SQUARED_DIFFERENCE", "RSQRT"]
    )
    assert "float32: MEAN, RSQRT, SQUARED_DIFFERENCE" in notes[0]
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=content,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    ops = [(o["op_name"], dtypes[int(o["inputs"][0])]) for o in interpreter._get_ops_details()]
    assert all(d == np.int8 for n, d in ops if n == "BATCH_MATMUL")
    assert all(d == np.float32 for n, d in ops if n == "MEAN")


# --- quantization-aware export across shapes and sequence modes -----------------------------


@pytest.mark.parametrize(
    "hidden_dim, num_heads, intermediate_dim, sequence_length, quantize",
    [
        (32, 2, 64, None, "int8"),  # issue 12: dynamic sequence left 12 of 14 FCs float32
        (21, 3, 40, None, "int8-full"),  # odd hidden size, 3 heads of 7; int8-full without data
        (30, 3, 60, 12, "int8"),  # 3 heads of 10, fixed sequence length
    ],
)
def test_qat_export_is_integer_across_shapes(
    hidden_dim, num_heads, intermediate_dim, sequence_length, quantize, tmp_path
):
    keras.utils.set_random_seed(2)
    model = tfzoo.build(
        "bert-tiny", task="classification", num_classes=2, num_layers=2, hidden_dim=hidden_dim,
        num_heads=num_heads, intermediate_dim=intermediate_dim, vocabulary_size=VOCAB,
        max_sequence_length=32, dropout=0.0,
    )  # fmt: skip
    qat = prepare_qat(model)
    x, y = _data(32, seed=3)
    qat.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x, y, batch_size=16, epochs=2, verbose=0)  # 4 steps: trained, distinct ranges
    path = str(tmp_path / "qat.tflite")
    # No representative data, for "int8-full" too: the fake-quant ranges are the scales.
    report = tfzoo.export(
        qat, path, quantize=quantize, sequence_length=sequence_length, print_report=False
    )
    assert report.verified and report.quantize == quantize
    ops = _file_ops(path)
    names = [name for name, _ in ops]
    assert names.count("FULLY_CONNECTED") == 14 and names.count("BATCH_MATMUL") == 4
    for name, dtypes in ops:
        if name in MATMULS:
            assert dtypes[0] == np.int8 and dtypes[1] == np.int8, (name, dtypes)
    assert report.ops["matmul_dtypes"] == {"int8": 18}
    if quantize == "int8-full":
        assert any("int8-full without representative data" in n for n in report.notes)


# --- quantization-aware training for the post-training int8 layout (scheme="mixed") ---------


@pytest.fixture(scope="module")
def mixed(float_trained, tmp_path_factory):
    """The float-trained classifier, fine-tuned with `prepare_qat(scheme="mixed")`, exported
    to int8, beside its post-training int8 file."""
    model, calibration = float_trained
    keras.utils.set_random_seed(3)
    qat = prepare_qat(model, scheme="mixed")
    x, y = _data(128, seed=0)
    qat.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    qat.fit(x, y, batch_size=16, epochs=2, verbose=0)
    folder = tmp_path_factory.mktemp("mixed")
    path = str(folder / "qat.tflite")
    report = tfzoo.export(qat, path, quantize="int8", sequence_length=SEQ, print_report=False)
    ptq = tfzoo.export(
        model, str(folder / "ptq.tflite"), quantize="int8", representative_data=calibration,
        sequence_length=SEQ, print_report=False,
    )  # fmt: skip
    return qat, path, report, ptq


def test_mixed_qat_file_has_the_post_training_int8_layout(mixed):
    _, path, report, ptq = mixed
    assert report.verified and ptq.verified
    # q, k, v, attention output, FFN up, pooler, classifier int8; the 2 FFN down projections
    # int8 weights with float activations; the 4 attention matmuls float: as post-training.
    assert report.ops["matmul_dtypes"] == ptq.ops["matmul_dtypes"]
    assert report.ops["matmul_dtypes"] == {"float32": 4, "int8": 12, "int8_weights": 2}
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "BATCH_MATMUL"))
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "SOFTMAX"))
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "MEAN"))  # LayerNorm
    # The token table is int8 and read by an int8 GATHER (the float one would be 4x larger).
    assert np.int8 in [d[0] for d in _ops_by_dtype(path, "GATHER")]
    assert any("attention matmuls and activations kept float" in n for n in report.notes)
    assert all(d[0] == np.float32 for d in _ops_by_dtype(path, "TANH"))  # the pooler
    assert report.file_size <= 1.02 * ptq.file_size  # as small (measured: 0.92x on this model)


def test_mixed_qat_file_agrees_with_keras(mixed):
    qat, path, _, _ = mixed
    x, y = _data(24, seed=7)
    lite = tflite.runner(path, threads=1)(x)["logits"]
    ref = np.asarray(qat.predict(x, verbose=0))
    cosine = np.sum(lite * ref, -1) / (np.linalg.norm(lite, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert cosine.mean() > 0.99 and np.mean(lite.argmax(-1) == ref.argmax(-1)) >= 0.9
    assert np.mean(lite.argmax(-1) == y) >= 0.75


def test_mixed_qat_keras_round_trip(mixed, tmp_path):
    qat = mixed[0]
    path = str(tmp_path / "mixed.keras")
    qat.save(path)
    restored = keras.saving.load_model(path)
    assert restored.scheme == "mixed"
    x, _ = _data(4, seed=9)
    np.testing.assert_allclose(restored.predict(x, verbose=0), qat.predict(x, verbose=0), atol=1e-5)


def test_unknown_qat_scheme_is_one_line(float_trained):
    with pytest.raises(ValueError, match=r"`scheme` must be one of \['matmuls', 'mixed'\]"):
        prepare_qat(float_trained[0], scheme="int8")
