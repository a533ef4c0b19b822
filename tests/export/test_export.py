"""tfzoo.export: BERT tasks, options and quantization modes, verified in-process and by the
standalone runner in a subprocess; bad input raises ValueError; disagreement keeps an
UNVERIFIED artifact. Tiny configs. Every family x format is in test_export_families.py; the
other BERT tasks and most of the quantization matrix are marked slow."""

import os
import shutil

import numpy as np
import pytest

import tfzoo
from tfzoo.export import ExportVerificationError, export, verify, verify_many
from tfzoo.export.reference import reference_paths
from tfzoo.testing import TINY_TEXT_SIZES

TINY = TINY_TEXT_SIZES
SUFFIX = {"saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}


def tiny(name, task=None, **kwargs):
    return tfzoo.build(name, task=task, **TINY, **kwargs)


def _export_and_check(model, tmp_path, fmt, **kwargs):
    path = str(tmp_path / f"model{SUFFIX[fmt]}")
    report = export(model, path, print_report=False, **kwargs)
    assert report.verified and report.path == path and os.path.exists(path)
    assert report.format == fmt and report.file_size > 0 and report.latency_ms > 0
    assert report.ops["count"] > 0 and report.ops["non_builtin"] == []
    # The standalone runner, in its own process, agrees (exit code 0).
    result = verify(path, runs=2)
    assert result["ok"] and result["exit_code"] == 0
    return path, report


# --- BERT tasks and options (every family x format: test_export_families.py) ---------------


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "tflite", "onnx"])
@pytest.mark.parametrize(
    "task,kwargs,outputs",
    [
        (None, {}, ["pooled_output", "sequence_output"]),
        ("token_classification", {"num_classes": 4}, ["logits"]),
        ("masked_lm", {}, ["logits"]),
        ("sentence_embedding", {"normalize": True}, ["embeddings"]),
    ],
)
def test_bert_every_task(tmp_path, fmt, task, kwargs, outputs):
    model = tiny("bert-tiny", task, **kwargs)
    _, report = _export_and_check(model, tmp_path, fmt)
    assert [o["name"] for o in report.outputs] == outputs


@pytest.mark.slow
def test_fixed_sequence_length_tflite(tmp_path):
    model = tiny("bert-tiny", "classification", num_classes=2)
    _, report = _export_and_check(model, tmp_path, "tflite", sequence_length=8)
    assert report.inputs["token_ids"]["shape"] == [None, 8]
    assert report.sample_shape == [2, 8]


# --- quantization ---------------------------------------------------------------------------


def _calibration(n=8, seq=16):
    rng = np.random.default_rng(3)
    for _ in range(n):
        mask = np.ones((2, seq), "int32")
        mask[1, seq // 2 :] = 0
        yield {
            "token_ids": rng.integers(1, 64, (2, seq)).astype("int32"),
            "padding_mask": mask,
            "segment_ids": np.zeros((2, seq), "int32"),
        }


@pytest.mark.parametrize(
    "quantize", ["dynamic", "int8", pytest.param("float16", marks=pytest.mark.slow)]
)
def test_tflite_quantized(tmp_path, quantize):
    import tensorflow as tf

    model = tiny("bert-tiny", "classification", num_classes=3)
    data = None
    if quantize == "int8":
        # Int8 is judged on a trained model, as users export one: a random 2-layer model's
        # near-zero logits sit inside the int8 rounding noise. Learn a simple rule first.
        import keras

        train = list(_calibration(n=16))
        x = {k: np.concatenate([b[k] for b in train]) for k in train[0]}
        y = x["token_ids"][:, 1] % 3
        model.compile(
            optimizer=keras.optimizers.Adam(3e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, epochs=15, batch_size=8, verbose=0)
        # A tf.data pipeline yielding (x, y) batches, as a user's validation set does.
        batches = list(_calibration())
        data = (
            tf.data.Dataset.from_tensor_slices(
                {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
            )
            .batch(2)
            .map(lambda x: (x, tf.zeros((2,), tf.int32)))
        )
    _, report = _export_and_check(
        model, tmp_path, "tflite", quantize=quantize, representative_data=data
    )
    assert report.quantize == quantize
    if quantize == "int8":
        assert "FULLY_CONNECTED" in report.ops["by_type"]
        assert report.outputs[0]["criteria"]["cosine_min"] == 0.90


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gpt2", "llama-tiny"])
@pytest.mark.parametrize("quantize", ["dynamic", "float16", "int8"])
def test_causal_lm_quantized(tmp_path, name, quantize):
    model = tiny(name, "causal_lm")
    calibration = [{k: v for k, v in b.items() if k != "segment_ids"} for b in _calibration()]
    _export_and_check(model, tmp_path, "tflite", quantize=quantize, representative_data=calibration)


def test_qat_model_needs_no_representative_data(tmp_path):
    from tfzoo.compress.qat import prepare_qat

    model = tiny("bert-tiny", "classification", num_classes=3)
    qat = prepare_qat(model)
    sample = next(_calibration())
    qat(sample, training=True)  # one training-mode call records activation ranges
    path, report = _export_and_check(qat, tmp_path, "tflite", quantize="int8", sample=sample)
    assert report.quantize == "int8"
    assert any("quantization-aware" in n for n in report.notes)


@pytest.mark.slow
def test_int16x8_on_token_ids_is_refused_with_the_reason(tmp_path):
    model = tiny("bert-tiny", "classification", num_classes=2)
    with pytest.raises(ValueError, match="int16x8.*quantize='int8'"):
        export(
            model,
            str(tmp_path / "m.tflite"),
            quantize="int16x8",
            representative_data=list(_calibration(2)),
            print_report=False,
        )
    assert not os.path.exists(tmp_path / "m.tflite")


# --- bad input ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    return tiny("bert-tiny", "classification", num_classes=2)


def test_unsupported_format_and_mode(tmp_path, classifier):
    with pytest.raises(ValueError, match=r"Unsupported format 'coreml'.*saved_model.*tflite.*onnx"):
        export(classifier, str(tmp_path / "m"), format="coreml")
    with pytest.raises(ValueError, match=r"Unsupported quantize='int4'.*dynamic.*float16.*int8"):
        export(classifier, str(tmp_path / "m.tflite"), quantize="int4")
    with pytest.raises(ValueError, match="TFLite only"):
        export(classifier, str(tmp_path / "m.onnx"), quantize="dynamic")


def test_int8_without_representative_data(tmp_path, classifier):
    with pytest.raises(ValueError, match="needs `representative_data`"):
        export(classifier, str(tmp_path / "m.tflite"), quantize="int8")


def test_existing_path_is_refused(tmp_path, classifier):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"keep me")
    with pytest.raises(ValueError, match=r"m\.onnx already exists.*overwrite=True"):
        export(classifier, str(path))
    assert path.read_bytes() == b"keep me"


@pytest.mark.slow
def test_overwrite_replaces(tmp_path, classifier):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"old")
    report = export(classifier, str(path), overwrite=True, print_report=False)
    assert report.verified and path.read_bytes()[4:8] == b"TFL3"


def test_bad_arguments(tmp_path, classifier):
    with pytest.raises(ValueError, match="sequence_length=99 exceeds"):
        export(classifier, str(tmp_path / "m.tflite"), sequence_length=99)
    with pytest.raises(ValueError, match="threads"):
        export(classifier, str(tmp_path / "m.tflite"), threads=0)
    with pytest.raises(ValueError, match="opset"):
        export(classifier, str(tmp_path / "m.onnx"), opset=7)
    bad = {
        "token_ids": np.zeros((1, 4), "float32"),
        "padding_mask": np.ones((1, 4)),
        "segment_ids": np.zeros((1, 4), "int32"),
    }
    with pytest.raises(ValueError, match="must hold integers"):
        export(classifier, str(tmp_path / "m.tflite"), sample=bad)
    with pytest.raises(ValueError, match=r"lacks inputs \['segment_ids'\]"):
        export(
            classifier,
            str(tmp_path / "m.tflite"),
            sample={
                "token_ids": np.zeros((1, 4), "int32"),
                "padding_mask": np.ones((1, 4), "int32"),
            },
        )
    assert not any(p.name.endswith(".tflite") for p in tmp_path.iterdir())


def test_disagreement_keeps_unverified_artifact(tmp_path, classifier):
    path = tmp_path / "m.tflite"
    with pytest.raises(ExportVerificationError, match="UNVERIFIED") as info:
        export(
            classifier,
            str(path),
            tolerance={"atol": 0.0, "per_output": {}},
            sample={k: v[:1] for k, v in next(_calibration()).items()},
            print_report=False,
        )
    kept = tmp_path / "m.UNVERIFIED.tflite"
    assert not path.exists() and kept.exists() and info.value.path == str(kept)
    assert not info.value.report.verified
    assert os.path.exists(reference_paths(kept).json)
    # The standalone runner judges it by the same (zero) tolerance and fails too.
    with pytest.raises(ExportVerificationError, match="fails its standalone check"):
        verify(str(kept), runs=0)
    with pytest.raises(ExportVerificationError, match="fails its standalone check"):
        verify_many([str(kept)], runs=0)


def test_flex_ops_are_named(tmp_path):
    import keras
    import tensorflow as tf

    class NeedsFlex(keras.layers.Layer):
        def call(self, x):
            # A bool strided slice with a new axis has no TFLite builtin kernel.
            flags = tf.cast(x, tf.bool)[:, None, :]
            return tf.reduce_sum(tf.cast(flags, tf.float32), axis=1)

    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    model = keras.Model({"token_ids": token_ids}, NeedsFlex()(token_ids))
    with pytest.raises(ValueError, match=r"StridedSlice.*allow_flex=True"):
        export(model, str(tmp_path / "m.tflite"), sample={"token_ids": np.ones((2, 3), "int32")})
    assert not (tmp_path / "m.tflite").exists()


def test_verify_needs_reference(tmp_path):
    path = tmp_path / "x.tflite"
    with pytest.raises(ValueError, match="No artifact"):
        verify(str(path))
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="no reference files"):
        verify(str(path))


# --- the path's extension names the format; verify checks the content (issue 12) -----------


def test_extension_must_agree_with_the_format(tmp_path, classifier):
    cases = [
        ("m.tflite", "onnx", r"format='onnx' disagrees with the path .*m\.tflite.*\.onnx"),
        ("m.onnx", "saved_model", r"format='saved_model' disagrees .*no extension"),
        ("m", "tflite", r"format='tflite' disagrees .*a saved_model name.*\.tflite"),
        ("m.coreml", None, r"extension '\.coreml' .* names no export format.*\.tflite.*\.onnx"),
        ("m.coreml", "saved_model", r"extension '\.coreml' .* names no export format"),
    ]
    for name, fmt, message in cases:
        with pytest.raises(ValueError, match=message):
            export(classifier, str(tmp_path / name), format=fmt, print_report=False)
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary directory


def test_verify_detects_content_that_disagrees_with_the_name(tmp_path, classifier):
    onnx_path = str(tmp_path / "m.onnx")
    export(classifier, onnx_path, print_report=False)
    # The ONNX file and its reference files under a .tflite name: what the old
    # export(model, "m.tflite", format="onnx") wrote.
    lying = str(tmp_path / "m.tflite")
    os.rename(onnx_path, lying)
    for old, new in zip(reference_paths(onnx_path), reference_paths(lying)):
        os.rename(old, new)
    with pytest.raises(ValueError, match=r"m\.tflite is a onnx artifact.*TFLite flatbuffer"):
        verify(lying)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 64)
    folder = tmp_path / "empty_dir"
    folder.mkdir()
    for bad in (str(junk), str(folder)):
        for old, new in zip(reference_paths(lying), reference_paths(bad)):
            shutil.copy(old, new)
        with pytest.raises(ValueError, match="not a TFLite, ONNX or SavedModel artifact"):
            verify(bad)


def test_sniff_format_reads_magic_bytes(tmp_path):
    from tfzoo.export import formats

    tfl = tmp_path / "a.bin"
    tfl.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32)
    assert formats.sniff_format(str(tfl)) == "tflite"
    import onnx
    from onnx import helper

    graph = helper.make_graph([], "g", [], [])
    model = helper.make_model(graph, producer_name="test")
    path = tmp_path / "b.bin"
    path.write_bytes(model.SerializeToString())
    assert formats.sniff_format(str(path)) == "onnx"
    path.write_bytes(model.SerializeToString()[:-3])  # truncated: a length runs past the end
    assert formats.sniff_format(str(path)) is None
    assert onnx.__version__
    (tmp_path / "sm").mkdir()
    assert formats.sniff_format(str(tmp_path / "sm")) is None
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    assert formats.sniff_format(str(tmp_path / "sm")) == "saved_model"


# --- temporary directories of killed exports; unwritable targets (issue 12) -----------------


def _dead_pid():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_stale_temporary_directories_are_removed(tmp_path, classifier):
    import json
    import socket
    import time

    from tfzoo.export import staging

    path = tmp_path / "m.onnx"

    def leftover(suffix, owner=None, age_s=0):
        folder = tmp_path / f".m.onnx.{suffix}.tmp"
        folder.mkdir()
        if owner is not None:
            (folder / staging.TEMP_OWNER_FILE).write_text(json.dumps(owner))
        if age_s:
            stamp = time.time() - age_s
            os.utime(folder, (stamp, stamp))
        return folder

    host = socket.gethostname()
    dead = leftover("dead0000", {"pid": _dead_pid(), "host": host})  # killed export
    old = leftover("old00000", age_s=staging.STALE_TEMP_SECONDS + 60)  # no owner, two days old
    live = leftover("live0000", {"pid": os.getppid(), "host": host})  # a running process
    elsewhere = leftover("other000", {"pid": _dead_pid(), "host": host + "-other"})  # young
    young = leftover("young000")  # no owner file, just made: could be an export starting
    other_target = tmp_path / ".n.onnx.dead0000.tmp"  # another target's: not ours to judge
    other_target.mkdir()
    with pytest.warns(UserWarning) as kept:
        report = export(classifier, str(path), print_report=False)
    assert report.verified
    # Each folder that stays is named in a warning: a leftover is never kept silently.
    warned = " ".join(str(w.message) for w in kept if "Kept " in str(w.message))
    assert all(f.name in warned for f in (live, elsewhere, young))
    assert other_target.name not in warned
    assert not dead.exists() and not old.exists()
    assert live.exists() and elsewhere.exists() and young.exists() and other_target.exists()
    # The export's own temporary directory is gone too.
    assert sorted(p.name for p in tmp_path.glob(".m.onnx.*.tmp")) == sorted(
        p.name for p in (live, elsewhere, young)
    )


def test_unwritable_target_names_the_target(tmp_path, classifier):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    target = blocker / "m.onnx"
    with pytest.raises(OSError, match=r"Cannot write the export target .*file/m\.onnx") as info:
        export(classifier, str(target), print_report=False)
    assert ".tmp" not in str(info.value)


# --- classifiers are verified on at least 64 rows of the user's data (issue 12) -------------


def _rows(n, length, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 64, (n, length)).astype("int32")
    mask = np.ones_like(ids)
    mask[::2, length - 2 :] = 0
    return {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(ids)}


def test_classifier_is_verified_on_64_rows_of_representative_data(tmp_path, classifier):
    sample = _rows(4, 10, seed=0)
    # Batches of 8 rows with different lengths (a dynamic-length data set).
    data = [_rows(8, 6 + i % 4, seed=i + 1) for i in range(12)]
    path = str(tmp_path / "m.onnx")
    report = export(classifier, path, sample=sample, representative_data=data, print_report=False)
    assert report.verified
    assert report.verified_rows == 64
    assert report.verified_on == "4 sample rows + 60 representative_data rows"
    assert report.sample_shape == [4, 10]  # latency is still timed on the sample
    assert report.outputs[0]["top1"] is not None
    stored = np.load(reference_paths(path).npz)
    assert stored["inputs/token_ids"].shape == (64, 10)  # the rows that counted, re-checked
    np.testing.assert_array_equal(stored["inputs/token_ids"][:4], sample["token_ids"])
    padded = stored["inputs/padding_mask"][4:12]  # first batch, 6 long, padded to 10
    assert not padded[:, 6:].any()
    assert verify(path, runs=1)["ok"]
    # Fewer rows than 64 available: all of them, and a random sample is not mixed in.
    few = export(
        classifier, str(tmp_path / "few.onnx"), representative_data=data[:3], print_report=False
    )
    assert few.verified_rows == 24 and few.verified_on == "24 representative_data rows"
