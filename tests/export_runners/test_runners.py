"""Each runner, run as a subprocess on a real artifact, as a user or a CI job would run it."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.export_runners.conftest import copy_artifact
from tfzoo.export.reference import read_reference, write_reference

EXPORT = Path(__file__).resolve().parents[2] / "export"
RUNNERS = {"tflite": "run_tflite.py", "onnx": "run_onnx.py", "saved_model": "run_saved_model.py"}


def run(script, *args, cwd=None, python_flags=()):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    script = script if os.path.isabs(script) else EXPORT / script
    return subprocess.run(
        [sys.executable, *python_flags, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def parse_json(done):
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON on stdout: {done.stdout!r} / {done.stderr[-2000:]!r}"
    return json.loads(lines[-1])


def imported_modules(importtime_stderr):
    """Top-level package names from `python -X importtime` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def with_outputs(artifact, folder, change):
    """A copy of `artifact` in `folder` whose reference outputs are `change(outputs)`."""
    copy = copy_artifact(artifact, folder)
    meta, inputs, outputs = read_reference(copy)
    tolerance = {
        k: meta["tolerance"][k] for k in ("atol", "cosine_min", "top1_min", "top1_outputs")
    }
    write_reference(copy, inputs, change(outputs), format=meta["format"], tolerance=tolerance)
    return copy


@pytest.mark.parametrize("fmt", list(RUNNERS))
def test_runner_agrees_and_stands_alone(artifacts, fmt):
    done = run(
        RUNNERS[fmt], artifacts[fmt], "--json", "--runs", "3", python_flags=("-X", "importtime")
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = parse_json(done)
    assert result["ok"] and result["status"] == "ok" and result["exit_code"] == 0
    assert [o["name"] for o in result["outputs"]] == ["logits", "pooled"]
    for output in result["outputs"]:
        assert output["ok"] and output["matched_by"] == "name"
        assert output["max_abs_diff"] < 1e-5 and output["cosine"] > 0.999999
    assert {i["name"] for i in result["inputs"]} == {"token_ids", "padding_mask"}
    assert (
        result["timing"]["runs"] == 3
        and result["timing"]["p90_ms"] >= result["timing"]["median_ms"]
    )
    assert result["runtime"]["threads"] == 2
    # The proof that the artifact stands alone: tfzoo was not imported; nor were Keras and
    # TensorFlow, except by the SavedModel runner, where `import tensorflow` itself pulls in Keras.
    modules = imported_modules(done.stderr)
    assert "tfzoo" not in modules
    if fmt != "saved_model":
        assert "keras" not in modules and "tensorflow" not in modules
    if fmt == "tflite":
        # The model is dynamic ([?, ?]): the interpreter is resized to the reference's (2, 7).
        assert all(i["resized"] for i in result["inputs"])
        assert result["ops"]["count"] > 0 and not result["ops"]["has_flex_or_custom"]
        assert "FULLY_CONNECTED" in result["ops"]["by_type"]


@pytest.mark.parametrize("script", sorted(p.name for p in EXPORT.glob("*.py")))
def test_runner_sources_import_no_tfzoo_nor_keras(script):
    tree = ast.parse((EXPORT / script).read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not imported & {"tfzoo", "keras", "tf_keras"}
    if script != "run_saved_model.py":
        assert "tensorflow" not in imported


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])  # saved_model: in the verify_all test
def test_runner_reports_a_disagreement(artifacts, fmt, tmp_path):
    def corrupt(outputs):
        return {**outputs, "logits": outputs["logits"] + 1.0}

    copy = with_outputs(artifacts[fmt], tmp_path, corrupt)
    done = run(RUNNERS[fmt], copy, "--json", "--runs", "0")
    assert done.returncode == 1, done.stderr[-2000:]
    result = parse_json(done)
    assert not result["ok"] and result["status"] == "mismatch"
    logits, pooled = result["outputs"]
    assert not logits["ok"] and pooled["ok"]
    assert abs(logits["max_abs_diff"] - 1.0) < 1e-5
    assert "FAIL output 'logits': max_abs_diff 1.000e+00 > atol 1.0e-05" in done.stderr
    # The human-readable table says the same.
    table = run(RUNNERS[fmt], copy, "--runs", "0")
    assert table.returncode == 1 and "FAIL" in table.stdout and "'logits'" in table.stderr


@pytest.mark.parametrize("script", list(RUNNERS.values()) + ["verify_all.py"])
def test_missing_artifact_is_bad_usage(script, tmp_path):
    done = run(script, tmp_path / "missing.bin")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not found" in done.stderr and "Traceback" not in done.stderr


def test_missing_reference_and_bad_flags_are_bad_usage(artifacts, tmp_path):
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(artifacts["onnx"], lonely)
    done = run("run_onnx.py", lonely, "--json")
    assert done.returncode == 2 and "lonely.onnx.reference.json" in done.stderr
    assert parse_json(done)["status"] == "usage_error"
    done = run("run_tflite.py", artifacts["tflite"], "--threads", "zero")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = run("run_tflite.py", artifacts["tflite"], "--signature", "nope", "--runs", "0")
    assert done.returncode == 2 and "serving_default" in done.stderr


def test_int8_style_tolerance_and_command_line_override(artifacts, tmp_path):
    rng = np.random.default_rng(0)

    def perturb(outputs):  # what an int8 artifact looks like: close in direction, not in value
        return {
            k: v + rng.normal(scale=0.01, size=v.shape).astype(v.dtype) for k, v in outputs.items()
        }

    copy = copy_artifact(artifacts["tflite"], tmp_path)
    _, inputs, outputs = read_reference(copy)
    write_reference(
        copy,
        inputs,
        perturb(outputs),
        format="tflite",
        tolerance={"cosine_min": 0.99, "top1_min": 1.0, "top1_outputs": ["logits"]},
    )
    done = run("run_tflite.py", copy, "--json", "--runs", "0", "--no-xnnpack")
    assert done.returncode == 0, done.stderr
    result = parse_json(done)
    assert result["runtime"]["xnnpack"] is False
    logits = result["outputs"][0]
    assert logits["top1"] == 1.0 and logits["max_abs_diff"] > 1e-3
    done = run("run_tflite.py", copy, "--json", "--runs", "0", "--atol", "1e-4")
    assert done.returncode == 1 and "> atol 1.0e-04" in done.stderr


def test_onnx_runner_runs_from_a_bare_folder(artifacts, tmp_path):
    """Copied with _common.py alone, the runner needs neither the repository nor tfzoo."""
    for name in ("_common.py", "run_onnx.py"):
        shutil.copy(EXPORT / name, tmp_path)
    done = run(str(tmp_path / "run_onnx.py"), artifacts["onnx"], "--runs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "result     PASS" in done.stdout and "median" in done.stdout


def test_verify_all_runs_each_artifact_and_fails_on_any(artifacts, tmp_path):
    done = run("verify_all.py", artifacts["tflite"], artifacts["onnx"], "--runs", "2")
    assert done.returncode == 0, done.stderr
    assert "2/2 artifacts agree" in done.stdout
    assert [line.split()[:3] for line in done.stdout.splitlines()[2:4]] == [
        [artifacts["tflite"], "tflite", "ok"],
        [artifacts["onnx"], "onnx", "ok"],
    ]

    # A folder with two good artifacts and a SavedModel whose reference was corrupted: this is
    # also the SavedModel runner's disagreement test (TensorFlow is slow to import, so only once).
    folder = tmp_path / "exports"
    folder.mkdir()
    copy_artifact(artifacts["tflite"], folder)
    copy_artifact(artifacts["onnx"], folder)
    with_outputs(artifacts["saved_model"], folder, lambda o: {**o, "logits": o["logits"] + 1.0})
    done = run("verify_all.py", folder, "--runs", "1", "--json")
    assert done.returncode == 1, done.stderr
    summary = parse_json(done)
    assert not summary["ok"] and summary["exit_code"] == 1
    results = {os.path.basename(r["artifact"]): r for r in summary["results"]}
    assert sorted(results) == ["tiny.onnx", "tiny.tflite", "tiny_saved_model"]
    assert results["tiny.onnx"]["ok"] and results["tiny.tflite"]["ok"]
    saved = results["tiny_saved_model"]
    assert saved["exit_code"] == 1 and saved["status"] == "mismatch"
    logits, pooled = saved["outputs"]
    assert pooled["ok"] and not logits["ok"]
    assert logits["failures"] == ["max_abs_diff 1.000e+00 > atol 1.0e-05"]
