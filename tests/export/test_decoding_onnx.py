"""ONNX past-key-value export: incremental decoding in ONNX Runtime equals the Keras model."""

import os

import numpy as np
import pytest

from tests.export.decoders import CONFIGS, build
from tfzoo.export.decoding import OnnxDecoder, export_onnx_decoder

MAX_LENGTH = 32


# The ONNX conversion takes ~35 s on a busy 2-core machine: Llama (RoPE, grouped KV heads) runs
# by default, GPT-2 with the slow tests.
@pytest.fixture(scope="module", params=["llama-tiny", pytest.param("gpt2", marks=pytest.mark.slow)])
def exported(request, tmp_path_factory):
    lm = build(request.param)
    path = str(tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx")
    report = export_onnx_decoder(lm, path, max_length=MAX_LENGTH)
    return request.param, lm, path, report


def test_report_describes_a_verified_standard_graph(exported):
    name, _, path, report = exported
    assert report["verified"] and report["path"] == path and os.path.isfile(path)
    assert report["verification"]["greedy_match"]
    assert report["ops"]["non_builtin"] == [] and report["ops"]["opset"] == 17
    assert report["ops"]["by_type"]["ScatterND"] == 2 * CONFIGS[name]["num_layers"]
    kv_heads = CONFIGS[name].get("num_key_value_heads", 4)
    assert report["inputs"] == {
        "token_ids": [None, None],
        "cache": [None, 2, 2, MAX_LENGTH, kv_heads, 8],
        "cache_update_index": [],
    }
    assert report["outputs"] == {
        "logits": [None, None, 97],
        "new_cache": [None, 2, 2, MAX_LENGTH, kv_heads, 8],
    }


def test_incremental_decoding_equals_full_forward(exported):
    _, lm, path, _ = exported
    decoder = OnnxDecoder(path, threads=1)
    ids = np.random.default_rng(0).integers(0, 97, (2, 12)).astype("int32")
    full = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    logits, cache = decoder.step(ids[:, :5], decoder.init_cache(2), 0)  # prefill 5 tokens
    steps = [logits]
    for i in range(5, 12):
        logits, cache = decoder.step(ids[:, i : i + 1], cache, i)
        steps.append(logits)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-4)


def test_greedy_ids_equal_generate(exported):
    """One ragged `generate` call (one XLA compile) is the reference for single prompts of
    different lengths and for a batch of two equal-length prompts."""
    _, lm, path, _ = exported
    rng = np.random.default_rng(0)
    prompts = [rng.integers(0, 97, n).tolist() for n in (1, 6, 4, 4)]
    expected = lm.generate(prompts, max_new_tokens=10)["token_ids"]  # (4, 16)
    decoder = OnnxDecoder(path, threads=1)
    for prompt, row in zip(prompts[:2], expected[:2]):
        got = decoder.generate(np.array([prompt]), max_new_tokens=len(row) - len(prompt))
        np.testing.assert_array_equal(got[0], row)
    batch = decoder.generate(np.array(prompts[2:]), max_new_tokens=12)
    np.testing.assert_array_equal(batch, expected[2:])


def test_end_token_fills_finished_rows(exported):
    _, _, path, _ = exported
    decoder = OnnxDecoder(path, threads=1)
    prompt = np.array([[3, 1, 4], [1, 5, 9]], "int32")
    free = decoder.generate(prompt, max_new_tokens=5)
    end = int(free[0, 3])  # row 0 stops at its first new token
    out = decoder.generate(prompt, max_new_tokens=5, end_token_id=end)
    assert out.shape == (2, 8) and np.all(out[0, 3:] == end)
    stop = np.flatnonzero(free[1, 3:] == end)
    last = 3 + (stop[0] if stop.size else 5)
    np.testing.assert_array_equal(out[1, :last], free[1, :last])


def test_cache_overflow_and_bad_prompts_raise(exported):
    _, _, path, _ = exported
    decoder = OnnxDecoder(path, threads=1)
    with pytest.raises(ValueError, match="exceeds the decoder's cache"):
        decoder.generate(np.ones((1, 30), "int32"), max_new_tokens=3)
    with pytest.raises(ValueError, match="prompt_len >= 1"):
        decoder.generate(np.ones((1, 0), "int32"), max_new_tokens=3)


def test_bad_arguments_raise(tmp_path):
    lm = build("gpt2")
    existing = tmp_path / "lm.onnx"
    existing.write_bytes(b"keep me")
    with pytest.raises(ValueError, match="overwrite=True"):
        export_onnx_decoder(lm, str(existing))
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(ValueError, match="opset"):
        export_onnx_decoder(lm, str(tmp_path / "a.onnx"), opset=12)
    with pytest.raises(ValueError, match="max_length"):
        export_onnx_decoder(lm, str(tmp_path / "a.onnx"), max_length=100)
    with pytest.raises(ValueError, match=r"end in \.onnx"):
        export_onnx_decoder(lm, str(tmp_path / "a.tflite"))
    with pytest.raises(ValueError, match="not a tfzoo ONNX decoder"):
        OnnxDecoder(_plain_onnx(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["lm.onnx", "plain.onnx"]


def _plain_onnx(folder):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "plain", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads
    path = str(folder / "plain.onnx")
    onnx.save(model, path)
    return path


def test_report_is_written_beside_the_file(exported):
    import json

    _, _, path, report = exported
    with open(path + ".report.json", encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["path"] == path and saved["verified"] is True
    assert saved["format"] == report["format"] and saved["ops"] == report["ops"]
    assert saved["runtime"] == report["runtime"] and saved["runtime"].startswith("onnxruntime ")
