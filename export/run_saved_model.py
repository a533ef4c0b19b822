"""Runs a SavedModel directory in TensorFlow and compares it with its reference files.

    python export/run_saved_model.py DIR [--signature serving_default] [--threads 2] [--runs 20] [--json]

Calls `tf.saved_model.load(DIR).signatures[NAME](**inputs)`, the way TF Serving and a Python
service call an exported model. Needs NumPy and TensorFlow (plus `_common.py` beside this file);
it never imports tfzoo or Keras. Exit code 0 when every output is within the reference's
tolerance, 1 when one is not (or the model cannot load or run), 2 on bad usage.
"""

import os
import sys

try:  # imported as part of a package
    from . import _common
except ImportError:  # run as a script: this file's folder is on sys.path
    import _common

PROG = "run_saved_model"


def _body(argv):
    parser = _common.make_parser(
        PROG,
        "Run a SavedModel directory in TensorFlow and compare it with DIR.reference.{npz,json}.",
        "the SavedModel directory",
    )
    parser.add_argument("--signature", help="signature to call (default: the reference's)")
    args = parser.parse_args(argv)
    _common.check_args(args)
    if os.path.exists(args.artifact) and not os.path.isfile(
        os.path.join(args.artifact, "saved_model.pb")
    ):
        raise _common.UsageError(f"not a SavedModel directory (no saved_model.pb): {args.artifact}")
    reference = _common.load_reference(args.artifact, "saved_model")

    # Files are checked before this import: TensorFlow takes seconds to load and logs on import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
    except ImportError as e:
        raise _common.UsageError(
            f"tensorflow is not installed ({e}): pip install tensorflow"
        ) from None
    notes = []
    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TensorFlow has run before in this process (main() called for several artifacts, as
        # tfzoo.export.verify_many does): its thread pools are fixed by the first call.
        notes.append("TensorFlow's thread pools were already set in this process")

    try:
        loaded = tf.saved_model.load(args.artifact)
    except Exception as e:  # noqa: BLE001 - TensorFlow raises many exception classes
        raise _common.RunnerError(f"TensorFlow cannot load {args.artifact}: {e}") from None
    signature = args.signature or reference.meta.get("signature") or "serving_default"
    if signature not in loaded.signatures:
        known = ", ".join(loaded.signatures) or "none"
        message = f"{args.artifact} has no signature {signature!r} (signatures: {known})"
        if args.signature:
            raise _common.UsageError(message)
        raise _common.RunnerError(message)
    function = loaded.signatures[signature]

    _, specs = function.structured_input_signature
    feeds, inputs = _common.match_inputs(
        reference,
        {
            name: (
                spec.dtype.as_numpy_dtype,
                spec.shape.as_list() if spec.shape.rank is not None else None,
                None,
            )
            for name, spec in specs.items()
        },
    )
    tensors = {name: tf.constant(value) for name, value in feeds.items()}
    try:
        actual = {k: v.numpy() for k, v in function(**tensors).items()}
    except Exception as e:  # noqa: BLE001
        raise _common.RunnerError(f"TensorFlow failed to run {args.artifact}: {e}") from None
    mapping, note = _common.match_outputs(reference, actual)
    outputs = _common.compare(reference, actual, mapping, _common.overrides_from(args))
    timing = _common.time_runs(lambda: function(**tensors), args.warmup, args.runs)

    result = _common.make_result(
        PROG,
        reference,
        {"name": f"tensorflow {tf.__version__}", "threads": args.threads},
        inputs,
        outputs,
        timing,
        notes + ([note] if note else []),
        signature=signature,
    )
    return _common.print_report(result, args.json)


def main(argv=None):
    """Runs the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    return _common.run_main(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
