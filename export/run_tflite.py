"""Runs a `.tflite` artifact in LiteRT and compares it with its reference files.

    python export/run_tflite.py model.tflite [--threads 2] [--runs 20] [--no-xnnpack]
                                             [--signature NAME] [--json]

Needs only NumPy and `ai-edge-litert` (plus `_common.py` beside this file); it never imports tfzoo,
Keras or TensorFlow. The model runs through its signature runner with inputs by name, on XNNPACK
(LiteRT's default delegate) unless `--no-xnnpack`. Exit code 0 when every output is within the
reference's tolerance, 1 when one is not (or the model cannot run), 2 on bad usage.
"""

import collections
import importlib.metadata
import re
import sys

try:  # imported as part of a package
    from . import _common
except ImportError:  # run as a script: this file's folder is on sys.path
    import _common

PROG = "run_tflite"
_BUILTIN_NAME = re.compile(r"^[A-Z0-9_]+$")


def summarize_ops(interpreter):
    """Counts the model's ops by name; None when the interpreter cannot list them.

    Flex ops (TensorFlow ops carried in the model) are named `Flex...`; other custom ops carry
    their custom code, which is not an upper-case builtin name. `DELEGATE` nodes are the
    partitions a delegate (XNNPACK) took over.
    """
    get_ops = getattr(interpreter, "_get_ops_details", None)
    if get_ops is None:
        return None
    try:
        names = [str(op["op_name"]) for op in get_ops()]
    except Exception:  # noqa: BLE001 - a private API: its absence only costs the summary
        return None
    by_type = collections.Counter(n for n in names if n != "DELEGATE")
    flex = sorted({n for n in by_type if n.startswith("Flex")})
    custom = sorted({n for n in by_type if not _BUILTIN_NAME.match(n) and n not in flex})
    return {
        "count": sum(by_type.values()),
        "by_type": dict(by_type),
        "flex": flex,
        "custom": custom,
        "has_flex_or_custom": bool(flex or custom),
        "delegate_nodes": names.count("DELEGATE"),
    }


def _runtime_version():
    try:
        return importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _body(argv):
    parser = _common.make_parser(
        PROG,
        "Run a .tflite artifact in LiteRT and compare it with ARTIFACT.reference.{npz,json}.",
        "the .tflite file",
    )
    parser.add_argument("--signature", help="signature to run (default: the reference's)")
    parser.add_argument(
        "--no-xnnpack", action="store_true", help="run without the XNNPACK delegate"
    )
    args = parser.parse_args(argv)
    _common.check_args(args)
    reference = _common.load_reference(args.artifact, "tflite")
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        raise _common.UsageError(
            f"ai-edge-litert is not installed ({e}): pip install ai-edge-litert"
        ) from None

    options = {"model_path": args.artifact, "num_threads": args.threads}
    if args.no_xnnpack:
        options["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        interpreter = Interpreter(**options)
    except (ValueError, RuntimeError) as e:
        hint = ""
        if "Select TensorFlow op" in str(e) or "Flex" in str(e):
            hint = " (the model needs Flex ops: TensorFlow ops that LiteRT alone cannot run)"
        raise _common.RunnerError(f"LiteRT cannot load {args.artifact}{hint}: {e}") from None

    signatures = interpreter.get_signature_list()
    signature = args.signature or reference.meta.get("signature") or "serving_default"
    if signature not in signatures:
        known = ", ".join(signatures) or "none"
        message = f"{args.artifact} has no signature {signature!r} (signatures: {known})"
        if args.signature:
            raise _common.UsageError(message)
        raise _common.RunnerError(message)
    runner = interpreter.get_signature_runner(signature)

    details = runner.get_input_details()
    feeds, inputs = _common.match_inputs(
        reference,
        {
            name: (d["dtype"], list(d["shape_signature"]), list(d["shape"]))
            for name, d in details.items()
        },
    )
    # The signature runner resizes each input to the array it gets and re-allocates tensors, so a
    # dynamic dimension (-1 in shape_signature) takes the reference's size on the first call.
    try:
        actual = runner(**feeds)
    except (ValueError, RuntimeError) as e:
        raise _common.RunnerError(f"LiteRT failed to run {args.artifact}: {e}") from None
    mapping, note = _common.match_outputs(reference, actual)
    outputs = _common.compare(reference, actual, mapping, _common.overrides_from(args))
    ops = summarize_ops(interpreter)
    timing = _common.time_runs(lambda: runner(**feeds), args.warmup, args.runs)

    notes = [note] if note else []
    if ops is None:
        notes.append("op list unavailable in this LiteRT version")
    elif ops["has_flex_or_custom"]:
        notes.append("uses Flex/custom ops: " + ", ".join(ops["flex"] + ops["custom"]))
    result = _common.make_result(
        PROG,
        reference,
        {
            "name": f"ai-edge-litert {_runtime_version()}",
            "threads": args.threads,
            "xnnpack": not args.no_xnnpack,
        },
        inputs,
        outputs,
        timing,
        notes,
        signature=signature,
        ops=ops,
    )
    return _common.print_report(result, args.json)


def main(argv=None):
    """Runs the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    return _common.run_main(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
