"""Export formats: one module per format, and `FORMATS`, the one table `tfzoo.export` reads.

| module              | format           | kind    | written by                                   |
|---------------------|------------------|---------|----------------------------------------------|
| `saved_model.py`    | `saved_model`    | model   | `tfzoo.export(model, "out/dir")`             |
| `tflite.py`         | `tflite`         | model   | `tfzoo.export(model, "out/m.tflite")`        |
| `onnx.py`           | `onnx`           | model   | `tfzoo.export(model, "out/m.onnx")`          |
| `tflite_decoder.py` | `tflite_decoder` | decoder | `tfzoo.export.tflite_decoder(lm, "m.tflite")` |
| `onnx_decoder.py`   | `onnx_decoder`   | decoder | `tfzoo.export.onnx_decoder(lm, "m.onnx")`    |
| `litertlm.py`       | `litertlm`       | decoder | `tfzoo.export(lm, "m.litertlm", tokenizer=)` |

Each module declares `NAME`, `KIND` (`"model"` or `"decoder"`), `EXTENSION` and
`RUNNER_SCRIPT`, and these functions (`base.Format.from_module` reads them into the table):

- `check_arguments(options)`: refuse what the format cannot do (`ValueError`, one line naming
  the fix), before any slow work; `options` is a `base.Options`.
- `write(source, path, options) -> notes`: write the artifact at `path`. `source` is a
  `tfzoo.export.signature.ServingFunction` (kind `"model"`) or the causal LM (kind
  `"decoder"`). `path` is a temporary name: the caller (`tfzoo/export/api.py`) moves the
  artifact onto the requested path only once it has been verified (`staging.Stage`), keeps it
  as `NAME.UNVERIFIED.EXT` otherwise, and writes the report. A format never does either.
- `runner(path, threads)`: load the artifact in its runtime, the one a user deploys with
  (a function `run(inputs) -> dict of arrays` for a model; for a decoder, an object with
  `step_logits` and `decode_latency_ms`, which `verification.compare_decoder` drives;
  `litertlm`: LiteRT-LM returns text, so its runner has `generate` and its pipeline is
  `tfzoo.export.litertlm.export_litertlm`); `runtime() -> str` names that runtime and its
  version.
- `ops(path, source, run) -> dict`: the op summary (`count`, `by_type`, `non_builtin`).
- `runner_script`: the standalone runner in the repository's `export/` folder that re-checks
  the artifact without tfzoo (`tfzoo.export.verify`), or `None`.
- optional: `prepare(serving, options)` (checks that need the traced model, calibration),
  `fixed_batch(serving, options)`, `sniff(path)` (the content is of this format), and for a
  decoder `details(path, run, options)` (extra report fields).

Adding a format is one module here, its name in the tuple that builds `FORMATS`, one runner
script in `export/` (added to `RUNNER_SCRIPTS` in `export/_common.py`, which never imports
tfzoo), and tests (docs/contributing.md). `base.py` holds the interface, `decoder_base.py`
what the decoder formats share; neither is a format.
"""

import os

from tfzoo.export.formats import (
    litertlm,
    onnx,
    onnx_decoder,
    saved_model,
    tflite,
    tflite_decoder,
)
from tfzoo.export.formats.base import Format, Options, artifact_size, median_latency_ms
from tfzoo.export.tflite_conversion import CALIBRATED_MODES, QUANTIZE_MODES

# Name -> Format, for every format. `tfzoo.export` dispatches through this table only.
FORMATS = {
    module.NAME: Format.from_module(module)
    for module in (saved_model, tflite, onnx, tflite_decoder, onnx_decoder, litertlm)
}
# Formats `tfzoo.export(model, path)` writes, told apart by the extension of the path.
MODEL_FORMATS = tuple(name for name, f in FORMATS.items() if f.kind == "model")
# The name an artifact of each model format has: a `.tflite` file, an `.onnx` file, a
# SavedModel directory with no extension. `tfzoo.export` refuses a path whose extension
# disagrees with the format (or names none of these), and `tfzoo.export.verify` a file whose
# content disagrees.
EXTENSIONS = {name: FORMATS[name].extension for name in MODEL_FORMATS}

__all__ = [
    "CALIBRATED_MODES",
    "EXTENSIONS",
    "FORMATS",
    "MODEL_FORMATS",
    "QUANTIZE_MODES",
    "Format",
    "Options",
    "artifact_size",
    "format_from_extension",
    "median_latency_ms",
    "sniff_format",
]


def format_from_extension(path):
    """The model format a path's extension names (`None` for an unknown extension).

    Example:

    >>> format_from_extension("out/m.tflite"), format_from_extension("out/m")
    ('tflite', 'saved_model')
    """
    suffix = os.path.splitext(os.path.basename(os.fspath(path).rstrip("/" + os.sep)))[1].lower()
    return {ext: name for name, ext in EXTENSIONS.items()}.get(suffix)


def sniff_format(path):
    """The model format of an artifact read from its content, or `None` if it is none of them.

    Each format's `sniff` decides: a TFLite flatbuffer carries `TFL3` at bytes 4-8; an ONNX
    file is a protobuf `ModelProto` whose top-level fields are all ONNX model fields, with a
    graph; a SavedModel is a directory with `saved_model.pb` (or `.pbtxt`).
    """
    path = os.fspath(path)
    for name in MODEL_FORMATS:
        if FORMATS[name].sniff(path):
            return name
    return None
