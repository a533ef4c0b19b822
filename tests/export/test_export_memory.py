"""Memory-relevant behaviour of the export path: the ONNX conversion runs tf2onnx's graph
optimizer without a deep copy of the graph (weights included) per pass, and falls back to the
copying mode only when an optimizer pass fails. Tiny config; peak RSS itself is measured by
benchmarks/bench_export_memory.py, not asserted here."""

import os

import pytest

import tfzoo
from tfzoo.export import export
from tfzoo.testing import TINY_TEXT_SIZES

TINY = TINY_TEXT_SIZES


@pytest.fixture
def optimizer_calls(monkeypatch):
    """Records `catch_errors` of each tf2onnx optimizer run; `fail_first` makes the first raise."""
    import tf2onnx.optimizer

    original = tf2onnx.optimizer.optimize_graph
    calls = []
    options = {"fail_first": False}

    def spy(graph, catch_errors=True, optimizers=None):
        calls.append(catch_errors)
        if options["fail_first"] and len(calls) == 1:
            raise RuntimeError("an optimizer pass failed")
        return original(graph, catch_errors, optimizers=optimizers)

    monkeypatch.setattr(tf2onnx.optimizer, "optimize_graph", spy)
    monkeypatch.delenv("TF2ONNX_CATCH_ERRORS", raising=False)
    return calls, options


def test_onnx_export_optimizes_without_graph_copies(tmp_path, optimizer_calls):
    calls, _ = optimizer_calls
    model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
    report = export(model, str(tmp_path / "m.onnx"), print_report=False)
    assert report.verified
    # catch_errors=True deep-copies the whole graph before every pass (6.6 GB for MiniLM).
    assert calls == [False]
    assert "TF2ONNX_CATCH_ERRORS" not in os.environ  # restored


def test_onnx_export_falls_back_when_an_optimizer_fails(tmp_path, optimizer_calls):
    calls, options = optimizer_calls
    options["fail_first"] = True
    model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
    report = export(model, str(tmp_path / "m.onnx"), print_report=False)
    assert report.verified
    assert calls == [False, True]
    assert "TF2ONNX_CATCH_ERRORS" not in os.environ
