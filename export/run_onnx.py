"""Runs a `.onnx` artifact in ONNX Runtime and compares it with its reference files.

    python export/run_onnx.py model.onnx [--threads 2] [--runs 20] [--json]

Needs only NumPy and `onnxruntime` (plus `_common.py` beside this file); it never imports tfzoo,
Keras or TensorFlow. Inputs are fed by name; outputs are matched to the reference by name, or by
order when the names differ (the report says so). Exit code 0 when every output is within the
reference's tolerance, 1 when one is not (or the model cannot load or run), 2 on bad usage.
"""

import sys

import numpy as np

try:  # imported as part of a package
    from . import _common
except ImportError:  # run as a script: this file's folder is on sys.path
    import _common

PROG = "run_onnx"

# ONNX Runtime names element types "tensor(float)"; these are the NumPy dtypes they hold.
_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
}


def _body(argv):
    parser = _common.make_parser(
        PROG,
        "Run a .onnx artifact in ONNX Runtime and compare it with ARTIFACT.reference.{npz,json}.",
        "the .onnx file",
    )
    args = parser.parse_args(argv)
    _common.check_args(args)
    reference = _common.load_reference(args.artifact, "onnx")
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise _common.UsageError(
            f"onnxruntime is not installed ({e}): pip install onnxruntime"
        ) from None

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings would clutter the report
    try:
        session = ort.InferenceSession(
            args.artifact, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception classes
        raise _common.RunnerError(f"ONNX Runtime cannot load {args.artifact}: {e}") from None

    feeds, inputs = _common.match_inputs(
        reference,
        {i.name: (_ORT_DTYPES.get(i.type), list(i.shape), None) for i in session.get_inputs()},
    )
    output_names = [o.name for o in session.get_outputs()]
    try:
        values = session.run(output_names, feeds)
    except Exception as e:  # noqa: BLE001
        raise _common.RunnerError(f"ONNX Runtime failed to run {args.artifact}: {e}") from None
    actual = dict(zip(output_names, values))
    mapping, note = _common.match_outputs(reference, output_names)
    outputs = _common.compare(reference, actual, mapping, _common.overrides_from(args))
    timing = _common.time_runs(lambda: session.run(output_names, feeds), args.warmup, args.runs)

    meta = session.get_modelmeta()
    result = _common.make_result(
        PROG,
        reference,
        {
            "name": f"onnxruntime {ort.__version__}",
            "threads": args.threads,
            "provider": "CPUExecutionProvider",
        },
        inputs,
        outputs,
        timing,
        [note] if note else [],
        signature=None,
        model={"producer": meta.producer_name, "graph": meta.graph_name},
    )
    return _common.print_report(result, args.json)


def main(argv=None):
    """Runs the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    return _common.run_main(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
