"""Every zoo family x every export format, in the default run.

Each tiny model (1 layer, hidden 16, 2 heads, vocabulary 64, sequence 16; ViT on 16x16 images
with 4x4 patches) is built once per module and exported with `tfzoo.export`, which runs the
artifact in its runtime and compares it with Keras; `tfzoo.export.verify` then re-checks the
artifact with the standalone runner of `export/` in a subprocess (no tfzoo import there). The
six SavedModels are re-checked together by `tfzoo.export.verify_many` (one TensorFlow import).
Quantized variants run for one family per mode by default (BERT dynamic/int8 in
test_export.py, ViT int8 here); the rest of the quantization matrix is marked slow.
"""

import os

import numpy as np
import pytest

import tfzoo
from tfzoo.export import export, verify, verify_many
from tfzoo.export.reference import read_reference

FORMATS = ["tflite", "onnx"]  # SavedModel: test_saved_model_every_family, one TF process
SUFFIX = {"saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}
TINY = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
TEXT = dict(TINY, vocabulary_size=64, max_sequence_length=16)
IMAGE = dict(TINY, image_size=16, patch_size=4)


def _export(model, path, fmt, **kwargs):
    path = str(path)
    report = export(model, path, print_report=False, **kwargs)
    assert report.verified and report.path == path and os.path.exists(path)
    assert report.format == fmt and report.file_size > 0 and report.latency_ms > 0
    assert report.ops["count"] > 0 and report.ops["non_builtin"] == []
    if kwargs.get("quantize") is None:
        # A float artifact computes the same function: cosine ~1, not just a small difference
        # (random tiny models have small outputs, so atol alone would say little).
        assert all(o["cosine"] > 0.9999 for o in report.outputs), report.outputs
    return report


def _export_and_check(model, path, fmt, **kwargs):
    report = _export(model, path, fmt, **kwargs)
    # The standalone runner, in its own process, agrees (exit code 0).
    result = verify(str(path), runs=2)
    assert result["ok"] and result["exit_code"] == 0
    return report


# --- the models, built once per module ------------------------------------------------------


@pytest.fixture(scope="module")
def bert_classifier():
    return tfzoo.build("bert-tiny", task="classification", num_classes=3, **TEXT)


@pytest.fixture(scope="module")
def gpt2():
    return tfzoo.build("gpt2", task="causal_lm", **TEXT)


@pytest.fixture(scope="module")
def llama():
    return tfzoo.build("llama-tiny", task="causal_lm", **TEXT)


@pytest.fixture(scope="module")
def transformer_base():
    return tfzoo.build("transformer-base", task="seq2seq_lm", **TEXT)


@pytest.fixture(scope="module")
def t5():
    return tfzoo.build("t5-small", task="seq2seq_lm", **TEXT)


@pytest.fixture(scope="module")
def vit():
    return tfzoo.build("vit-tiny", task="classification", num_classes=3, **IMAGE)


# --- every family x format ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_bert_classifier(tmp_path, bert_classifier, fmt):
    path = tmp_path / f"bert{SUFFIX[fmt]}"
    report = _export_and_check(bert_classifier, path, fmt)
    assert list(report.inputs) == ["token_ids", "padding_mask", "segment_ids"]
    assert report.inputs["token_ids"] == {"dtype": "int32", "shape": [None, None]}
    assert report.outputs[0]["name"] == "logits" and report.outputs[0]["max_abs_diff"] < 1e-4
    meta, inputs, outputs = read_reference(path)
    assert meta["format"] == fmt and outputs["logits"].shape == (2, 3)
    assert inputs["padding_mask"][1, -1] == 0  # the sample carries padding


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_causal_lm(tmp_path, request, family, fmt):
    model = request.getfixturevalue(family)
    report = _export_and_check(model, tmp_path / f"{family}{SUFFIX[fmt]}", fmt)
    assert list(report.inputs) == ["token_ids", "padding_mask"]
    assert report.outputs[0]["shape"] == [2, 16, 64] and report.outputs[0]["top1"] == 1.0


SEQ2SEQ_INPUTS = [
    "encoder_token_ids",
    "encoder_padding_mask",
    "decoder_token_ids",
    "decoder_padding_mask",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("family", ["transformer_base", "t5"])
def test_seq2seq_teacher_forced(tmp_path, request, family, fmt):
    model = request.getfixturevalue(family)
    path = tmp_path / f"{family}{SUFFIX[fmt]}"
    report = _export_and_check(model, path, fmt)
    assert list(report.inputs) == SEQ2SEQ_INPUTS
    assert all(v == {"dtype": "int32", "shape": [None, None]} for v in report.inputs.values())
    # Source 16 tokens, target 12: the two lengths are independent dynamic dimensions.
    _, inputs, outputs = read_reference(path)
    assert inputs["encoder_token_ids"].shape == (2, 16)
    assert inputs["decoder_token_ids"].shape == (2, 12)
    assert inputs["encoder_padding_mask"][1, -1] == 0 and inputs["decoder_padding_mask"][1, -1] == 0
    assert outputs["logits"].shape == (2, 12, 64)
    assert report.outputs[0]["top1"] == 1.0
    if fmt == "onnx":
        import onnx

        graph = onnx.load(str(path)).graph
        dims = {i.name: [d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.input}
        assert dims["encoder_token_ids"] == ["batch", "encoder_sequence"]
        assert dims["decoder_padding_mask"] == ["batch", "decoder_sequence"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_vit_classifier(tmp_path, vit, fmt):
    path = tmp_path / f"vit{SUFFIX[fmt]}"
    report = _export_and_check(vit, path, fmt)
    assert report.inputs == {"images": {"dtype": "float32", "shape": [None, 16, 16, 3]}}
    assert report.sample_shape == [2, 16, 16, 3]
    _, inputs, outputs = read_reference(path)
    assert inputs["images"].dtype == np.float32 and outputs["logits"].shape == (2, 3)
    assert np.ptp(inputs["images"]) > 1.0  # random pixels in [-1, 1], not a constant image


FAMILIES = ["bert_classifier", "gpt2", "llama", "transformer_base", "t5", "vit"]


def test_saved_model_every_family(tmp_path, request):
    # TensorFlow's import dominates the standalone SavedModel check (~10-20 s on a busy 2-core
    # machine), so the six SavedModels are re-checked by run_saved_model.py's main() in ONE
    # subprocess (`verify_many`) instead of six.
    paths, reports = [], {}
    for family in FAMILIES:
        path = str(tmp_path / family)
        reports[family] = _export(request.getfixturevalue(family), path, "saved_model")
        paths.append(path)
    results = verify_many(paths, runs=2)
    assert [r["ok"] for r in results] == [True] * len(FAMILIES)
    assert [r["exit_code"] for r in results] == [0] * len(FAMILIES)
    assert [os.path.basename(r["artifact"]) for r in results] == FAMILIES
    assert list(reports["transformer_base"].inputs) == SEQ2SEQ_INPUTS
    assert reports["vit"].inputs["images"] == {"dtype": "float32", "shape": [None, 16, 16, 3]}
    bert = reports["bert_classifier"]
    variables = sum(
        os.path.getsize(os.path.join(d, f))
        for d, _, files in os.walk(os.path.join(paths[0], "variables"))
        for f in files
    )
    # Keras `model.export` stores every weight twice (DESIGN.md); this writer stores them once.
    assert bert.weight_bytes <= variables < 1.5 * bert.weight_bytes + 16_000


# --- quantization: ViT int8 by default, the rest slow ---------------------------------------


def _images(n, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (batch, 16, 16, 3)).astype("float32") for _ in range(n)]


def test_vit_int8_tflite(tmp_path, vit):
    import tensorflow as tf

    # Calibration as a user passes a vision validation set: (images, labels) batches.
    images = np.concatenate(_images(4, seed=1))
    data = tf.data.Dataset.from_tensor_slices((images, np.zeros(len(images), "int32"))).batch(4)
    report = _export_and_check(
        vit,
        tmp_path / "vit-int8.tflite",
        "tflite",
        quantize="int8",
        representative_data=data,
        sample={"images": _images(1, seed=2)[0]},
    )
    assert report.quantize == "int8" and report.outputs[0]["criteria"]["cosine_min"] == 0.90
    assert report.ops["matmul_dtypes"].get("int8", 0) > 0


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["dynamic", "float16"])
def test_vit_quantized_tflite(tmp_path, vit, quantize):
    report = _export_and_check(
        vit, tmp_path / f"vit-{quantize}.tflite", "tflite", quantize=quantize
    )
    assert report.quantize == quantize


def _token_batches(n=4, source=16, target=12, seed=3):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {
            "encoder_token_ids": rng.integers(1, 64, (2, source)).astype("int32"),
            "encoder_padding_mask": np.ones((2, source), "int32"),
            "decoder_token_ids": rng.integers(1, 64, (2, target)).astype("int32"),
            "decoder_padding_mask": np.ones((2, target), "int32"),
        }


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["dynamic", "float16", "int8"])
@pytest.mark.parametrize("family", ["transformer_base", "t5"])
def test_seq2seq_quantized_tflite(tmp_path, request, family, quantize):
    model = request.getfixturevalue(family)
    data = list(_token_batches()) if quantize == "int8" else None
    report = _export_and_check(
        model,
        tmp_path / f"{family}-{quantize}.tflite",
        "tflite",
        quantize=quantize,
        representative_data=data,
    )
    assert report.quantize == quantize


# --- image inputs: bad arguments ------------------------------------------------------------


def test_vit_bad_inputs(tmp_path, vit):
    with pytest.raises(ValueError, match="`sequence_length` applies to token inputs"):
        export(vit, str(tmp_path / "m.tflite"), sequence_length=16)
    with pytest.raises(ValueError, match="must hold float pixels"):
        export(
            vit, str(tmp_path / "m.tflite"), sample={"images": np.zeros((1, 16, 16, 3), "uint8")}
        )
    with pytest.raises(ValueError, match=r"shape \(batch, 16, 16, 3\).*\(1, 32, 32, 3\)"):
        export(vit, str(tmp_path / "m.tflite"), sample={"images": np.zeros((1, 32, 32, 3), "f4")})
    assert not any(p.name.endswith(".tflite") for p in tmp_path.iterdir())


# --- sliding-window (local) attention -------------------------------------------------------


@pytest.fixture(scope="module")
def local_bert():
    # Window 4 on 16 tokens: four chunks, each query sees its own, the previous and the next
    # chunk; one global [CLS] token.
    return tfzoo.build(
        "bert-tiny",
        task="classification",
        num_classes=3,
        attention_implementation="local",
        sliding_window=4,
        global_tokens=1,
        **TEXT,
    )


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_local_attention_bert(tmp_path, local_bert, fmt):
    report = _export_and_check(local_bert, tmp_path / f"local{SUFFIX[fmt]}", fmt)
    assert report.sample_shape == [2, 16]


def test_local_attention_window_longer_than_fixed_sequence_is_refused(tmp_path, local_bert):
    # Refused before tracing, with the layer's name and the reason.
    with pytest.raises(
        ValueError,
        match=r"Layer '.*self_attention' \(LocalMultiHeadAttention\) cannot be exported with "
        r"sequence_length=2: its sliding_window=4 is longer than the sequence",
    ):
        export(local_bert, str(tmp_path / "m.tflite"), sequence_length=2)
    assert list(tmp_path.iterdir()) == []
