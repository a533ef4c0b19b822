"""Producer side of export: SavedModel, TFLite and ONNX artifacts, each checked in its runtime.

    import tfzoo
    report = tfzoo.export(model, "out/model.tflite", quantize="dynamic")
    tfzoo.export.verify("out/model.tflite")   # the standalone runner, in a subprocess

`tfzoo/__init__.py` exposes the `export` function as `tfzoo.export`, which hides this package's
name there; `verify`, `ExportReport` and `ExportVerificationError` are attached to the function
so `tfzoo.export.verify(...)` works either way. Import submodules with `from tfzoo.export.x
import ...`.

Layout: `api.py` (the two export pipelines, `export` and `export_decoder`), `formats/` (one
module per format and `FORMATS`, the table they are dispatched through), `staging.py`
(temporary names, atomic moves, UNVERIFIED names), `report.py`, `samples.py` (calibration and
verification inputs), `verification.py` (tolerances, comparisons), `standalone.py` (`verify`
with the runners of `export/`), `signature.py`, `reference.py`, `tflite_conversion.py`,
`decoding.py` (the decoder exports' public functions).
"""

from tfzoo.export.api import FORMATS, QUANTIZE_MODES, ExportReport, export
from tfzoo.export.decoding import export_onnx_decoder, export_tflite_decoder
from tfzoo.export.reference import read_reference, reference_paths, write_reference
from tfzoo.export.standalone import verify, verify_many
from tfzoo.export.verification import ExportVerificationError, default_tolerance

export.verify = verify
export.verify_many = verify_many
export.tflite_decoder = export_tflite_decoder
export.onnx_decoder = export_onnx_decoder
export.ExportReport = ExportReport
export.ExportVerificationError = ExportVerificationError
export.FORMATS = FORMATS
export.QUANTIZE_MODES = QUANTIZE_MODES

__all__ = [
    "FORMATS",
    "QUANTIZE_MODES",
    "ExportReport",
    "ExportVerificationError",
    "default_tolerance",
    "export",
    "export_onnx_decoder",
    "export_tflite_decoder",
    "read_reference",
    "reference_paths",
    "verify",
    "verify_many",
    "write_reference",
]
