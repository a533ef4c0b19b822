"""What the export runners share: arguments, reference files, comparison, timing, reports.

This module imports only the standard library and NumPy; it never imports tfzoo, Keras or a
runtime. Copy it together with a runner (`run_tflite.py`, `run_onnx.py`, `run_saved_model.py`)
to check an artifact on a machine that has only that runtime.

Reference format (written by `tfzoo.export.reference.write_reference`, version 1):
    ARTIFACT.reference.npz   `inputs/<name>` and `outputs/<name>` arrays
    ARTIFACT.reference.json  format_version, artifact, format, signature, inputs, outputs,
                             tolerance, npz, npz_sha256, tfzoo_version, created, extra
See docs/export-runners.md for every field.

Exit codes: 0 every output within tolerance; 1 an output disagrees, or the artifact cannot be
loaded or run in its runtime; 2 bad usage (missing file, bad argument, unreadable reference).
"""

import argparse
import hashlib
import io
import json
import os
import sys
import time

import numpy as np

FORMAT_VERSION = 1
NPZ_SUFFIX = ".reference.npz"
JSON_SUFFIX = ".reference.json"
CRITERIA = ("atol", "cosine_min", "top1_min")
DEFAULT_TOLERANCE = {"atol": 1e-4, "cosine_min": None, "top1_min": None}

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage: a missing file, a bad argument, an unreadable reference. Exit code 2."""


class RunnerError(Exception):
    """The artifact cannot be loaded or run against its reference. Exit code 1."""


# --- Arguments -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def make_parser(prog, description, artifact_help, many=False):
    """Returns a parser with the arguments every runner takes (`many`: one or more artifacts)."""
    parser = _Parser(prog=prog, description=description)
    parser.add_argument("artifact", nargs="+" if many else None, help=artifact_help)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument(
        "--runs", type=int, default=20, help="timed runs; 0 skips timing (default 20)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--atol", type=float, help="override the reference's atol for all outputs")
    parser.add_argument("--cosine-min", type=float, help="override the reference's cosine_min")
    parser.add_argument("--top1-min", type=float, help="override the reference's top1_min")
    return parser


def check_args(args):
    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    if args.runs < 0 or args.warmup < 0:
        raise UsageError(f"--runs and --warmup must be >= 0, got {args.runs} and {args.warmup}")


# --- Reference files -------------------------------------------------------------------------


def reference_paths(artifact):
    base = os.fspath(artifact)
    base = base.rstrip("/" + os.sep) or base
    return base + NPZ_SUFFIX, base + JSON_SUFFIX


class Reference:
    """An artifact's reference: `meta` (the json), `inputs` and `outputs` (name -> array, in order)."""

    def __init__(self, artifact, meta, inputs, outputs):
        self.artifact = artifact
        self.meta = meta
        self.inputs = inputs
        self.outputs = outputs

    def tolerance_for(self, name, overrides=None):
        """The criteria that judge output `name`: reference, then per-output, then command line."""
        tolerance = self.meta.get("tolerance") or {}
        criteria = {k: tolerance.get(k) for k in CRITERIA}
        criteria.update((tolerance.get("per_output") or {}).get(name, {}))
        criteria.update({k: v for k, v in (overrides or {}).items() if v is not None})
        if name not in (tolerance.get("top1_outputs") or []):
            criteria["top1_min"] = None
        if all(criteria[k] is None for k in CRITERIA):
            criteria = dict(DEFAULT_TOLERANCE)
        return criteria

    def is_top1_output(self, name):
        return name in ((self.meta.get("tolerance") or {}).get("top1_outputs") or [])


def load_reference(artifact, expected_format):
    """Reads and checks `ARTIFACT.reference.{json,npz}`; raises UsageError on any problem."""
    if not os.path.exists(artifact):
        raise UsageError(f"artifact not found: {artifact}")
    npz_path, json_path = reference_paths(artifact)
    for path in (json_path, npz_path):
        if not os.path.isfile(path):
            raise UsageError(
                f"reference file not found: {path} (written beside the artifact by the exporter)"
            )
    try:
        with open(json_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {json_path}: {e}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("format_version"), int):
        raise UsageError(f"{json_path} is not a reference file (no format_version)")
    if meta["format_version"] > FORMAT_VERSION:
        raise UsageError(
            f"{json_path} has format_version {meta['format_version']}; this runner reads up to "
            f"{FORMAT_VERSION}: update the runners"
        )
    if meta.get("format") != expected_format:
        raise UsageError(
            f"{json_path} describes a {meta.get('format')!r} artifact, not {expected_format!r}: "
            f"use {RUNNER_SCRIPTS.get(meta.get('format'), 'the matching runner')}"
        )
    for key in ("inputs", "outputs"):
        if not isinstance(meta.get(key), list) or not meta[key]:
            raise UsageError(f"{json_path} lists no {key}")
    try:
        with open(npz_path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {npz_path}: {e}") from None
    expected_sha = meta.get("npz_sha256")
    if expected_sha and hashlib.sha256(blob).hexdigest() != expected_sha:
        raise UsageError(f"{npz_path} does not match {json_path} (npz_sha256 differs)")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            inputs = {d["name"]: data[f"inputs/{d['name']}"] for d in meta["inputs"]}
            outputs = {d["name"]: data[f"outputs/{d['name']}"] for d in meta["outputs"]}
    except (KeyError, ValueError, OSError) as e:
        raise UsageError(f"cannot read {npz_path}: {e}") from None
    return Reference(artifact, meta, inputs, outputs)


RUNNER_SCRIPTS = {
    "tflite": "run_tflite.py",
    "onnx": "run_onnx.py",
    "saved_model": "run_saved_model.py",
}


# --- Matching names --------------------------------------------------------------------------


def _plain(name):
    """`serving_default_token_ids:0` style names without the `:0` tensor suffix."""
    name = str(name)
    return name[:-2] if name.endswith(":0") else name


def match_inputs(reference, artifact_inputs):
    """Builds the feeds for an artifact's inputs.

    Args:
        reference: the Reference.
        artifact_inputs: dict of artifact input name -> (numpy dtype or None, shape signature or
            None, current shape or None). A signature dimension that is None, -1 or a string is
            dynamic; an input whose current shape differs from the reference is resized.

    Returns:
        (feeds, report): feeds maps artifact input names to the reference arrays; report lists, per
        input, name, dtype, shape and whether the runtime resizes it for the reference.
    """
    by_plain = {_plain(k): k for k in reference.inputs}
    feeds, report, used = {}, [], set()
    for name, (dtype, shape, current) in artifact_inputs.items():
        ref_name = name if name in reference.inputs else by_plain.get(_plain(name))
        if ref_name is None:
            raise RunnerError(
                f"artifact input {name!r} has no reference value (reference inputs: "
                f"{', '.join(reference.inputs)})"
            )
        value = reference.inputs[ref_name]
        if dtype is not None and np.dtype(dtype) != value.dtype:
            raise RunnerError(
                f"input {name!r}: the artifact takes {np.dtype(dtype).name}, the reference holds "
                f"{value.dtype.name}"
            )
        if shape is not None:
            dynamic = [d is None or isinstance(d, str) or d == -1 for d in shape]
            if len(shape) != value.ndim or any(
                not dyn and int(d) != v for d, dyn, v in zip(shape, dynamic, value.shape)
            ):
                raise RunnerError(
                    f"input {name!r}: the artifact takes shape {_shape_text(shape)}, the reference "
                    f"holds {tuple(value.shape)}"
                )
        resized = current is not None and tuple(int(d) for d in current) != tuple(value.shape)
        feeds[name] = value
        used.add(ref_name)
        report.append(
            {
                "name": name,
                "dtype": value.dtype.name,
                "shape": list(value.shape),
                "resized": resized,
            }
        )
    missing = [k for k in reference.inputs if k not in used]
    if missing:
        raise RunnerError(
            f"reference inputs {missing} are not inputs of the artifact ({', '.join(artifact_inputs)})"
        )
    return feeds, report


def _shape_text(shape):
    return (
        "("
        + ", ".join("?" if d is None or d == -1 or isinstance(d, str) else str(d) for d in shape)
        + ")"
    )


def match_outputs(reference, artifact_names):
    """Maps each reference output to an artifact output: by name, by name without `:0`, or by order.

    Returns:
        (mapping, note): mapping is a list of (reference name, artifact name, how), how is "name"
        or "order"; note is a sentence when the order was used, else None.
    """
    artifact_names = list(artifact_names)
    by_plain = {_plain(n): n for n in artifact_names}
    mapping = []
    for ref_name in reference.outputs:
        if ref_name in artifact_names:
            mapping.append((ref_name, ref_name, "name"))
        elif _plain(ref_name) in by_plain:
            mapping.append((ref_name, by_plain[_plain(ref_name)], "name"))
        else:
            break
    else:
        return mapping, None
    if len(artifact_names) != len(reference.outputs):
        raise RunnerError(
            f"the artifact's outputs ({', '.join(artifact_names)}) do not match the reference "
            f"outputs ({', '.join(reference.outputs)}) by name or by count"
        )
    mapping = [(r, a, "order") for r, a in zip(reference.outputs, artifact_names)]
    note = "output names differ from the reference; matched by order: " + ", ".join(
        f"{r} <- {a}" for r, a, _ in mapping
    )
    return mapping, note


# --- Comparison ------------------------------------------------------------------------------


def compare_output(name, expected, actual, criteria, top1):
    """Compares one output; returns a dict of metrics, `ok` and the failure sentences."""
    actual = np.asarray(actual)
    result = {
        "name": name,
        "shape": list(actual.shape),
        "dtype": actual.dtype.name,
        "max_abs_diff": None,
        "cosine": None,
        "top1": None,
        "tolerance": criteria,
        "ok": False,
        "failures": [],
    }
    if actual.shape != expected.shape:
        result["failures"].append(
            f"shape {tuple(actual.shape)} != reference {tuple(expected.shape)}"
        )
        return result
    a = actual.astype(np.float64).ravel()
    e = expected.astype(np.float64).ravel()
    max_abs = float(np.max(np.abs(a - e))) if a.size else 0.0
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(e))
    if norms > 0:
        cosine = float(np.dot(a, e) / norms)
    else:
        cosine = 1.0 if not np.any(a) and not np.any(e) else 0.0
    result["max_abs_diff"] = max_abs
    result["cosine"] = cosine
    if top1 and actual.ndim >= 1 and actual.shape[-1] > 0:
        result["top1"] = float(np.mean(np.argmax(actual, -1) == np.argmax(expected, -1)))

    failures = result["failures"]
    if not np.all(np.isfinite(a)):
        failures.append("non-finite values in the artifact's output")
    if criteria.get("atol") is not None and not max_abs <= criteria["atol"]:
        failures.append(f"max_abs_diff {max_abs:.3e} > atol {criteria['atol']:.1e}")
    if criteria.get("cosine_min") is not None and not cosine >= criteria["cosine_min"]:
        failures.append(f"cosine {cosine:.6f} < cosine_min {criteria['cosine_min']}")
    if criteria.get("top1_min") is not None and result["top1"] is not None:
        if not result["top1"] >= criteria["top1_min"]:
            failures.append(f"top1 {result['top1']:.4f} < top1_min {criteria['top1_min']}")
    result["ok"] = not failures
    return result


def compare(reference, actual_by_artifact_name, mapping, overrides=None):
    """Compares every reference output with the artifact output it is mapped to."""
    results = []
    for ref_name, artifact_name, how in mapping:
        criteria = reference.tolerance_for(ref_name, overrides)
        result = compare_output(
            ref_name,
            reference.outputs[ref_name],
            actual_by_artifact_name[artifact_name],
            criteria,
            reference.is_top1_output(ref_name),
        )
        result["artifact_name"] = artifact_name
        result["matched_by"] = how
        results.append(result)
    return results


def overrides_from(args):
    return {"atol": args.atol, "cosine_min": args.cosine_min, "top1_min": args.top1_min}


# --- Timing ----------------------------------------------------------------------------------


def time_runs(fn, warmup, runs):
    """Calls `fn` `warmup` times, then times `runs` calls; None when runs is 0."""
    for _ in range(warmup):
        fn()
    if runs == 0:
        return None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    times = np.asarray(times)
    return {
        "warmup": warmup,
        "runs": runs,
        "median_ms": float(np.median(times)),
        "p90_ms": float(np.percentile(times, 90)),
        "min_ms": float(times.min()),
        "mean_ms": float(times.mean()),
    }


# --- Reports ---------------------------------------------------------------------------------


def make_result(runner, reference, runtime, inputs, outputs, timing, notes, **more):
    ok = all(o["ok"] for o in outputs)
    result = {
        "runner": runner,
        "artifact": reference.artifact,
        "format": reference.meta.get("format"),
        "signature": reference.meta.get("signature"),
        "ok": ok,
        "status": "ok" if ok else "mismatch",
        "exit_code": EXIT_OK if ok else EXIT_FAIL,
        "runtime": runtime,
        "inputs": inputs,
        "outputs": outputs,
        "timing": timing,
        "notes": list(notes),
        "reference": {
            "format_version": reference.meta.get("format_version"),
            "created": reference.meta.get("created"),
            "tfzoo_version": reference.meta.get("tfzoo_version"),
        },
    }
    result.update(more)
    return result


def _num(value, spec):
    return "-" if value is None else format(value, spec)


def _tolerance_text(criteria):
    parts = []
    if criteria.get("atol") is not None:
        parts.append(f"atol {criteria['atol']:.0e}")
    if criteria.get("cosine_min") is not None:
        parts.append(f"cos>={criteria['cosine_min']}")
    if criteria.get("top1_min") is not None:
        parts.append(f"top1>={criteria['top1_min']}")
    return ", ".join(parts)


def format_table(header, rows):
    """Left-aligned columns, two spaces apart."""
    rows = [[str(c) for c in row] for row in [header] + rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_report(result, as_json, stream=None):
    """Prints the result (table or one-line JSON) on stdout and failures on stderr; returns the exit code."""
    stream = stream or sys.stdout
    if as_json:
        stream.write(json.dumps(result, default=_json_default) + "\n")
    else:
        runtime = result["runtime"]
        described = result["format"] + (
            f", signature {result['signature']}" if result["signature"] else ""
        )
        settings = [
            f"{k} {'on' if v is True else 'off' if v is False else v}"
            for k, v in runtime.items()
            if k != "name"
        ]
        lines = [
            f"artifact   {result['artifact']}  ({described})",
            "runtime    " + ", ".join([runtime.get("name", "?")] + settings),
            "inputs     "
            + ", ".join(
                f"{i['name']} {i['dtype']} {tuple(i['shape'])}"
                + (" (resized)" if i.get("resized") else "")
                for i in result["inputs"]
            ),
        ]
        if result.get("ops"):
            ops = result["ops"]
            top = ", ".join(
                f"{k} x{v}" for k, v in sorted(ops["by_type"].items(), key=lambda kv: -kv[1])[:8]
            )
            special = ops["flex"] + ops["custom"]
            lines.append(
                f"ops        {ops['count']} ({top}{', ...' if len(ops['by_type']) > 8 else ''}); "
                + ("Flex/custom: " + ", ".join(special) if special else "no Flex/custom ops")
                + (
                    f"; {ops['delegate_nodes']} delegate node(s)"
                    if ops.get("delegate_nodes")
                    else ""
                )
            )
        for note in result["notes"]:
            lines.append(f"note       {note}")
        rows = [
            [
                o["name"]
                if o["artifact_name"] == o["name"]
                else f"{o['name']} <- {o['artifact_name']}",
                tuple(o["shape"]),
                _num(o["max_abs_diff"], ".3e"),
                _num(o["cosine"], ".6f"),
                _num(o["top1"], ".4f"),
                _tolerance_text(o["tolerance"]),
                "ok" if o["ok"] else "FAIL",
            ]
            for o in result["outputs"]
        ]
        lines.append("")
        lines.append(
            format_table(
                ["output", "shape", "max_abs_diff", "cosine", "top1", "tolerance", "result"], rows
            )
        )
        lines.append("")
        timing = result["timing"]
        if timing:
            lines.append(
                f"timing     median {timing['median_ms']:.3f} ms, p90 {timing['p90_ms']:.3f} ms "
                f"({timing['runs']} runs after {timing['warmup']} warm-up)"
            )
        lines.append("result     " + ("PASS" if result["ok"] else "FAIL"))
        stream.write("\n".join(lines) + "\n")
    for o in result["outputs"]:
        for failure in o["failures"]:
            sys.stderr.write(f"{result['runner']}: FAIL output {o['name']!r}: {failure}\n")
    stream.flush()
    return result["exit_code"]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_main(prog, body, argv):
    """Runs `body(argv)` and turns errors into one line on stderr and an exit code, no traceback.

    Set TFZOO_RUNNER_DEBUG=1 to see the traceback of an unexpected error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        return body(argv)
    except UsageError as e:
        code, message = EXIT_USAGE, _one_line(e)
    except RunnerError as e:
        code, message = EXIT_FAIL, _one_line(e)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a runner answers in one line, never a traceback
        if os.environ.get("TFZOO_RUNNER_DEBUG"):
            raise
        code, message = EXIT_FAIL, _one_line(f"{type(e).__name__}: {e}")
    if as_json:
        status = "usage_error" if code == EXIT_USAGE else "error"
        sys.stdout.write(
            json.dumps(
                {"runner": prog, "ok": False, "status": status, "exit_code": code, "error": message}
            )
            + "\n"
        )
        sys.stdout.flush()
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.stderr.flush()
    return code
