"""Which ops of a TFLite file compute in int8, int16 or float: the op-list checks of compression."""

import collections

import numpy as np

# Ops that only move between precisions at the edges of integer islands.
CONVERSION_OPS = ("QUANTIZE", "DEQUANTIZE")


def _interpreter(path_or_bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    source = (
        {"model_content": bytes(path_or_bytes)}
        if isinstance(path_or_bytes, (bytes, bytearray))
        else {"model_path": str(path_or_bytes)}
    )
    # No default delegate: the op list is the file's own ops, not XNNPACK partitions.
    return Interpreter(
        **source, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )


def op_dtypes(path_or_bytes):
    """`{op name: {dtype of its first input: count}}` for every op of a TFLite file.

    The first input's dtype is the precision the op computes in (`FULLY_CONNECTED` with an
    `int8` first input is a full-integer matmul; with `float32` and int8 weights it is a hybrid
    one, see `matmul_weights`). Ops without inputs count under `"-"`.
    """
    interpreter = _interpreter(path_or_bytes)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    counts = collections.defaultdict(collections.Counter)
    for op in interpreter._get_ops_details():
        inputs = [int(i) for i in op["inputs"] if i >= 0]
        counts[str(op["op_name"])][dtypes[inputs[0]] if inputs else "-"] += 1
    return {name: dict(sorted(c.items())) for name, c in sorted(counts.items())}


def float_ops(path_or_bytes):
    """`{op name: count}` of the ops that compute in float (not the QUANTIZE/DEQUANTIZE edges)."""
    found = {}
    for name, by_dtype in op_dtypes(path_or_bytes).items():
        n = sum(v for k, v in by_dtype.items() if k.startswith("float"))
        if n and name not in CONVERSION_OPS:
            found[name] = n
    return found


def check_integer_only(path_or_bytes, where="quantize='int8-full'"):
    """Raises a one-line `ValueError` naming the ops of the file that stayed float."""
    found = float_ops(path_or_bytes)
    if found:
        listed = ", ".join(f"{name} (x{n})" for name, n in found.items())
        raise ValueError(
            f"{where}: the model has ops the TFLite converter could not make integer-only (no "
            f"int8 kernel, or fed by one): {listed}. Use quantize='int8' (mixed precision), or "
            "replace the layer that emits them."
        )
