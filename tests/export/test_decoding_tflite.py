"""TFLite prefill/decode export: greedy decoding in LiteRT equals `CausalLM.generate`."""

import os

import numpy as np
import pytest

from tests.export.decoders import CONFIGS, build
from tfzoo.export import ExportVerificationError
from tfzoo.export.decoding import TFLiteDecoder, export_tflite_decoder
from tfzoo.export.formats import tflite_decoder
from tfzoo.testing import tiny_model

PREFILL = 8


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def exported(request, tmp_path_factory):
    lm = build(request.param)
    path = str(tmp_path_factory.mktemp("tflite") / f"{request.param}.tflite")
    report = export_tflite_decoder(lm, path, prefill_length=PREFILL)
    return request.param, lm, path, report


def test_report_describes_a_verified_builtin_only_file(exported):
    name, lm, path, report = exported
    assert report["path"] == path and os.path.isfile(path)
    assert report["verified"] and report["verification"]["greedy_match"]
    assert report["verification"]["max_abs_diff"] < 1e-4
    assert report["file_size"] == os.path.getsize(path)
    # Weights are stored once although both signatures read them (twice would be 2x).
    assert report["weight_bytes"] <= report["constant_bytes"] < 1.1 * report["weight_bytes"]
    assert set(report["ops"]) == {"prefill", "decode"}
    for ops in report["ops"].values():
        assert ops["non_builtin"] == []
        assert ops["by_type"]["DYNAMIC_UPDATE_SLICE"] == 2 * CONFIGS[name]["num_layers"]
        assert "READ_VARIABLE" not in ops["by_type"]
    assert report["decode_ms"] > 0


def test_signatures_have_the_documented_shapes(exported):
    name, lm, path, _ = exported
    decoder = TFLiteDecoder(path, threads=1)
    kv_heads = CONFIGS[name].get("num_key_value_heads", 4)
    cache = (1, 2, 2, 48, kv_heads, 8)
    assert decoder.cache_shape == cache and decoder.prefill_length == PREFILL
    prefill = decoder.interpreter.get_signature_runner("prefill")
    ins, outs = prefill.get_input_details(), prefill.get_output_details()
    assert (
        tuple(ins["token_ids"]["shape"]) == (1, PREFILL) and ins["token_ids"]["dtype"] == np.int32
    )
    assert tuple(ins["length"]["shape"]) == ()
    assert tuple(outs["logits"]["shape"]) == (1, 97) and tuple(outs["cache"]["shape"]) == cache
    decode = decoder.interpreter.get_signature_runner("decode")
    ins, outs = decode.get_input_details(), decode.get_output_details()
    assert tuple(ins["token_ids"]["shape"]) == (1, 1)
    assert tuple(ins["cache_update_index"]["shape"]) == ()
    assert tuple(ins["cache"]["shape"]) == cache and ins["cache"]["dtype"] == np.float32
    assert tuple(outs["logits"]["shape"]) == (1, 97) and tuple(outs["cache"]["shape"]) == cache


def test_greedy_ids_equal_generate(exported):
    """Prompts of 1 token, shorter than prefill_length, exactly it, and longer (the rest of the
    prompt then goes through `decode`). One ragged `generate` call (one XLA compile) gives the
    reference: each row continues its own prompt up to the longest prompt + 12 tokens."""
    _, lm, path, _ = exported
    rng = np.random.default_rng(0)
    prompts = [rng.integers(0, 97, n).tolist() for n in (1, 5, PREFILL, 13)]
    expected = lm.generate(prompts, max_new_tokens=12)["token_ids"]
    decoder = TFLiteDecoder(path, threads=1)
    for prompt, row in zip(prompts, expected):
        got = decoder.generate(prompt, max_new_tokens=len(row) - len(prompt))
        np.testing.assert_array_equal(got[0], row)


def test_raw_signature_loop_equals_decoder(exported):
    """The loop an app writes against the two signatures, without TFLiteDecoder."""
    from ai_edge_litert.interpreter import Interpreter

    _, _, path, _ = exported
    prompt = [7, 3, 90, 41]
    expected = TFLiteDecoder(path, threads=1).generate(prompt, max_new_tokens=6)[0]
    interpreter = Interpreter(model_path=path, num_threads=1)
    prefill = interpreter.get_signature_runner("prefill")
    decode = interpreter.get_signature_runner("decode")
    padded = np.zeros((1, PREFILL), "int32")
    padded[0, : len(prompt)] = prompt
    out = prefill(token_ids=padded, length=np.array(len(prompt), "int32"))
    ids = list(prompt)
    for _ in range(6):
        ids.append(int(out["logits"].argmax()))
        out = decode(
            token_ids=np.array([[ids[-1]]], "int32"),
            cache_update_index=np.array(len(ids) - 1, "int32"),
            cache=out["cache"],
        )
    np.testing.assert_array_equal(ids, expected)


def test_end_token_stops_and_fills(exported):
    _, lm, path, _ = exported
    decoder = TFLiteDecoder(path, threads=1)
    prompt = [4, 5, 6]
    free = decoder.generate(prompt, max_new_tokens=6)
    end = int(free[0, 4])  # the second generated token
    out = decoder.generate(prompt, max_new_tokens=6, end_token_id=end)
    np.testing.assert_array_equal(out[0, :5], free[0, :5])
    assert out.shape == (1, 9) and np.all(out[0, 5:] == end)


def test_decoder_rejects_bad_prompts(exported):
    _, _, path, _ = exported
    decoder = TFLiteDecoder(path, threads=1)
    with pytest.raises(ValueError, match="exceeds the decoder's cache"):
        decoder.generate([1, 2, 3], max_new_tokens=46)
    with pytest.raises(ValueError, match="one prompt"):
        decoder.generate(np.ones((2, 3), "int32"), max_new_tokens=2)
    with pytest.raises(ValueError, match="integers"):
        decoder.generate([1.0, 2.0], max_new_tokens=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        decoder.generate([1, 2], max_new_tokens=0)


def test_existing_path_is_refused_before_any_work(tmp_path):
    lm = build("gpt2")
    path = tmp_path / "lm.tflite"
    path.write_bytes(b"keep me")
    with pytest.raises(ValueError, match="overwrite=True"):
        export_tflite_decoder(lm, str(path))
    assert path.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(max_length=49), "max_length"),
        (dict(max_length=1), "max_length"),
        (dict(prefill_length=0), "prefill_length"),
        (dict(max_length=16, prefill_length=17), "prefill_length"),
        (dict(quantize="int8"), "quantize"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, message):
    lm = build("gpt2")
    with pytest.raises(ValueError, match=message):
        export_tflite_decoder(lm, str(tmp_path / "lm.tflite"), **kwargs)
    assert not os.listdir(tmp_path)


def test_wrong_suffix_and_wrong_model_raise(tmp_path):
    with pytest.raises(ValueError, match=r"end in \.tflite"):
        export_tflite_decoder(build("gpt2"), str(tmp_path / "lm.onnx"))
    bert = tiny_model("bert", "classification", vocabulary_size=50)
    with pytest.raises(ValueError, match="causal language model"):
        export_tflite_decoder(bert, str(tmp_path / "bert.tflite"))


def test_disagreeing_file_is_kept_unverified(exported, tmp_path, monkeypatch):
    """A real decoder file of another model (same shapes, other weights) must fail verification."""
    name, _, path, _ = exported
    if name != "gpt2":
        pytest.skip("one family is enough for the failure path")
    other = build(name, seed=99)
    with open(path, "rb") as f:
        foreign = f.read()
    monkeypatch.setattr(tflite_decoder, "_convert", lambda *args: foreign)
    target = tmp_path / "other.tflite"
    with pytest.raises(ExportVerificationError, match="UNVERIFIED") as info:
        export_tflite_decoder(other, str(target), prefill_length=PREFILL)
    assert not target.exists()
    assert os.path.isfile(tmp_path / "other.UNVERIFIED.tflite")
    assert info.value.report["verification"]["ok"] is False
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


@pytest.mark.slow
def test_dynamic_quantization_and_overwrite(tmp_path):
    lm = build("gpt2")
    path = tmp_path / "lm-dynamic.tflite"
    path.write_bytes(b"old")
    report = export_tflite_decoder(lm, str(path), quantize="dynamic", overwrite=True)
    assert report["verified"] and report["quantize"] == "dynamic"
    assert report["verification"]["cosine"] >= 0.999
    assert path.read_bytes() != b"old"
    assert report["constant_bytes"] < 0.6 * report["weight_bytes"]  # int8 weights


def test_report_is_written_beside_the_file(exported):
    import json

    _, _, path, report = exported
    with open(path + ".report.json", encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["path"] == path and saved["verified"] is True
    assert saved["format"] == report["format"] and saved["ops"] == report["ops"]
    assert saved["runtime"] == report["runtime"] and saved["runtime"].startswith("ai-edge-litert ")
