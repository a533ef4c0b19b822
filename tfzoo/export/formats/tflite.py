"""TFLite: a `.tflite` flatbuffer with a `serving_default` signature, run by LiteRT (XNNPACK).

The conversion itself (float, dynamic-range, float16, int8 mixed precision, int8-full,
int16x8, quantization-aware models) is `tfzoo/export/tflite_conversion.py`.
"""

import collections
import re

import numpy as np

from tfzoo.export import samples
from tfzoo.export.formats.base import package_version
from tfzoo.export.tflite_conversion import (
    CALIBRATED_MODES,
    ConversionFailed,
    convert_tflite,
    flex_error,
)

NAME = "tflite"
KIND = "model"
EXTENSION = ".tflite"
RUNNER_SCRIPT = "run_tflite.py"

_BUILTIN_TFLITE_OP = re.compile(r"^[A-Z0-9_]+$")


def prepare(serving, options):
    """Reads the calibration batches; a quantization-aware model defaults to (and needs) int8."""
    quantize = options.quantize
    if quantize in CALIBRATED_MODES:
        options.calibration = samples.calibration_batches(
            options.representative_data, serving, options.calibration_steps
        )
        # A quantization-aware model's fake-quant ranges are its scales: no data needed for
        # "int8" or "int8-full" (data, if given, calibrates the ops they leave out, int8-full).
        if options.calibration is None and not (
            quantize in ("int8", "int8-full") and serving.is_qat
        ):
            raise ValueError(
                f"quantize={quantize!r} needs `representative_data` to calibrate activation "
                f"ranges: pass a tf.data.Dataset or an iterable of input dicts (e.g. "
                f"representative_data=val_ds). Or use quantize='dynamic', which needs none, or "
                f"train with tfzoo.compress.prepare_qat."
            )
    elif serving.is_qat and quantize is not None:
        raise ValueError(
            f"This is a quantization-aware model: its fake-quant ops convert to int8. Use "
            f"quantize='int8' (no representative data needed). Received: quantize={quantize!r}"
        )
    if serving.is_qat and quantize is None:
        options.quantize = "int8"  # the fake-quant ranges only mean something as int8 kernels


def fixed_batch(serving, options):
    """A quantization-aware model's file is traced for batch 1 (`tflite_conversion._frozen`)."""
    del options
    return 1 if serving.is_qat else None


def write(serving, path, options):
    """Converts and writes a `.tflite` file; returns the notes of the conversion."""
    try:
        content, notes = convert_tflite(
            serving, options.quantize, options.calibration, options.allow_flex
        )
    except ConversionFailed as e:
        if e.flex_ops and not options.allow_flex:
            raise flex_error(e.flex_ops) from None
        raise RuntimeError(f"The TFLite converter failed: {e}") from None
    with open(path, "wb") as f:
        f.write(content)
    return notes


def runner(path, threads):
    """Returns `run(inputs)` on the `serving_default` signature, LiteRT with XNNPACK."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    signature = interpreter.get_signature_runner("serving_default")

    details = signature.get_input_details()
    fixed = all(list(d["shape_signature"][:1]) == [1] for d in details.values())

    def run(inputs):
        # The signature runner resizes dynamic inputs (-1 in shape_signature) to each call's
        # shapes and re-allocates tensors when they change. A file traced for batch 1 (the
        # quantization-aware int8 path) runs a larger batch one row at a time.
        batch = len(next(iter(inputs.values())))
        if fixed and batch != 1:
            rows = [run({k: v[i : i + 1] for k, v in inputs.items()}) for i in range(batch)]
            return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        return {k: np.array(v) for k, v in signature(**inputs).items()}

    run.interpreter = interpreter
    return run


def runtime():
    return f"ai-edge-litert {package_version('ai-edge-litert')} (XNNPACK)"


def ops(path, serving=None, run=None):
    """Op counts by builtin name, the non-builtin (Flex/custom) ops and XNNPACK partitions."""
    del serving
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    plain = Interpreter(
        model_path=path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    details = plain._get_ops_details()
    names = [str(op["op_name"]) for op in details]
    by_type = dict(sorted(collections.Counter(names).items()))
    summary = {
        "count": len(names),
        "by_type": by_type,
        "non_builtin": sorted(n for n in by_type if not _BUILTIN_TFLITE_OP.match(n)),
        "matmul_dtypes": _matmul_dtypes(plain, details),
    }
    if run is not None and hasattr(run, "interpreter"):
        delegated = [op["op_name"] for op in run.interpreter._get_ops_details()]
        summary["xnnpack_partitions"] = delegated.count("DELEGATE")
    return summary


def _matmul_dtypes(interpreter, details):
    """Count of FULLY_CONNECTED / BATCH_MATMUL ops by the dtype of their weights (or rhs).

    The second input is the one quantization decides: an int8 weight with a float input is
    dynamic-range (`"int8"` weights, float activations); full-integer ops have both int8. A key
    `"int8"` counts ops whose first two inputs are both int8; `"int8_weights"` those with int8
    weights and a float input; other keys are the shared dtype name (`"float32"`, ...).
    """
    dtypes = {}
    for tensor in interpreter.get_tensor_details():
        dtypes[tensor["index"]] = np.dtype(tensor["dtype"]).name
    counts = collections.Counter()
    for op in details:
        if op["op_name"] not in ("FULLY_CONNECTED", "BATCH_MATMUL"):
            continue
        lhs, rhs = (dtypes[int(i)] for i in list(op["inputs"])[:2])
        if lhs == rhs:
            counts[lhs] += 1
        elif rhs == "int8":
            counts["int8_weights"] += 1
        else:
            counts[f"{lhs}x{rhs}"] += 1
    return dict(sorted(counts.items()))


def sniff(path):
    """A TFLite flatbuffer carries the file identifier `TFL3` at bytes 4-8."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] == b"TFL3"
