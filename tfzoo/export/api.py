"""`tfzoo.export`: write an artifact in any format of `formats.FORMATS` and prove it matches Keras.

An export is done only when the artifact has been loaded and run in its own runtime and its
outputs agree with the Keras model's. Until then the artifact lives under a temporary name
beside the requested path (`staging.Stage`); it is moved onto the path (`os.replace`) only once
it agrees, and kept as `NAME.UNVERIFIED.EXT` when it does not. `export` (the model formats) and
`export_decoder` (a causal LM's cached decoding loop) are the only two pipelines; what differs
between formats is in `tfzoo/export/formats/<name>.py`, reached through `formats.FORMATS`.
"""

import os
import time

from tfzoo.export import formats, samples, signature, staging
from tfzoo.export.formats import Options, decoder_base
from tfzoo.export.formats.base import artifact_size, check_opset, median_latency_ms
from tfzoo.export.reference import write_reference
from tfzoo.export.report import ExportReport, write_report
from tfzoo.export.tflite_conversion import QUANTIZE_MODES as TFLITE_QUANTIZE_MODES
from tfzoo.export.verification import (
    compare,
    compare_decoder,
    default_tolerance,
    unmeasured,
    unverified_error,
)
from tfzoo.version import __version__

FORMATS = formats.MODEL_FORMATS  # the public `tfzoo.export.FORMATS`: the formats `export` writes
QUANTIZE_MODES = (None,) + TFLITE_QUANTIZE_MODES

__all__ = ["FORMATS", "QUANTIZE_MODES", "ExportReport", "export", "export_decoder"]


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
    litertlm = formats.FORMATS["litertlm"]  # a decoder format with its own pipeline
    if format == litertlm.name or (format is None and os.fspath(path).endswith(litertlm.extension)):
        from tfzoo.export.litertlm import export_litertlm  # see docs/litertlm.md

        return export_litertlm(
            model, path, quantize=quantize, threads=threads, overwrite=overwrite, **format_options
        )
    if format_options:
        raise TypeError(f"export() got unexpected keyword arguments {sorted(format_options)}.")
    start = time.perf_counter()
    path = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    fmt = formats.FORMATS[_check_format(format, path)]
    options = Options(quantize=quantize, allow_flex=allow_flex, opset=opset)
    options.representative_data, options.calibration_steps = representative_data, calibration_steps
    _check_arguments(fmt, options, sequence_length, threads, model)
    signature.check_exportable(model, sequence_length)
    staging.check_new_path(path, overwrite)

    serving = signature.ServingFunction(model, sequence_length)
    if fmt.prepare is not None:
        fmt.prepare(serving, options)  # calibration batches; may settle `options.quantize`
    # A file traced for a fixed batch (a quantization-aware TFLite file has batch 1) gets a
    # sample of that many rows, so its reference files run in the standalone export/ runner.
    fixed_batch = fmt.fixed_batch(serving, options) if fmt.fixed_batch is not None else None
    inputs = samples.sample_inputs(model, serving, sample, sequence_length, fixed_batch or 2)
    checked, expected, verified_on = samples.verification_set(
        model, serving, inputs, sample is not None, representative_data, options.calibration
    )
    tolerance = tolerance or default_tolerance(options.quantize, expected)

    with staging.Stage(path, overwrite) as stage:
        notes = fmt.write(serving, stage.artifact, options)
        run = fmt.runner(stage.artifact, threads)
        if verify:
            results = compare(expected, run(checked), tolerance)
        else:
            results = [unmeasured(n, v, {}, "not verified") for n, v in expected.items()]
            notes.append("verify=False: the artifact was not compared with the Keras model")
        latency = median_latency_ms(run, inputs)
        ops = fmt.ops(stage.artifact, serving, run)  # after running: XNNPACK partitions on use
        del run  # release the runtime's hold on the temporary file before moving it
        verified = verify and all(r["ok"] for r in results)
        file_size = artifact_size(stage.artifact)
        final = stage.place(verified or not verify)
    report = ExportReport(
        path=final,
        format=fmt.name,
        quantize=options.quantize,
        file_size=file_size,
        weight_bytes=serving.weight_bytes,
        ops=ops,
        inputs={
            n: {"dtype": s.dtype.name, "shape": [None if d is None else int(d) for d in s.shape]}
            for n, s in serving.specs.items()
        },
        sample_shape=list(next(iter(inputs.values())).shape),
        outputs=results,
        verified=bool(verified),
        latency_ms=latency,
        threads=threads,
        runtime=fmt.runtime(),
        seconds=0.0,
        notes=notes,
        verified_rows=len(next(iter(checked.values()))),
        verified_on=verified_on,
    )
    _write_reference(report, checked, expected, fixed_batch, tolerance, model.name)
    report.seconds = time.perf_counter() - start
    if print_report:
        report.print()
    failures = "; ".join(f"{o['name']}: {'; '.join(o['failures'])}" for o in results if not o["ok"])
    _finish(report, path, f"{fmt.name} artifact", failures, raise_if_unverified=verify)
    return report


def export_decoder(format, causal_lm, path, overwrite=False, threads=2, **options):
    """Writes a causal LM's cached decoding loop in a decoder format of `formats.FORMATS`.

    The public entry points are `tfzoo.export.decoding.export_tflite_decoder` and
    `export_onnx_decoder` (also `tfzoo.export.tflite_decoder` / `onnx_decoder`); see them for
    the arguments (`options` are `max_length`, `prefill_length`, `quantize`, `opset`) and the
    report. The artifact is verified by greedy decoding in its runtime against
    `causal_lm.generate` (`verification.compare_decoder`) before it is moved onto `path`.

    Returns:
        The report dict, also written as `PATH.report.json`.

    Raises:
        ValueError: bad arguments, named before any conversion.
        ExportVerificationError: the artifact disagrees with the Keras model; it is kept at
            `NAME.UNVERIFIED.EXT`.
    """
    start = time.perf_counter()
    fmt = formats.FORMATS[format]
    path = decoder_base.check_path(path, fmt.extension, overwrite)
    backbone = decoder_base.check_causal_lm(causal_lm)
    options = Options(**options)
    options.max_length = decoder_base.check_max_length(options.max_length, backbone)
    fmt.check_arguments(options)
    _check_threads(threads)

    with staging.Stage(path, overwrite) as stage:
        fmt.write(causal_lm, stage.artifact, options)
        decoder = fmt.runner(stage.artifact, threads)
        verification = compare_decoder(causal_lm, decoder, options.quantize, options.max_length)
        decode_ms = decoder.decode_latency_ms()
        ops = fmt.ops(stage.artifact, causal_lm, decoder)
        details = fmt.details(stage.artifact, decoder, options) if fmt.details else {}
        del decoder  # release the runtime's hold on the file before moving it
        file_size = os.path.getsize(stage.artifact)
        final = stage.place(verification["ok"])
    fields = {
        "weight_bytes": decoder_base.weight_bytes(causal_lm),
        "max_length": options.max_length,
        **details,
        "decode_ms": decode_ms,
    }
    report = decoder_base.decoder_report(
        fmt, final, options.quantize, file_size, fields, ops, verification, start
    )
    v = verification
    detail = (
        f"greedy_match={v['greedy_match']}, max_abs_diff={v['max_abs_diff']:.3g}, "
        f"cosine={v['cosine']:.6f}; criteria {v['criteria']}"
    )
    _finish(report, path, "decoder", detail)
    return report


def _finish(report, path, subject, detail, raise_if_unverified=True):
    """Writes `PATH.report.json` beside the placed artifact; raises if it did not verify."""
    write_report(report)
    if raise_if_unverified and not report["verified"]:
        raise unverified_error(subject, detail, report["path"], path, report)


def _write_reference(report, inputs, outputs, fixed_batch, tolerance, model_name):
    """`PATH.reference.{npz,json}`: the rows and Keras outputs the standalone runner checks."""
    if fixed_batch and report.verified_rows > fixed_batch:
        # The file takes a fixed batch: the standalone runner feeds the reference as one batch.
        inputs = {k: v[:fixed_batch] for k, v in inputs.items()}
        outputs = {k: v[:fixed_batch] for k, v in outputs.items()}
        rows = "the first row" if fixed_batch == 1 else f"the first {fixed_batch} rows"
        report.notes.append(
            f"verified on all {report.verified_rows} rows (one at a time); the reference "
            f"files keep {rows} for the batch-{fixed_batch} file"
        )
    write_reference(
        report.path,
        inputs,
        outputs,
        format=report.format,
        tolerance=tolerance,
        extra={"tfzoo_version": __version__, "model": model_name, "quantize": report.quantize},
    )


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


def _check_arguments(fmt, options, sequence_length, threads, model):
    """The arguments of `export` every format shares, then the format's own checks."""
    quantize = options.quantize
    if quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"Unsupported quantize={quantize!r}. Supported: {list(QUANTIZE_MODES)} (TFLite)."
        )
    fmt.check_arguments(options)
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
    _check_threads(threads)
    check_opset(options.opset)
    steps = options.calibration_steps
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`calibration_steps` must be an int >= 1. Received: {steps!r}")


def _check_threads(threads):
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"`threads` must be an int >= 1. Received: threads={threads!r}")
