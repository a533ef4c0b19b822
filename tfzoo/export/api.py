"""`tfzoo.export`: write a SavedModel, TFLite or ONNX artifact and prove it matches Keras.

An export is done only when the artifact has been loaded and run in its own runtime and its
outputs agree with the Keras model's on a sample. Until then the artifact lives under a
temporary name beside the requested path; it is moved onto the path (`os.replace`) only once it
agrees, and kept as `NAME.UNVERIFIED.EXT` when it does not.
"""

import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from tfzoo.export import formats, signature
from tfzoo.export.reference import read_reference, reference_paths, write_reference
from tfzoo.export.verification import ExportVerificationError, compare, default_tolerance
from tfzoo.version import __version__

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZE_MODES = (None,) + formats.QUANTIZE_MODES
REPORT_SUFFIX = ".report.json"
# A classifier given representative data is verified on at least this many of its rows.
VERIFY_ROWS = 64
# Beside every temporary export directory: the pid and host of the export writing it.
TEMP_OWNER_FILE = ".tfzoo-export-owner.json"
# An export directory with no live owner on this host is removed after this many seconds.
STALE_TEMP_SECONDS = 24 * 3600
RUNNERS = {"saved_model": "run_saved_model.py", "tflite": "run_tflite.py", "onnx": "run_onnx.py"}


@dataclasses.dataclass
class ExportReport:
    """What `tfzoo.export` wrote and how the artifact behaved in its runtime.

    Attributes:
        path: str. The artifact (the requested path, or the `.UNVERIFIED` one on failure).
        format: str. `"saved_model"`, `"tflite"` or `"onnx"`.
        quantize: str or `None`. The quantization mode (TFLite only).
        file_size: int. Bytes of the file (or of the SavedModel directory).
        weight_bytes: int. Bytes of the model's variables, for comparison with `file_size`.
        ops: dict. `count`, `by_type` (op name -> count), `non_builtin` (Flex/custom ops) and,
            for TFLite, `xnnpack_partitions` and `matmul_dtypes`: FULLY_CONNECTED and
            BATCH_MATMUL ops counted by input dtype (`{"int8": 18}` for a full-integer file,
            `"int8_weights"` for int8 weights with float inputs, `"float32"`).
        inputs: dict of input name to `{"dtype", "shape"}` (`None` = dynamic dimension).
        sample_shape: list. Shape of the sample's first input, the one latency is timed on
            (`(batch,
            sequence)`, the source for seq2seq; `(batch, height, width, channels)` for ViT).
        outputs: list of dicts per output: `max_abs_diff`, `cosine`, `top1`, `criteria`, `ok`.
        verified: bool. Every output within tolerance.
        verified_rows: int. Rows the outputs (and their `top1` agreement) were compared on:
            at least `VERIFY_ROWS` (64) for a classifier given `representative_data`.
        verified_on: str. Where those rows came from, e.g. `"8 sample rows + 56
            representative_data rows"`.
        latency_ms: float. Median latency of the artifact on the sample in its runtime.
        threads: int. Threads the runtime used.
        runtime: str. The runtime and its version.
        seconds: float. Wall time of the whole export.
        notes: list of str.
    """

    path: str
    format: str
    quantize: str | None
    file_size: int
    weight_bytes: int
    ops: dict
    inputs: dict
    sample_shape: list
    outputs: list
    verified: bool
    latency_ms: float
    threads: int
    runtime: str
    seconds: float
    notes: list
    verified_rows: int = 0
    verified_on: str = ""

    def to_dict(self):
        """The report as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    def __getitem__(self, key):
        return getattr(self, key)

    def table(self):
        """A `rich.table.Table` of the report."""
        from rich.table import Table

        status = "[green]verified[/green]" if self.verified else "[red]NOT VERIFIED[/red]"
        if self.verified_on:
            status += f" on {self.verified_on}"
        title = f"tfzoo.export {self.format}" + (f" ({self.quantize})" if self.quantize else "")
        table = Table(title=title, caption=status, show_header=True)
        for column in ("output", "max_abs_diff", "cosine", "top1", "tolerance", "result"):
            table.add_column(column)
        for o in self.outputs:
            table.add_row(
                o["name"],
                _num(o["max_abs_diff"], ".2e"),
                _num(o["cosine"], ".6f"),
                _num(o["top1"], ".3f"),
                ", ".join(f"{k} {v:g}" for k, v in o["criteria"].items() if v is not None),
                "ok" if o["ok"] else "FAIL: " + "; ".join(o["failures"]),
            )
        return table

    def summary(self):
        """A `rich.table.Table` grid of the artifact's facts (path, size, ops, latency)."""
        from rich.table import Table

        top = sorted(self.ops["by_type"].items(), key=lambda kv: -kv[1])[:8]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("path", self.path)
        grid.add_row(
            "size", f"{self.file_size / 1e6:.3f} MB (weights {self.weight_bytes / 1e6:.3f} MB)"
        )
        grid.add_row(
            "inputs", ", ".join(f"{n} {d['dtype']} {d['shape']}" for n, d in self.inputs.items())
        )
        grid.add_row("ops", f"{self.ops['count']}: " + ", ".join(f"{k} x{v}" for k, v in top))
        grid.add_row("non-builtin", ", ".join(self.ops["non_builtin"]) or "none")
        grid.add_row(
            "latency",
            f"{self.latency_ms:.3f} ms median, sample {tuple(self.sample_shape)}, {self.runtime}, "
            f"{self.threads} threads",
        )
        for note in self.notes:
            grid.add_row("note", note)
        return grid

    def print(self):
        """Prints the report table to the terminal."""
        from rich.console import Console

        console = Console()
        console.print(self.table())
        console.print(self.summary())


def _num(value, spec):
    return "-" if value is None else format(value, spec)


def export(
    model,
    path,
    format=None,
    quantize=None,
    representative_data=None,
    sequence_length=None,
    overwrite=False,
    verify=True,
    sample=None,
    opset=17,
    threads=2,
    allow_flex=False,
    tolerance=None,
    calibration_steps=100,
    print_report=True,
    **format_options,
):
    """Exports a Keras model to SavedModel, TFLite or ONNX and checks it in its runtime.

    The artifact's signature takes the model's named inputs with a dynamic batch: int32 token
    inputs (`token_ids`, `padding_mask`, `segment_ids` as they apply; `encoder_*` and
    `decoder_*` for an encoder-decoder, whose teacher-forced forward pass is exported) with a
    dynamic or fixed sequence length, or float32 `images` of the model's `image_size` (ViT).
    It returns named outputs (`logits`, `embeddings`, or a backbone's `sequence_output` /
    `pooled_output`). Every zoo family (BERT, GPT-2, Llama, transformer/T5 seq2seq, ViT)
    exports to every format; see docs/export.md for the tested matrix. Beside the artifact it writes `PATH.report.json` (this report) and
    `PATH.reference.{npz,json}` (sample inputs and Keras outputs) so the standalone runners in
    `export/` can re-check it without tfzoo (`tfzoo.export.verify(path)`).

    Args:
        model: a tfzoo Keras model (backbone or task) or any Keras model whose inputs are a
            dict of named `(batch, sequence)` int tensors or `(batch, height, width,
            channels)` float images.
        path: str. `*.tflite`, `*.onnx`, or a directory with no extension for a SavedModel.
        format: str or `None`. `"saved_model"`, `"tflite"`, `"onnx"` (or `"litertlm"` for a
            causal LM: `tfzoo.export.litertlm.export_litertlm` takes the call, with its own
            keyword arguments and a dict report; docs/litertlm.md); `None` picks it from
            the extension of `path`, which must agree with it (and name one of the three).
        quantize: `None` (float32), `"dynamic"` (int8 weights, float activations),
            `"float16"` (float16 weights), `"int8"` (int8 matmuls and embeddings, calibrated on
            `representative_data`, LayerNorm/softmax/residuals in float; a quantization-aware
            model needs no data), `"int8-full"` (every op with an int8 kernel in int8; a
            quantization-aware model needs no data either) or
            `"int16x8"` (see docs/compression-quantization.md).
            TFLite only.
        representative_data: calibration data for `"int8"` / `"int16x8"`: a `tf.data.Dataset`
            or an iterable of input dicts (or `(x, y)` tuples), e.g. the validation set. A
            one-input model (ViT) also takes bare image batches or `(images, labels)`. A
            classifier given it (in any mode) is also verified on its rows: the `sample`
            rows plus enough of these for at least 64 (`report.verified_rows`).
        sequence_length: int or `None`. `None` keeps the sequence dimension dynamic; an int
            fixes it (what on-device TFLite wants: static shapes, no tensor resizing), for
            the source and the target of an encoder-decoder alike. Not for image models.
        overwrite: bool. Replace an existing artifact at `path`. Defaults to `False`.
        verify: bool. Run the artifact in its runtime and compare it with Keras. With `False`
            the artifact is written unchecked (the report says so). Defaults to `True`.
        sample: dict of input name to array, the verification inputs. Defaults to random
            valid ids `(2, sequence_length or 16)` with right padding in the second row (a
            seq2seq target 3/4 as long as its source when the length is dynamic), or random
            images in `[-1, 1]` `(2, image_size, image_size, channels)`; `(1, ...)` for a
            quantization-aware model exported to int8 TFLite, whose file has a fixed batch
            of 1.
        opset: int. ONNX opset. Defaults to `17`.
        threads: int. Runtime threads for verification and latency. Defaults to `2`.
        allow_flex: bool. Let a TFLite model use TensorFlow (Flex) ops. Defaults to `False`.
        tolerance: dict or `None`. Replaces the default tolerance (see
            `tfzoo.export.verification`), in the `write_reference` format.
        calibration_steps: int. Batches of `representative_data` used. Defaults to `100`.
        print_report: bool. Print the report table. Defaults to `True`.

    Returns:
        An `ExportReport` (also written as `PATH.report.json`).

    Raises:
        ValueError: bad arguments (unknown format or mode, a path whose extension disagrees
            with the format, an existing path without
            `overwrite=True`, int8 without representative data, Flex ops without
            `allow_flex=True`, bad sample), or a layer that cannot be exported as asked
            (local attention with a fixed `sequence_length` below its window), named
            before any conversion.
        ExportVerificationError: the artifact disagrees with Keras; it is kept as
            `NAME.UNVERIFIED.EXT`.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> report = tfzoo.export(model, "out/bert-tiny-int8.tflite", quantize="int8",
    ...                       representative_data=val_ds, sequence_length=128)
    >>> report.verified, report.latency_ms
    """
    if format == "litertlm" or (format is None and os.fspath(path).endswith(".litertlm")):
        from tfzoo.export.litertlm import export_litertlm  # see docs/litertlm.md

        return export_litertlm(
            model, path, quantize=quantize, threads=threads, overwrite=overwrite, **format_options
        )
    if format_options:
        raise TypeError(f"export() got unexpected keyword arguments {sorted(format_options)}.")
    start = time.perf_counter()
    path = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    format = _check_format(format, path)
    _check_arguments(format, quantize, sequence_length, opset, threads, calibration_steps, model)
    signature.check_exportable(model, sequence_length)
    if os.path.lexists(path) and not overwrite:
        raise ValueError(
            f"{path} already exists; tfzoo.export never replaces a file silently. Pass "
            f"overwrite=True to replace it, or choose another path."
        )

    serving = signature.ServingFunction(model, sequence_length)
    calibration = None
    if quantize in formats.CALIBRATED_MODES:
        calibration = _calibration_batches(representative_data, serving, calibration_steps)
        # A quantization-aware model's fake-quant ranges are its scales: no data needed for
        # "int8" or "int8-full" (data, if given, calibrates the ops they leave out, int8-full).
        if calibration is None and not (quantize in ("int8", "int8-full") and serving.is_qat):
            raise ValueError(
                f"quantize={quantize!r} needs `representative_data` to calibrate activation "
                f"ranges: pass a tf.data.Dataset or an iterable of input dicts (e.g. "
                f"representative_data=val_ds). Or use quantize='dynamic', which needs none, or "
                f"train with tfzoo.compress.prepare_qat."
            )
    elif serving.is_qat and format == "tflite" and quantize not in (None, "int8", "int8-full"):
        raise ValueError(
            f"This is a quantization-aware model: its fake-quant ops convert to int8. Use "
            f"quantize='int8' (no representative data needed). Received: quantize={quantize!r}"
        )
    if serving.is_qat and format == "tflite" and quantize is None:
        quantize = "int8"  # the fake-quant ranges only mean something as int8 kernels

    if sample is None:
        # A quantization-aware TFLite file is traced for batch 1 (see formats._frozen): a
        # one-row sample keeps its reference files runnable by the standalone export/ runner.
        batch_size = 1 if serving.is_qat and format == "tflite" else 2
        inputs = signature.random_sample(
            model, serving.specs, sequence_length, batch_size=batch_size
        )
    else:
        inputs = signature.check_inputs("sample", sample, serving.specs)
    checked, expected, verified_on = _verification_set(
        model, serving, inputs, sample is not None, representative_data, calibration
    )

    temp = _make_temp_dir(path)
    try:
        artifact = os.path.join(temp, os.path.basename(path))
        notes = _write(format, serving, artifact, quantize, calibration, allow_flex, opset)
        run, runtime = _runner(format, artifact, threads)
        tolerance = tolerance or default_tolerance(quantize, expected)
        if verify:
            actual = run(checked)
            results = compare(expected, actual, tolerance)
        else:
            results = [
                {
                    "name": n,
                    "shape": list(v.shape),
                    "criteria": {},
                    "max_abs_diff": None,
                    "cosine": None,
                    "top1": None,
                    "ok": False,
                    "failures": ["not verified"],
                }
                for n, v in expected.items()
            ]
            notes.append("verify=False: the artifact was not compared with the Keras model")
        latency = formats.median_latency_ms(run, inputs)
        # After running: XNNPACK takes its partitions on the first invoke.
        ops = _ops(format, serving, artifact, run)
        del run  # release the runtime's hold on the temporary file before moving it
        verified = verify and all(r["ok"] for r in results)
        final = path if verified or not verify else _unverified_path(path, overwrite)
        report = ExportReport(
            path=final,
            format=format,
            quantize=quantize,
            file_size=formats.artifact_size(artifact),
            weight_bytes=serving.weight_bytes,
            ops=ops,
            inputs={
                n: {
                    "dtype": s.dtype.name,
                    "shape": [None if d is None else int(d) for d in s.shape],
                }
                for n, s in serving.specs.items()
            },
            sample_shape=list(next(iter(inputs.values())).shape),
            outputs=results,
            verified=bool(verified),
            latency_ms=latency,
            threads=threads,
            runtime=runtime,
            seconds=0.0,
            notes=notes,
            verified_rows=len(next(iter(checked.values()))),
            verified_on=verified_on,
        )
        _move_into_place(artifact, final)
    finally:
        shutil.rmtree(temp, ignore_errors=True)

    reference_inputs, reference_outputs = checked, expected
    if serving.is_qat and format == "tflite" and report.verified_rows > 1:
        # The file takes batch 1: the standalone runner feeds the reference as one batch.
        reference_inputs = {k: v[:1] for k, v in checked.items()}
        reference_outputs = {k: v[:1] for k, v in expected.items()}
        report.notes.append(
            f"verified on all {report.verified_rows} rows (one at a time); the reference "
            f"files keep the first row for the batch-1 file"
        )
    write_reference(
        final,
        reference_inputs,
        reference_outputs,
        format=format,
        tolerance=tolerance,
        extra={"tfzoo_version": __version__, "model": model.name, "quantize": quantize},
    )
    report.seconds = time.perf_counter() - start
    _atomic_write_text(final + REPORT_SUFFIX, json.dumps(report.to_dict(), indent=2) + "\n")
    if print_report:
        report.print()
    if verify and not verified:
        failures = [f"{o['name']}: {'; '.join(o['failures'])}" for o in results if not o["ok"]]
        raise ExportVerificationError(
            f"The {format} artifact disagrees with the Keras model ({'; '.join(failures)}). It "
            f"was kept at {final} for inspection, not at {path}.",
            report=report,
            path=final,
        )
    return report


def verify(path, threads=2, runs=20, timeout=600):
    """Re-checks a saved artifact with its standalone runner in a separate process.

    Runs `export/run_tflite.py`, `export/run_onnx.py` or `export/run_saved_model.py` (which never
    import tfzoo) on `path` and its reference files, as a deployment machine would.

    Args:
        path: str. An artifact written by `tfzoo.export` (with its `.reference.*` files).
        threads: int. Runtime threads. Defaults to `2`.
        runs: int. Timed runs. Defaults to `20`.
        timeout: float. Seconds before the runner is stopped. Defaults to `600`.

    Returns:
        The runner's result dict (`ok`, `outputs` with `max_abs_diff`/`cosine`/`top1`, `timing`
        with `median_ms`, `runtime`, `ops` for TFLite).

    Raises:
        ValueError: no artifact or reference files at `path`, content that does not match
            the name (`formats.sniff_format`), or no runner folder found.
        ExportVerificationError: the artifact does not load or disagrees with its reference.

    Example:

    >>> result = tfzoo.export.verify("out/bert-tiny.tflite")   # result.get("ok") is True
    """
    path = _checked_artifact(path)
    meta, _, _ = read_reference(path)
    script = os.path.join(runner_dir(), RUNNERS[meta["format"]])
    command = [sys.executable, script, path, *_runner_options(threads, runs)]
    done = _run(command, timeout)
    results = _json_lines(done)
    if not results:
        raise ExportVerificationError(
            f"{script} printed no result (exit code {done.returncode}): {done.stderr[-500:]}",
            path=path,
        )
    return _judge(path, meta["format"], results[-1])


def verify_many(paths, threads=2, runs=20, timeout=600):
    """Re-checks several saved artifacts: one runner process per format, not per artifact.

    The same standalone runners as `verify`, but all artifacts of one format go through one
    subprocess that imports the runner (and its runtime, e.g. TensorFlow for SavedModels,
    whose import takes most of a check) once and runs its `main` for each artifact in turn.
    Use it to check many artifacts quickly (a test matrix); `verify` gives each artifact a
    fresh process.

    Args:
        paths: list of str. Artifacts written by `tfzoo.export`.
        threads: int. Runtime threads. Defaults to `2`.
        runs: int. Timed runs per artifact. Defaults to `20`.
        timeout: float. Seconds before one format's runner process is stopped. Defaults to
            `600`.

    Returns:
        A list of the runners' result dicts, in the order of `paths`.

    Raises:
        ValueError: as `verify`, for the first artifact that has nothing to check.
        ExportVerificationError: for the first artifact (in `paths` order) that does not load
            or disagrees with its reference.

    Example:

    >>> results = tfzoo.export.verify_many(["out/a", "out/b"])   # one TensorFlow process
    """
    paths = [_checked_artifact(p) for p in paths]
    formats = [read_reference(p)[0]["format"] for p in paths]
    folder = runner_dir()
    results = {}
    for format in dict.fromkeys(formats):
        group = [p for p, f in zip(paths, formats) if f == format]
        module = os.path.splitext(RUNNERS[format])[0]
        # The runner's own main(), once per artifact, in one process that never imports tfzoo.
        driver = (
            "import importlib, json, sys\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "runner = importlib.import_module(sys.argv[2])\n"
            "options = json.loads(sys.argv[3])\n"
            "for path in sys.argv[4:]:\n"
            "    runner.main([path, *options])\n"
        )
        options = json.dumps(_runner_options(threads, runs))
        done = _run([sys.executable, "-c", driver, folder, module, options, *group], timeout)
        lines = _json_lines(done)
        if len(lines) != len(group):
            raise ExportVerificationError(
                f"{RUNNERS[format]} printed {len(lines)} results for {len(group)} artifacts "
                f"(exit code {done.returncode}): {done.stderr[-500:]}",
                path=group[len(lines)] if len(lines) < len(group) else None,
            )
        results.update(zip(group, lines))
    return [_judge(p, f, results[p]) for p, f in zip(paths, formats)]


def _checked_artifact(path):
    path = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"No artifact at {path}: export one first with tfzoo.export(model, path).")
    if not os.path.exists(reference_paths(path).json):
        raise ValueError(
            f"{path} has no reference files ({reference_paths(path).json}); re-export it with "
            f"tfzoo.export, which writes them."
        )
    named = formats.format_from_extension(path) or "saved_model"
    found = formats.sniff_format(path)
    if found != named:
        what = f"a {found} artifact" if found else "not a TFLite, ONNX or SavedModel artifact"
        expected = {
            "tflite": "a .tflite name holds a TFLite flatbuffer ('TFL3' at byte 4)",
            "onnx": "an .onnx name holds an ONNX ModelProto",
            "saved_model": "any other name is a SavedModel directory with saved_model.pb",
        }[named]
        raise ValueError(
            f"{path} is {what}, but {expected}: its content does not match its name. Re-export "
            f"it with tfzoo.export to a path whose extension matches the format."
        )
    return path


def _runner_options(threads, runs):
    return ["--json", "--threads", str(threads), "--runs", str(runs)]


def _run(command, timeout):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def _json_lines(done):
    """The runner's JSON results on stdout, in order (one line per artifact)."""
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _judge(path, format, result):
    """Returns the runner's result, or raises as `verify` documents from its exit code."""
    code = result.get("exit_code", 1)
    result["exit_code"] = code
    if code == 2:
        raise ValueError(f"{RUNNERS[format]}: {result.get('error')}")
    if code != 0:
        detail = result.get("error") or "; ".join(
            f"{o['name']}: {'; '.join(o['failures'])}"
            for o in result.get("outputs", [])
            if not o["ok"]
        )
        raise ExportVerificationError(
            f"{path} fails its standalone check ({RUNNERS[format]}): {detail}",
            report=result,
            path=path,
        )
    return result


def runner_dir():
    """The folder of the standalone runners: `$TFZOO_EXPORT_RUNNERS`, else `export/` in the repo."""
    folder = os.environ.get("TFZOO_EXPORT_RUNNERS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "export"
    )
    if not os.path.isfile(os.path.join(folder, "run_tflite.py")):
        raise ValueError(
            f"The export runners are not at {folder}. They ship in the tfzoo repository's "
            f"export/ folder; point TFZOO_EXPORT_RUNNERS at a copy of it."
        )
    return folder


# --- helpers ---------------------------------------------------------------------------------


def _check_format(format, path):
    """The format to write: `format`, which must agree with the extension of `path`."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"Unsupported format {format!r}. Supported: {list(FORMATS)}.")
    named = formats.format_from_extension(path)
    suffix = os.path.splitext(os.path.basename(path))[1]
    if named is None:
        raise ValueError(
            f"The extension {suffix!r} of {path} names no export format: use .tflite (TFLite), "
            f".onnx (ONNX) or no extension (a SavedModel directory). Received: path={path!r}"
        )
    if format is not None and format != named:
        wanted = formats.EXTENSIONS[format] or "no extension (a SavedModel directory)"
        raise ValueError(
            f"format={format!r} disagrees with the path {path!r} (a {named} name): give it "
            f"{wanted}, or pass format={named!r}."
        )
    return named


def _check_arguments(format, quantize, sequence_length, opset, threads, calibration_steps, model):
    if quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"Unsupported quantize={quantize!r}. Supported: {list(QUANTIZE_MODES)} (TFLite)."
        )
    if quantize is not None and format != "tflite":
        raise ValueError(
            f"quantize={quantize!r} applies to TFLite only; a {format} export is float32. "
            f"Export to a .tflite path, or pass quantize=None."
        )
    if sequence_length is not None:
        max_len = signature.find_attribute(model, "max_sequence_length")
        if not isinstance(sequence_length, int) or sequence_length < 1:
            raise ValueError(
                f"`sequence_length` must be a positive int or None (dynamic). Received: "
                f"sequence_length={sequence_length!r}"
            )
        if max_len is not None and sequence_length > max_len:
            raise ValueError(
                f"sequence_length={sequence_length} exceeds the model's max_sequence_length="
                f"{max_len}. Export with sequence_length <= {max_len}."
            )
        inputs = getattr(model, "input", None)
        if isinstance(inputs, dict) and not any(len(t.shape) == 2 for t in inputs.values()):
            raise ValueError(
                f"`sequence_length` applies to token inputs; {type(model).__name__} takes "
                f"{sorted(inputs)} (images are exported at the model's image_size). Received: "
                f"sequence_length={sequence_length!r}"
            )
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"`threads` must be an int >= 1. Received: threads={threads!r}")
    if not isinstance(opset, int) or not 13 <= opset <= 18:
        raise ValueError(f"`opset` must be an int in [13, 18] (tf2onnx 1.17). Received: {opset!r}")
    if not isinstance(calibration_steps, int) or calibration_steps < 1:
        raise ValueError(
            f"`calibration_steps` must be an int >= 1. Received: {calibration_steps!r}"
        )


def _calibration_batches(data, serving, steps):
    """Up to `steps` validated input dicts from a data set or iterable; `None` if no data."""
    if data is None:
        return None
    if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset
        items = data.take(steps).as_numpy_iterator()
    elif isinstance(data, dict):
        items = [data]
    else:
        try:
            items = iter(data() if callable(data) else data)
        except TypeError:
            raise ValueError(
                f"`representative_data` must be a tf.data.Dataset or an iterable of input dicts. "
                f"Received a {type(data).__name__}."
            ) from None
    batches = []
    for item in items:
        batches.append(signature.check_inputs("representative_data", item, serving.specs))
        if len(batches) >= steps:
            break
    if not batches:
        raise ValueError("`representative_data` is empty: give it at least one batch of inputs.")
    return batches


def _verification_set(model, serving, inputs, user_sample, representative_data, calibration):
    """The rows the artifact is compared on, the Keras outputs for them, and their source.

    A classifier (a 2-D `logits` output) given `representative_data` is verified on at least
    `VERIFY_ROWS` rows of it (after the rows of a user `sample`, which are kept; a random
    sample is replaced): top-1 agreement on the 2-8 rows of a sample says little (one flip
    on 8 rows is 0.875). Token rows of different lengths are right-padded with 0 (ids,
    `padding_mask` and segments alike), so a dynamic-length data set can be stacked.
    """
    expected = _keras_outputs(model, inputs)
    rows = len(next(iter(inputs.values())))
    source = f"{rows} {'sample' if user_sample else 'random sample'} rows"
    logits = expected.get("logits")
    if representative_data is None or logits is None or logits.ndim != 2 or rows >= VERIFY_ROWS:
        return inputs, expected, source
    if calibration is None:
        calibration = _calibration_batches(representative_data, serving, VERIFY_ROWS)
    pieces, taken = ([inputs], rows) if user_sample else ([], 0)
    for batch in calibration:
        if taken >= VERIFY_ROWS:
            break
        batch = {k: v[: VERIFY_ROWS - taken] for k, v in batch.items()}
        pieces.append(batch)
        taken += len(next(iter(batch.values())))
    checked = _stack_rows(pieces)
    extra = taken - (rows if user_sample else 0)
    source = (f"{rows} sample rows + " if user_sample else "") + (
        f"{extra} representative_data rows"
    )
    return checked, _keras_outputs(model, checked), source


def _keras_outputs(model, inputs):
    outputs = signature.as_output_dict(model, model(inputs, training=False))
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in outputs.items()}


def _stack_rows(pieces):
    """Concatenates input dicts along the batch, right-padding token inputs with 0."""
    stacked = {}
    for name in pieces[0]:
        arrays = [p[name] for p in pieces]
        if arrays[0].ndim == 2:
            width = max(a.shape[1] for a in arrays)
            arrays = [np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in arrays]
        stacked[name] = np.concatenate(arrays, axis=0)
    return stacked


def _write(format, serving, artifact, quantize, calibration, allow_flex, opset):
    if format == "saved_model":
        formats.write_saved_model(serving, artifact)
        return []
    if format == "tflite":
        return formats.write_tflite(serving, artifact, quantize, calibration, allow_flex)
    formats.write_onnx(serving, artifact, opset)
    return []


def _runner(format, artifact, threads):
    import importlib.metadata

    if format == "saved_model":
        import tensorflow as tf

        return formats.saved_model_runner(artifact, threads), f"tensorflow {tf.__version__}"
    if format == "tflite":
        version = importlib.metadata.version("ai-edge-litert")
        return formats.tflite_runner(artifact, threads), f"ai-edge-litert {version} (XNNPACK)"
    import onnxruntime

    return formats.onnx_runner(artifact, threads), f"onnxruntime {onnxruntime.__version__}"


def _ops(format, serving, artifact, run):
    if format == "saved_model":
        return formats.saved_model_ops(serving)
    if format == "tflite":
        return formats.tflite_ops(artifact, run)
    return formats.onnx_ops(artifact)


def _make_temp_dir(path):
    """Creates `.NAME.XXXXXXXX.tmp/` beside `path`, after removing stale ones (`_is_stale`).

    The directory holds an owner file (this process's pid and host) so that a later export to
    the same path can tell a leftover of a killed export from one still running.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    try:
        os.makedirs(folder, exist_ok=True)
        remove_stale_temp_dirs(path)
        temp = tempfile.mkdtemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
        with open(os.path.join(temp, TEMP_OWNER_FILE), "w", encoding="utf-8") as f:
            json.dump(owner, f)
    except OSError as e:
        raise type(e)(
            f"Cannot write the export target {path}: {e.strerror or e} in {folder}. Choose a "
            f"path in a writable folder."
        ) from None
    return temp


def remove_stale_temp_dirs(path, max_age_s=STALE_TEMP_SECONDS):
    """Removes the temporary directories that killed exports to `path` left beside it.

    A `.NAME.XXXXXXXX.tmp/` directory is stale when its owner file names this host and a
    process id that no longer runs, or (another host, no owner file, or a platform without
    a process check) when it was last modified more than `max_age_s` seconds ago. A live
    export's directory is never removed.

    Args:
        path: str. The export target whose leftovers to remove.
        max_age_s: float. Age after which an unowned directory is stale. Defaults to 24 hours.

    A directory that is kept (a live export, or a young one without a live owner) is reported
    with a warning that names it, so that a leftover is never kept silently.

    Returns:
        The list of removed directories.
    """
    folder = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{os.path.basename(path)}.") + r"[A-Za-z0-9_]+\.tmp")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        candidate = os.path.join(folder, name)
        if pattern.fullmatch(name) and os.path.isdir(candidate) and not os.path.islink(candidate):
            if _is_stale(candidate, max_age_s):
                shutil.rmtree(candidate, ignore_errors=True)
                removed.append(candidate)
            else:
                warnings.warn(
                    f"Kept {candidate}: a temporary folder of another export to {path} that may "
                    f"still be running. Remove it by hand if no export is running.",
                    stacklevel=3,
                )
    return removed


def _is_stale(temp, max_age_s):
    try:
        with open(os.path.join(temp, TEMP_OWNER_FILE), encoding="utf-8") as f:
            owner = json.load(f)
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        pid, host = None, None
    if pid is not None and host == socket.gethostname() and os.name == "posix":
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:  # PermissionError: it exists, owned by another user
            return False
        return False
    try:
        return time.time() - os.path.getmtime(temp) > max_age_s
    except OSError:
        return False


def _unverified_path(path, overwrite):
    """`model.tflite` -> `model.UNVERIFIED.tflite` (`-1`, `-2`, ... if that exists)."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in (".tflite", ".onnx"):
        stem, ext = path, ""
    candidate = f"{stem}.UNVERIFIED{ext}"
    index = 0
    while os.path.lexists(candidate) and not overwrite:
        index += 1
        candidate = f"{stem}.UNVERIFIED-{index}{ext}"
    return candidate


def _move_into_place(source, destination):
    """Moves a file or directory onto `destination` atomically (replacing it, if it exists)."""
    if os.path.isdir(destination) and not os.path.islink(destination):
        # os.replace cannot put a directory over a non-empty one: move the old one aside first.
        aside = tempfile.mkdtemp(
            prefix=".replaced.", dir=os.path.dirname(os.path.abspath(destination))
        )
        os.replace(destination, os.path.join(aside, "old"))
        os.replace(source, destination)
        shutil.rmtree(aside, ignore_errors=True)
    elif os.path.isdir(source) and os.path.lexists(destination):
        os.remove(destination)
        os.replace(source, destination)
    else:
        os.replace(source, destination)


def _atomic_write_text(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
