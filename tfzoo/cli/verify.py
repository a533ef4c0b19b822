"""`tfzoo verify`: re-check exported artifacts with the standalone runners."""

import sys

from tfzoo.cli.common import add_command


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "verify",
        "re-check exported artifacts with the standalone runners (no tfzoo import)",
        ["tfzoo verify out/clf.tflite", "tfzoo verify out/clf.onnx out/clf_savedmodel"],
    )
    p.add_argument("artifacts", nargs="+", help="artifacts written by `tfzoo export`")
    p.set_defaults(func=run)


def run(args):
    from tfzoo.export import verify

    failed = 0
    for path in args.artifacts:
        try:
            result = verify(path)
            median = result.get("timing", {}).get("median_ms", float("nan"))
            print(f"{path}: ok ({median:.2f} ms median)")
        except Exception as e:  # a failed verification is reported, and the others still run
            if isinstance(e, ValueError):
                raise
            print(f"{path}: FAILED: {str(e).splitlines()[0]}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
