"""`tfzoo.export.verify`: re-check a saved artifact with its standalone runner, in a subprocess.

The runners live in the repository's `export/` folder and never import tfzoo; which one checks
an artifact is its format's `runner_script` (`tfzoo.export.formats.FORMATS`).
"""

import json
import os
import subprocess
import sys

from tfzoo.export.formats import FORMATS, format_from_extension, sniff_format
from tfzoo.export.reference import read_reference, reference_paths
from tfzoo.export.verification import ExportVerificationError


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
            the name (`tfzoo.export.formats.sniff_format`), or no runner folder found.
        ExportVerificationError: the artifact does not load or disagrees with its reference.

    Example:

    >>> result = tfzoo.export.verify("out/bert-tiny.tflite")   # result.get("ok") is True
    """
    path = _checked_artifact(path)
    meta, _, _ = read_reference(path)
    script = os.path.join(runner_dir(), _script(meta["format"]))
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
        module = os.path.splitext(_script(format))[0]
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
                f"{_script(format)} printed {len(lines)} results for {len(group)} artifacts "
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
    named = format_from_extension(path) or "saved_model"
    found = sniff_format(path)
    if found != named:
        what = f"a {found} artifact" if found else "not a TFLite, ONNX or SavedModel artifact"
        expected = {
            "tflite": "a .tflite name holds a TFLite flatbuffer ('TFL3' at byte 4)",
            "onnx": "an .onnx name holds an ONNX ModelProto",
            "saved_model": "any other name is a SavedModel directory with saved_model.pb",
        }.get(named, f"a {FORMATS[named].extension} name holds a {named} artifact")
        raise ValueError(
            f"{path} is {what}, but {expected}: its content does not match its name. Re-export "
            f"it with tfzoo.export to a path whose extension matches the format."
        )
    return path


def _script(format):
    """The standalone runner of `format` (its `runner_script`)."""
    script = FORMATS[format].runner_script if format in FORMATS else None
    if script is None:
        raise ValueError(
            f"No standalone runner checks a {format!r} artifact; the export verified it in its "
            f"runtime when it was written."
        )
    return script


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
        raise ValueError(f"{_script(format)}: {result.get('error')}")
    if code != 0:
        detail = result.get("error") or "; ".join(
            f"{o['name']}: {'; '.join(o['failures'])}"
            for o in result.get("outputs", [])
            if not o["ok"]
        )
        raise ExportVerificationError(
            f"{path} fails its standalone check ({_script(format)}): {detail}",
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
