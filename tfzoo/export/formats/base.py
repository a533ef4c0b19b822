"""The interface every export format provides (`Format`), and the options it is given."""

import dataclasses
import os
import time
from collections.abc import Callable

import numpy as np


def _no_check(options):
    del options


# The module constants a format module declares, and the `Format` fields they fill.
CONSTANTS = {"NAME": "name", "KIND": "kind", "EXTENSION": "extension",
             "RUNNER_SCRIPT": "runner_script"}  # fmt: skip
REQUIRED = ("write", "runner", "runtime", "ops")
OPTIONAL = ("check_arguments", "prepare", "fixed_batch", "sniff", "details")


@dataclasses.dataclass(frozen=True)
class Format:
    """One export format: what `tfzoo.export` dispatches to (see `tfzoo.export.formats`).

    Built from a format module by `Format.from_module`: the module declares the constants
    `NAME`, `KIND`, `EXTENSION`, `RUNNER_SCRIPT` and the functions below.

    Attributes:
        name: str (`NAME`). The key in `FORMATS` and the `format` of reports and reference
            files.
        kind: str (`KIND`). `"model"`: written by `tfzoo.export(model, path)` from a
            `signature.ServingFunction` and verified on sample inputs; `"decoder"`: a causal
            LM's cached decoding loop, written by `tfzoo.export.api.export_decoder` and
            verified by greedy decoding against `generate`.
        extension: str (`EXTENSION`). The file extension (`".tflite"`), `""` for a directory.
        runner_script: str or `None` (`RUNNER_SCRIPT`). The standalone runner in the
            repository's `export/` folder that re-checks the artifact without tfzoo
            (`tfzoo.export.verify`).
        write: `write(source, path, options) -> list of str`. Writes the artifact at `path`
            (a temporary name; the caller moves it into place) and returns notes for the report.
            `source` is a `ServingFunction` (model kind) or the `CausalLM` (decoder kind).
        runner: `runner(path, threads)`. Loads the artifact in its runtime. Model kind: a
            function `run(inputs) -> dict of arrays`; decoder kind: an object with
            `step_logits(prompt, max_new_tokens, forced=None)` and `decode_latency_ms()`.
        runtime: `runtime() -> str`. The runtime and its version, for the report.
        ops: `ops(path, source, run) -> dict`. The op summary: `count`, `by_type`,
            `non_builtin` (for a decoder with signatures, one such dict per signature).
        check_arguments: optional. `check_arguments(options)`: raises `ValueError` for options
            the format cannot honour, before any slow work.
        prepare: model kind, optional. `prepare(serving, options)`: the checks and settings
            that need the traced model (e.g. calibration batches into `options.calibration`).
        fixed_batch: model kind, optional. `fixed_batch(serving, options) -> int or None`:
            the batch size the file is traced for, if it is fixed.
        sniff: optional. `sniff(path) -> bool`: the content is an artifact of this format.
        details: decoder kind, optional. `details(path, run, options) -> dict`: extra report
            fields (shapes, constant bytes).
    """

    name: str
    kind: str
    extension: str
    runner_script: str | None
    write: Callable
    runner: Callable
    runtime: Callable
    ops: Callable
    check_arguments: Callable = _no_check
    prepare: Callable | None = None
    fixed_batch: Callable | None = None
    sniff: Callable | None = None
    details: Callable | None = None

    @classmethod
    def from_module(cls, module):
        """The `Format` a format module declares; names what it lacks."""
        missing = [n for n in (*CONSTANTS, *REQUIRED) if not hasattr(module, n)]
        if missing:
            raise TypeError(f"The export format module {module.__name__} lacks {missing}.")
        fields = {field: getattr(module, constant) for constant, field in CONSTANTS.items()}
        fields.update((name, getattr(module, name)) for name in REQUIRED)
        fields.update((n, getattr(module, n)) for n in OPTIONAL if hasattr(module, n))
        if fields["kind"] not in ("model", "decoder"):
            raise TypeError(f"{module.__name__}.KIND must be 'model' or 'decoder'.")
        return cls(**fields)


@dataclasses.dataclass
class Options:
    """What an export was asked for, passed to a format's `check_arguments` and `write`.

    Attributes:
        quantize: str or `None`. The quantization mode (`None` = float32).
        representative_data: the user's calibration data (model kind), or `None`.
        calibration_steps: int. Batches of `representative_data` a calibration reads.
        calibration: list of input dicts or `None`. Calibration batches, set by `prepare`.
        allow_flex: bool. Let TensorFlow (Flex) ops into a TFLite file.
        opset: int. The ONNX opset.
        max_length: int or `None`. Positions in a decoder's key/value cache.
        prefill_length: int or `None`. Tokens a TFLite decoder's `prefill` signature takes.
    """

    quantize: str | None = None
    representative_data: object = None
    calibration_steps: int = 100
    calibration: list | None = None
    allow_flex: bool = False
    opset: int = 17
    max_length: int | None = None
    prefill_length: int | None = None


def float_only(name):
    """A `check_arguments` for a format without quantization modes."""

    def check_arguments(options):
        if options.quantize is not None:
            raise ValueError(
                f"quantize={options.quantize!r} applies to TFLite only; a {name} export is "
                f"float32. Export to a .tflite path, or pass quantize=None."
            )

    return check_arguments


def check_opset(opset):
    if not isinstance(opset, int) or not 13 <= opset <= 18:
        raise ValueError(f"`opset` must be an int in [13, 18] (tf2onnx 1.17). Received: {opset!r}")


def median_ms(fn, runs=20, warmup=3):
    """Median wall time in ms of `fn()` over `runs` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


def median_latency_ms(run, inputs, runs=20, warmup=3):
    """Median wall time in ms of `run(inputs)` over `runs` calls after `warmup` calls."""
    return median_ms(lambda: run(inputs), runs, warmup)


def artifact_size(path):
    """Bytes of a file, or of every file under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )


def package_version(name):
    """The installed version of a distribution (e.g. `"ai-edge-litert"`)."""
    import importlib.metadata

    return importlib.metadata.version(name)
