"""Reference files written beside every exported artifact (producer side).

For an artifact `ARTIFACT` (a `.tflite` file, a `.onnx` file or a SavedModel directory) the producer
writes two files next to it:

- `ARTIFACT.reference.npz`: the reference inputs under the keys `inputs/<name>` and the Keras model's
  outputs for them under `outputs/<name>`.
- `ARTIFACT.reference.json`: metadata - names, dtypes and shapes, the artifact's format and signature,
  the tolerance the artifact is judged by, the npz's SHA-256, the creation time.

The runners in the top-level `export/` folder read these two files without importing tfzoo; they and
this module are the two halves of one format, documented in `docs/export-runners.md`. Keep
`FORMAT_VERSION` in step with `export/_common.py`.

This module imports only the standard library and NumPy, so it can be used (or copied) anywhere.
"""

import datetime
import hashlib
import json
import math
import os
import tempfile
from typing import NamedTuple

import numpy as np

from tfzoo.export.formats import MODEL_FORMATS

FORMAT_VERSION = 1
# The formats `tfzoo.export(model, path)` writes, from the one format table.
FORMATS = MODEL_FORMATS
NPZ_SUFFIX = ".reference.npz"
JSON_SUFFIX = ".reference.json"
TOLERANCE_CRITERIA = ("atol", "cosine_min", "top1_min")
TOLERANCE_KEYS = TOLERANCE_CRITERIA + ("top1_outputs", "per_output")


class ReferencePaths(NamedTuple):
    npz: str
    json: str


def reference_paths(artifact_path):
    """Returns the paths of the two reference files of an artifact.

    A trailing separator on a SavedModel directory is ignored, so `out/model/` and `out/model` both
    give `out/model.reference.npz` and `out/model.reference.json`.

    Args:
        artifact_path: str or path-like. The `.tflite` file, `.onnx` file or SavedModel directory.

    Returns:
        A `ReferencePaths(npz, json)` named tuple of strings.

    Example:

    >>> from tfzoo.export.reference import reference_paths
    >>> reference_paths("out/bert-mini.tflite").json
    'out/bert-mini.tflite.reference.json'
    """
    base = os.fspath(artifact_path)
    stripped = base.rstrip("/" + os.sep)
    base = stripped or base  # "/" stays "/"
    return ReferencePaths(base + NPZ_SUFFIX, base + JSON_SUFFIX)


def write_reference(
    artifact_path,
    inputs,
    outputs,
    *,
    format,
    signature="serving_default",
    tolerance,
    extra=None,
):
    """Writes `ARTIFACT.reference.npz` and `ARTIFACT.reference.json` beside an artifact.

    Each file is written to a temporary file in the same folder and moved into place with
    `os.replace`, the npz first and the json last: a reader that finds the json finds a complete
    npz, and the json's `npz_sha256` tells a reader when the npz comes from another write.

    Args:
        artifact_path: str or path-like. The artifact the reference describes; it need not exist yet.
        inputs: dict of str to array. The inputs fed to the artifact's signature, by input name, in
            the dtype the artifact takes (e.g. `int32` token ids).
        outputs: dict of str to array. The Keras model's outputs for `inputs`, by the artifact's
            output names. Insert them in the artifact's output order (for a signature that returns
            a dict, sorted by name): a runtime whose output names differ is matched by this order.
        format: str. One of `"saved_model"`, `"tflite"`, `"onnx"`.
        signature: str. The signature the runner calls (SavedModel, TFLite). Defaults to
            `"serving_default"`.
        tolerance: dict. Any of `atol` (float, largest absolute difference allowed), `cosine_min`
            (float, smallest cosine similarity of the flattened outputs), `top1_min` (float,
            smallest fraction of argmax agreement along the last axis, checked only for the
            outputs named in `top1_outputs`), `top1_outputs` (list of output names) and
            `per_output` (dict of output name to a dict of the three criteria, overriding them for
            that output; `None` switches a criterion off). At least one criterion must be set.
            A float artifact is usually judged by `atol`, an int8 one by `cosine_min`/`top1_min`.
        extra: dict or None. JSON-serializable metadata kept under `extra`; its `tfzoo_version`
            key, if present, is also written as the top-level `tfzoo_version`.

    Returns:
        The `ReferencePaths` written.

    Example:

    >>> import numpy as np
    >>> from tfzoo.export.reference import write_reference
    >>> write_reference(
    ...     "out/bert-mini.tflite",
    ...     {"token_ids": np.zeros((1, 8), "int32")},
    ...     {"logits": np.zeros((1, 2), "float32")},
    ...     format="tflite",
    ...     tolerance={"atol": 1e-4},
    ... )  # doctest: +SKIP
    """
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    if not isinstance(signature, str) or not signature:
        raise ValueError(
            f"`signature` must be a non-empty string. Received: signature={signature!r}"
        )
    inputs = _check_arrays("inputs", inputs)
    outputs = _check_arrays("outputs", outputs)
    tolerance = _normalize_tolerance(tolerance, outputs)
    extra = dict(extra or {})
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as e:
        raise ValueError(f"`extra` must be JSON-serializable. Received: extra={extra!r}") from e

    paths = reference_paths(artifact_path)
    folder = os.path.dirname(paths.json) or "."
    os.makedirs(folder, exist_ok=True)

    arrays = {f"inputs/{k}": v for k, v in inputs.items()}
    arrays.update({f"outputs/{k}": v for k, v in outputs.items()})
    npz_sha256 = _atomic_write(paths.npz, lambda f: np.savez_compressed(f, **arrays))

    meta = {
        "format_version": FORMAT_VERSION,
        "artifact": os.path.basename(paths.json[: -len(JSON_SUFFIX)]),
        "format": format,
        "signature": signature,
        "inputs": [_describe(k, v) for k, v in inputs.items()],
        "outputs": [_describe(k, v) for k, v in outputs.items()],
        "tolerance": tolerance,
        "npz": os.path.basename(paths.npz),
        "npz_sha256": npz_sha256,
        "tfzoo_version": extra.get("tfzoo_version"),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "extra": extra,
    }
    text = json.dumps(meta, indent=2) + "\n"
    _atomic_write(paths.json, lambda f: f.write(text.encode("utf-8")))
    return paths


def read_reference(artifact_path):
    """Reads an artifact's reference files back.

    Args:
        artifact_path: str or path-like. The artifact whose reference files to read.

    Returns:
        A tuple `(meta, inputs, outputs)`: the json as a dict, and two dicts of name to array in
        the order the json lists them.
    """
    paths = reference_paths(artifact_path)
    with open(paths.json, encoding="utf-8") as f:
        meta = json.load(f)
    with np.load(paths.npz, allow_pickle=False) as data:
        inputs = {d["name"]: data[f"inputs/{d['name']}"] for d in meta["inputs"]}
        outputs = {d["name"]: data[f"outputs/{d['name']}"] for d in meta["outputs"]}
    return meta, inputs, outputs


def _check_arrays(what, arrays):
    if not isinstance(arrays, dict) or not arrays:
        raise ValueError(
            f"`{what}` must be a non-empty dict of name to array. Received: {arrays!r}"
        )
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"`{what}` names must be non-empty strings. Received: {name!r}")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"`{what}[{name!r}]` must be a bool, integer or float array. "
                f"Received: dtype={array.dtype}"
            )
        checked[name] = array
    return checked


def _normalize_tolerance(tolerance, outputs):
    """Returns the tolerance with every key present, after checking names and ranges."""
    if not isinstance(tolerance, dict):
        raise ValueError(f"`tolerance` must be a dict. Received: tolerance={tolerance!r}")
    unknown = sorted(set(tolerance) - set(TOLERANCE_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown `tolerance` keys {unknown}; expected some of {list(TOLERANCE_KEYS)}."
        )
    criteria = _check_criteria(tolerance, "tolerance")
    top1_outputs = list(tolerance.get("top1_outputs") or [])
    per_output = {}
    for name, override in (tolerance.get("per_output") or {}).items():
        if name not in outputs:
            raise ValueError(f"`tolerance['per_output']` names an unknown output {name!r}.")
        if not isinstance(override, dict) or set(override) - set(TOLERANCE_CRITERIA):
            raise ValueError(
                f"`tolerance['per_output'][{name!r}]` must be a dict with keys among "
                f"{list(TOLERANCE_CRITERIA)}. Received: {override!r}"
            )
        per_output[name] = _check_criteria(
            override, f"tolerance['per_output'][{name!r}]", fill=False
        )
    for name in top1_outputs:
        if name not in outputs:
            raise ValueError(f"`tolerance['top1_outputs']` names an unknown output {name!r}.")
    has_top1 = criteria["top1_min"] is not None or any(
        o.get("top1_min") is not None for o in per_output.values()
    )
    if has_top1 and not top1_outputs:
        raise ValueError(
            "`tolerance['top1_min']` needs `tolerance['top1_outputs']` to name outputs."
        )
    judged = [criteria] + list(per_output.values())
    if not any(c.get(k) is not None for c in judged for k in TOLERANCE_CRITERIA):
        raise ValueError(
            f"`tolerance` must set at least one of {list(TOLERANCE_CRITERIA)}. "
            f"Received: tolerance={tolerance!r}"
        )
    return {**criteria, "top1_outputs": top1_outputs, "per_output": per_output}


def _check_criteria(source, where, fill=True):
    checked = {}
    for key, low, high in (
        ("atol", 0.0, math.inf),
        ("cosine_min", -1.0, 1.0),
        ("top1_min", 0.0, 1.0),
    ):
        if key not in source and not fill:
            continue
        value = source.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"`{where}['{key}']` must be a number. Received: {value!r}")
            value = float(value)
            if not low <= value <= high:
                raise ValueError(
                    f"`{where}['{key}']` must lie in [{low}, {high}]. Received: {key}={value}"
                )
        checked[key] = value
    return checked


def _describe(name, array):
    return {"name": name, "dtype": array.dtype.name, "shape": list(array.shape)}


def _atomic_write(path, write):
    """Writes through `write(file)` into a temp file beside `path`, then moves it onto `path`.

    Returns the SHA-256 hex digest of the bytes written.
    """
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            f.seek(0)
            digest = hashlib.sha256(f.read()).hexdigest()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return digest
