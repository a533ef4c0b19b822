"""Checks every exported artifact it finds, each in its own runtime, and prints one table.

    python export/verify_all.py DIR_OR_FILE... [--threads 2] [--runs 20] [--warmup 3] [--json]

An artifact is a `.tflite` file, a `.onnx` file or a SavedModel directory with an
`ARTIFACT.reference.json` beside it; a folder is searched (recursively) for such reference files.
Each artifact runs through its runner (`run_tflite.py`, `run_onnx.py`, `run_saved_model.py`) in a
subprocess of its own, one after the other, so one runtime never shares a process with another.
Exit code 0 when every artifact agrees with its reference, 1 when any does not or cannot be
checked, 2 on bad usage (a path that does not exist, nothing to check).
"""

import json
import os
import subprocess
import sys

try:  # imported as part of a package
    from . import _common
except ImportError:  # run as a script: this file's folder is on sys.path
    import _common

PROG = "verify_all"
HERE = os.path.dirname(os.path.abspath(__file__))
EXTENSIONS = {".tflite": "tflite", ".onnx": "onnx"}


def _format_of(artifact):
    """The artifact's format: from its reference json, else from its name or contents."""
    _, json_path = _common.reference_paths(artifact)
    try:
        with open(json_path, encoding="utf-8") as f:
            fmt = json.load(f).get("format")
        if fmt in _common.RUNNER_SCRIPTS:
            return fmt
    except (OSError, ValueError, AttributeError):
        pass
    if os.path.isdir(artifact):
        return "saved_model" if os.path.isfile(os.path.join(artifact, "saved_model.pb")) else None
    return EXTENSIONS.get(os.path.splitext(artifact)[1].lower())


def discover(paths):
    """Artifacts named by `paths` (files, SavedModel folders, reference jsons, or folders to search)."""
    found = []
    for path in paths:
        if not os.path.exists(path):
            raise _common.UsageError(f"path not found: {path}")
        path = path.rstrip("/" + os.sep) or path
        if path.endswith(_common.JSON_SUFFIX):
            found.append(path[: -len(_common.JSON_SUFFIX)])
        elif os.path.isfile(path) or os.path.isfile(os.path.join(path, "saved_model.pb")):
            found.append(path)
        else:
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(_common.JSON_SUFFIX):
                        found.append(os.path.join(folder, name[: -len(_common.JSON_SUFFIX)]))
    unique = list(dict.fromkeys(os.path.normpath(p) for p in found))
    if not unique:
        raise _common.UsageError(
            f"no artifacts with reference files under {', '.join(paths)} "
            f"(looked for *{_common.JSON_SUFFIX})"
        )
    return unique


def run_one(artifact, args):
    """Runs one artifact's runner in a subprocess; returns its JSON result (or an error result)."""
    fmt = _format_of(artifact)
    if fmt is None:
        return {
            "artifact": artifact,
            "format": None,
            "ok": False,
            "status": "error",
            "exit_code": 2,
            "error": "cannot tell the artifact's format (no reference json, unknown extension)",
        }
    command = [
        sys.executable,
        os.path.join(HERE, _common.RUNNER_SCRIPTS[fmt]),
        artifact,
        "--json",
        "--threads",
        str(args.threads),
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
    ]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {
            "artifact": artifact,
            "format": fmt,
            "ok": False,
            "status": "error",
            "exit_code": 1,
            "error": f"runner timed out after {args.timeout} s",
        }
    result = _parse_json(done.stdout)
    if result is None:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        result = {"ok": False, "status": "error", "error": f"runner printed no JSON: {last[0]}"}
    result["artifact"] = artifact
    result.setdefault("format", fmt)
    result["exit_code"] = done.returncode
    result["ok"] = bool(result.get("ok")) and done.returncode == 0
    return result


def _parse_json(stdout):
    """The runner's one-line JSON result; native libraries may print other lines around it."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def _worst(result, key, pick):
    values = [o[key] for o in result.get("outputs") or [] if o.get(key) is not None]
    return pick(values) if values else None


def _num(value, spec):
    return "-" if value is None else format(value, spec)


def table(results):
    rows = []
    for r in results:
        failures = [f"{o['name']}: {f}" for o in r.get("outputs") or [] for f in o["failures"]]
        detail = "; ".join(failures) or r.get("error") or "; ".join(r.get("notes") or [])
        timing = r.get("timing") or {}
        rows.append(
            [
                r["artifact"],
                r.get("format") or "?",
                "ok" if r["ok"] else "FAIL",
                _num(_worst(r, "max_abs_diff", max), ".2e"),
                _num(_worst(r, "cosine", min), ".6f"),
                _num(_worst(r, "top1", min), ".4f"),
                _num(timing.get("median_ms"), ".3f"),
                _num(timing.get("p90_ms"), ".3f"),
                detail,
            ]
        )
    header = [
        "artifact",
        "format",
        "result",
        "max_abs_diff",
        "cosine",
        "top1",
        "median_ms",
        "p90_ms",
        "detail",
    ]
    return _common.format_table(header, rows)


def _body(argv):
    parser = _common.make_parser(
        PROG,
        "Check every exported artifact against its reference, each in its own runtime.",
        "artifact, reference json, or folder to search",
        many=True,
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds per artifact (default 600)"
    )
    args = parser.parse_args(argv)
    _common.check_args(args)
    if any(v is not None for v in _common.overrides_from(args).values()):
        raise _common.UsageError(
            "verify_all judges each artifact by its own reference tolerance; "
            "pass --atol/--cosine-min/--top1-min to a runner instead"
        )
    artifacts = discover(args.artifact)
    results = []
    for artifact in artifacts:
        results.append(run_one(artifact, args))
        if not args.json:
            r = results[-1]
            print(f"{'ok  ' if r['ok'] else 'FAIL'} {artifact}", file=sys.stderr, flush=True)
    ok = all(r["ok"] for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "exit_code": 0 if ok else 1, "results": results}))
    else:
        print(table(results))
        print(
            f"\n{sum(r['ok'] for r in results)}/{len(results)} artifacts agree with their reference"
        )
    return _common.EXIT_OK if ok else _common.EXIT_FAIL


def main(argv=None):
    """Runs the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    return _common.run_main(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
