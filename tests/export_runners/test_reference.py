"""The reference format: tfzoo's writer and the runners' reader and judge, without a runtime."""

import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tfzoo.export.reference import (
    FORMAT_VERSION,
    read_reference,
    reference_paths,
    write_reference,
)

EXPORT = Path(__file__).resolve().parents[2] / "export"


@pytest.fixture(scope="module")
def common():
    """The runners' shared module, imported from the export/ folder as a runner would."""
    sys.path.insert(0, str(EXPORT))
    try:
        yield importlib.import_module("_common")
    finally:
        sys.path.remove(str(EXPORT))


def _example(tmp_path, **tolerance):
    inputs = {"token_ids": np.arange(6, dtype="int32").reshape(2, 3), "mask": np.ones((2, 3), bool)}
    outputs = {
        "logits": np.array([[0.1, 2.0], [3.0, -1.0]], "float32"),
        "hidden": np.zeros((2, 4), "float32"),
    }
    artifact = tmp_path / "m.tflite"
    paths = write_reference(
        artifact,
        inputs,
        outputs,
        format="tflite",
        tolerance=tolerance or {"atol": 1e-5},
        extra={"tfzoo_version": "0.1.0", "quantize": None},
    )
    return artifact, paths, inputs, outputs


def test_reference_paths_sit_beside_the_artifact():
    assert reference_paths("out/m.tflite") == (
        "out/m.tflite.reference.npz",
        "out/m.tflite.reference.json",
    )
    assert reference_paths("out/saved/").json == "out/saved.reference.json"


def test_write_reference_round_trip(tmp_path):
    artifact, paths, inputs, outputs = _example(tmp_path)
    meta, got_inputs, got_outputs = read_reference(artifact)
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["artifact"] == "m.tflite" and meta["format"] == "tflite"
    assert meta["signature"] == "serving_default"
    assert meta["inputs"] == [
        {"name": "token_ids", "dtype": "int32", "shape": [2, 3]},
        {"name": "mask", "dtype": "bool", "shape": [2, 3]},
    ]
    assert [o["name"] for o in meta["outputs"]] == ["logits", "hidden"]  # insertion order kept
    assert meta["tolerance"] == {
        "atol": 1e-5,
        "cosine_min": None,
        "top1_min": None,
        "top1_outputs": [],
        "per_output": {},
    }
    assert meta["tfzoo_version"] == "0.1.0" and meta["extra"]["quantize"] is None
    assert meta["created"].endswith("+00:00")
    with open(paths.npz, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == meta["npz_sha256"]
    for name, value in inputs.items():
        np.testing.assert_array_equal(got_inputs[name], value)
        assert got_inputs[name].dtype == value.dtype
    np.testing.assert_array_equal(got_outputs["logits"], outputs["logits"])
    assert sorted(os.listdir(tmp_path)) == ["m.tflite.reference.json", "m.tflite.reference.npz"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"format": "tfjs", "tolerance": {"atol": 1e-5}}, "format"),
        ({"format": "onnx", "tolerance": {}}, "at least one"),
        ({"format": "onnx", "tolerance": {"rtol": 1e-5}}, "Unknown"),
        ({"format": "onnx", "tolerance": {"top1_min": 0.9}}, "top1_outputs"),
        ({"format": "onnx", "tolerance": {"cosine_min": 2.0}}, "cosine_min"),
        (
            {"format": "onnx", "tolerance": {"atol": 1e-5, "per_output": {"nope": {"atol": 1}}}},
            "nope",
        ),
    ],
)
def test_write_reference_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_reference(tmp_path / "m.onnx", {"x": np.zeros(2)}, {"y": np.zeros(2)}, **kwargs)
    assert os.listdir(tmp_path) == []


def test_runner_reads_what_tfzoo_writes(tmp_path, common):
    artifact, paths, inputs, outputs = _example(tmp_path)
    artifact.write_bytes(b"")
    reference = common.load_reference(str(artifact), "tflite")
    assert list(reference.inputs) == list(inputs) and list(reference.outputs) == list(outputs)
    assert reference.tolerance_for("logits") == {"atol": 1e-5, "cosine_min": None, "top1_min": None}
    with pytest.raises(common.UsageError, match="'onnx'"):
        common.load_reference(str(artifact), "onnx")
    with open(paths.npz, "ab") as f:  # an npz that is not the one the json describes
        f.write(b"x")
    with pytest.raises(common.UsageError, match="npz_sha256"):
        common.load_reference(str(artifact), "tflite")


def test_int8_style_tolerance_judges_by_cosine_and_top1(tmp_path, common):
    artifact, _, _, outputs = _example(
        tmp_path,
        cosine_min=0.99,
        top1_min=1.0,
        top1_outputs=["logits"],
        per_output={"hidden": {"cosine_min": None, "atol": 0.1}},
    )
    artifact.write_bytes(b"")
    reference = common.load_reference(str(artifact), "tflite")
    noisy = outputs["logits"] + 0.05  # fails any float atol, keeps direction and argmax
    logits = reference.tolerance_for("logits")
    assert logits == {"atol": None, "cosine_min": 0.99, "top1_min": 1.0}
    result = common.compare_output("logits", outputs["logits"], noisy, logits, top1=True)
    assert result["ok"] and result["top1"] == 1.0 and result["cosine"] > 0.99
    flipped = outputs["logits"][:, ::-1]
    result = common.compare_output("logits", outputs["logits"], flipped, logits, top1=True)
    assert not result["ok"] and any("top1 0.0000 < top1_min 1.0" in f for f in result["failures"])
    # The per-output override judges `hidden` by atol alone; all-zero outputs count as cosine 1.
    assert reference.tolerance_for("hidden") == {"atol": 0.1, "cosine_min": None, "top1_min": None}
    assert reference.tolerance_for("hidden", {"atol": 1e-9})["atol"] == 1e-9


def test_shape_and_nan_disagreements_fail(common):
    expected = np.ones((2, 3), "float32")
    result = common.compare_output("y", expected, np.ones((3, 2)), {"atol": 1.0}, top1=False)
    assert not result["ok"] and "shape (3, 2) != reference (2, 3)" in result["failures"][0]
    result = common.compare_output("y", expected, expected * np.nan, {"atol": 1.0}, top1=False)
    assert not result["ok"]


def test_outputs_fall_back_to_order_when_names_differ(tmp_path, common):
    artifact, _, _, _ = _example(tmp_path)
    artifact.write_bytes(b"")
    reference = common.load_reference(str(artifact), "tflite")
    mapping, note = common.match_outputs(reference, ["logits:0", "hidden:0"])
    assert [m[2] for m in mapping] == ["name", "name"] and note is None
    mapping, note = common.match_outputs(reference, ["Identity", "Identity_1"])
    assert mapping == [("logits", "Identity", "order"), ("hidden", "Identity_1", "order")]
    assert "matched by order" in note
    with pytest.raises(common.RunnerError, match="by name or by count"):
        common.match_outputs(reference, ["only_one"])


def test_json_is_plain_json(tmp_path):
    _, paths, _, _ = _example(tmp_path)
    with open(paths.json) as f:
        assert json.load(f)["npz"] == "m.tflite.reference.npz"
