"""Producer side of export: SavedModel, TFLite and ONNX artifacts, each checked in its runtime.

    import tfzoo
    report = tfzoo.export(model, "out/model.tflite", quantize="dynamic")
    tfzoo.export.verify("out/model.tflite")   # the standalone runner, in a subprocess

`tfzoo/__init__.py` exposes the `export` function as `tfzoo.export`, which hides this package's
name there; `verify`, `ExportReport` and `ExportVerificationError` are attached to the function
so `tfzoo.export.verify(...)` works either way. Import submodules with `from tfzoo.export.x
import ...`.
"""

from tfzoo.export.api import FORMATS, QUANTIZE_MODES, ExportReport, export, verify, verify_many
from tfzoo.export.decoding import export_onnx_decoder, export_tflite_decoder
from tfzoo.export.reference import read_reference, reference_paths, write_reference
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
