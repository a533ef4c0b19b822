"""The export format table: one module per format, one interface, and the shared staging."""

import importlib.util
import os
import types
from pathlib import Path

import pytest

from tfzoo.export import staging
from tfzoo.export.formats import FORMATS, MODEL_FORMATS, format_from_extension
from tfzoo.export.formats.base import REQUIRED, Format

REPO = Path(__file__).resolve().parents[2]


def _runner_common():
    """`export/_common.py`, the runners' own module (it never imports tfzoo)."""
    spec = importlib.util.spec_from_file_location("_common", REPO / "export" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_format_declares_the_interface():
    assert set(FORMATS) >= {"saved_model", "tflite", "onnx", "tflite_decoder", "onnx_decoder"}
    assert MODEL_FORMATS[:3] == ("saved_model", "tflite", "onnx")
    assert len({FORMATS[n].extension for n in MODEL_FORMATS}) == len(MODEL_FORMATS)
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.kind in ("model", "decoder")
        for function in (*REQUIRED, "check_arguments"):
            assert callable(getattr(fmt, function)), (name, function)
        if fmt.kind == "model":
            assert callable(fmt.sniff) and fmt.runner_script
            assert format_from_extension(f"out/m{fmt.extension}") == name
        else:
            assert callable(fmt.details) and fmt.runner_script is None


def test_runner_scripts_agree_with_the_runners_table():
    common = _runner_common()
    scripts = {n: f.runner_script for n, f in FORMATS.items() if f.runner_script}
    assert scripts == common.RUNNER_SCRIPTS
    for script in scripts.values():
        assert (REPO / "export" / script).is_file()


def test_a_module_without_the_interface_is_named():
    module = types.ModuleType("tfzoo_fake_format")
    module.NAME, module.KIND, module.EXTENSION, module.RUNNER_SCRIPT = "x", "model", ".x", None
    module.runner = module.runtime = module.ops = lambda *a: None
    with pytest.raises(TypeError, match=r"tfzoo_fake_format lacks \['write'\]"):
        Format.from_module(module)
    module.write, module.KIND = module.runner, "other"
    with pytest.raises(TypeError, match="KIND"):
        Format.from_module(module)


def test_stage_places_a_verified_file_and_keeps_an_unverified_one(tmp_path):
    path = str(tmp_path / "m.onnx")
    with staging.Stage(path, overwrite=False) as stage:
        Path(stage.artifact).write_bytes(b"good")
        assert os.path.dirname(stage.artifact) != str(tmp_path)
        assert stage.place(True) == path
    with staging.Stage(path, overwrite=False) as stage:
        Path(stage.artifact).write_bytes(b"bad")
        assert stage.place(False) == str(tmp_path / "m.UNVERIFIED.onnx")
    with staging.Stage(path, overwrite=False) as stage:
        Path(stage.artifact).write_bytes(b"bad again")
        assert stage.place(False) == str(tmp_path / "m.UNVERIFIED-1.onnx")
    assert Path(path).read_bytes() == b"good"
    assert sorted(os.listdir(tmp_path)) == ["m.UNVERIFIED-1.onnx", "m.UNVERIFIED.onnx", "m.onnx"]


def test_stage_refuses_a_path_that_appeared_meanwhile(tmp_path):
    path = tmp_path / "m.tflite"
    with staging.Stage(str(path), overwrite=False) as stage:
        Path(stage.artifact).write_bytes(b"new")
        path.write_bytes(b"someone else's")
        with pytest.raises(ValueError, match="appeared while exporting"):
            stage.place(True)
    assert path.read_bytes() == b"someone else's"
    assert os.listdir(tmp_path) == ["m.tflite"]


def test_a_saved_model_directory_gets_an_unverified_suffix(tmp_path):
    assert staging.unverified_path(str(tmp_path / "sm"), False) == str(tmp_path / "sm.UNVERIFIED")
