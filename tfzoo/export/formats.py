"""Writers and in-process runners for the three formats: SavedModel, TFLite, ONNX.

Each writer takes a `ServingFunction` (`tfzoo/export/signature.py`) and writes the artifact to a
path the caller chose (a temporary name beside the final one). Each runner loads the artifact in
its own runtime, the one a user deploys with: TensorFlow's `tf.saved_model.load`, the LiteRT
interpreter (`ai_edge_litert`, XNNPACK delegate) and ONNX Runtime (CPU provider).
"""

import collections
import contextlib
import gc
import logging
import os
import re
import time
import warnings

import numpy as np

QUANTIZE_MODES = ("dynamic", "float16", "int8", "int8-full", "int16x8")
# Modes whose activation ranges come from calibration on representative data.
CALIBRATED_MODES = ("int8", "int8-full", "int16x8")
# quantize="int8" (post-training): the op types that run in int8, with calibrated scales. Every
# other op type stays float32. Measured on the fine-tuned MiniLM and bert-mini (sequence 128,
# 2 threads; docs/compression-quantization.md):
# - LayerNorm in int8 (MEAN / SQUARED_DIFFERENCE / RSQRT) and the residual stream on one
#   per-tensor scale (outlier channels up to ~230 beside values ~1) cost ~10 accuracy points;
# - int8 BATCH_MATMUL (the two attention matmuls, which have no weights) is not taken by
#   XNNPACK: with it the file ran 1.6x slower than float32, without it 0.3x;
# - RESHAPE / TRANSPOSE with int8 scales of their own cost 2.3 points.
INT8_OPS = ("FULLY_CONNECTED", "GATHER")
# quantize="int8": FULLY_CONNECTED ops whose output tensor name matches this pattern keep int8
# weights but float32 inputs and outputs (TFLite's hybrid kernel, as in quantize="dynamic"):
# the feed-forward down projection of tfzoo's `FeedForward` layer ("output") writes the
# residual stream's outlier channels; one per-tensor int8 scale for its output (range ~200 in
# MiniLM) rounds every ordinary channel to 0 or +-0.8. This alone was the remaining 3 points.
INT8_HYBRID_FC_PATTERN = r"feed_forward[^/]*/output"
_BUILTIN_TFLITE_OP = re.compile(r"^[A-Z0-9_]+$")
_STANDARD_ONNX_DOMAINS = ("", "ai.onnx")


# --- SavedModel ------------------------------------------------------------------------------


def write_saved_model(serving, path):
    """Writes a SavedModel directory with one `serving_default` signature."""
    import tensorflow as tf

    tf.saved_model.save(serving.module, path, signatures={"serving_default": serving.concrete})


def saved_model_runner(path, threads):
    """Returns `run(inputs) -> dict of arrays` calling the loaded `serving_default` signature."""
    import tensorflow as tf

    del threads  # TensorFlow's thread pools are process-wide and fixed once TF has run an op.
    function = tf.saved_model.load(path).signatures["serving_default"]

    def run(inputs):
        outputs = function(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    return run


def saved_model_ops(serving):
    """Op summary of the traced graph (all TensorFlow ops, so none is non-builtin)."""
    skip = {"Placeholder", "NoOp", "Const", "Identity", "ReadVariableOp"}
    by_type = {k: v for k, v in sorted(serving.graph_ops.items()) if k not in skip}
    return {"count": sum(by_type.values()), "by_type": by_type, "non_builtin": []}


# --- TFLite ----------------------------------------------------------------------------------


def convert_tflite(serving, quantize=None, calibration=None, allow_flex=False, int8_float_ops=None):
    """Converts the serving function to TFLite bytes.

    Args:
        serving: a `ServingFunction`.
        quantize: `None` (float32), `"dynamic"`, `"float16"`, `"int8"`, `"int8-full"` or
            `"int16x8"`. `"int8"` (post-training) is mixed precision: the op types in
            `INT8_OPS` (the matmuls, the embedding gathers) run in int8 with calibrated scales,
            the others in float32, and the feed-forward down projections keep int8 weights with
            float activations (`INT8_HYBRID_FC_PATTERN`). `"int8-full"` is strict: every op that
            has an int8 kernel runs in int8 (float only where none exists).
        calibration: list of input dicts for the calibrated modes (may be `None` for `"int8"`
            on a quantization-aware model, whose fake-quant ranges give the scales).
        allow_flex: bool. Let TensorFlow ops that are not TFLite builtins into the model (Flex).
        int8_float_ops: list of TFLite op names (e.g. `["MEAN", "RSQRT", "SQUARED_DIFFERENCE"]`)
            to keep float32 in `"int8"` instead of the default (every op type not in
            `INT8_OPS`); `[]` quantizes every op type (only the hybrid projections stay float).

    Returns:
        `(tflite_bytes, notes)`, notes a list of sentences for the report.
    """
    import tensorflow as tf

    notes = []
    if serving.is_qat:
        # Freeze the variables into constants first. Given the trackable module, the converter
        # keeps the kernels as variables behind their fake-quant ops and does not fold them:
        # only the ops outside the Transformer blocks came out int8 (2 of 14 FULLY_CONNECTED in
        # a 2-layer BERT classifier). On the frozen graph every kernel is a constant followed
        # by a fake-quant op, which the converter folds into an int8 weight tensor.
        frozen, holder = _frozen(serving)

        def make():
            return tf.lite.TFLiteConverter.from_concrete_functions([frozen], holder)
    else:
        # Float and post-training modes keep the module: the converter freezes its variables
        # itself (without it the float model kept READ_VARIABLE ops on uninitialised tensors).
        def make():
            return tf.lite.TFLiteConverter.from_concrete_functions(
                [serving.concrete], serving.module
            )

    def converter(supported_ops):
        c = make()
        ops = list(supported_ops)
        if allow_flex:
            ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        c.target_spec.supported_ops = ops
        if quantize is not None:
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            c.target_spec.supported_types = [tf.float16]
        # A quantization-aware model in "int8" ignores calibration data: given a representative
        # data set, the converter also calibrates the ops its fake-quant ops leave out
        # (LayerNorm, softmax, residual adds) and runs them in int8, the loss quantize="int8"
        # avoids (fine-tuned MiniLM QAT: LiteRT 0.7495 against 0.8103 in Keras, with LayerNorm's
        # MEAN / RSQRT / SQUARED_DIFFERENCE int8 in the file). "int8-full" keeps it (strict).
        qat_int8 = serving.is_qat and quantize == "int8"
        if calibration is not None and quantize in CALIBRATED_MODES and not qat_int8:
            batches = list(calibration)
            c.representative_dataset = lambda: iter(batches)
        return c

    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    if quantize == "int8" and not serving.is_qat:
        return _convert_int8_mixed(converter([builtins]), int8_float_ops, notes), notes
    if quantize == "int8-full" and not serving.is_qat:
        try:
            return _convert(converter([tf.lite.OpsSet.TFLITE_BUILTINS_INT8])), notes
        except _ConversionFailed as e:
            if e.flex_ops:
                raise _flex_error(e.flex_ops) from None
            # Some op has no int8 kernel: keep it in float, the rest in int8.
            notes.append(f"int8 with float fallback (full-integer conversion failed: {e.short})")
            return _convert(converter([tf.lite.OpsSet.TFLITE_BUILTINS_INT8, builtins])), notes
    if quantize == "int16x8":
        ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, builtins]
        try:
            return _convert(converter(ops)), notes
        except _ConversionFailed as e:
            if "Max and min for dynamic tensors" in str(e):
                raise ValueError(
                    "The TFLite converter cannot make an int16x8 model of this graph: its "
                    "16x8 calibration asks for float ranges of the int32 token-id inputs "
                    f"({e.short}). This is a converter limitation for models with integer "
                    "inputs (tensorflow/tensorflow#60799); use quantize='int8' or "
                    "quantize='dynamic' instead."
                ) from None
            raise
    if quantize in ("int8", "int8-full") and serving.is_qat:
        notes.append(
            "quantization-aware model: int8 scales from its fake-quant ranges; the file has a "
            "fixed batch of 1 (larger batches run row by row in tfzoo's runner)"
        )
        if quantize == "int8" and calibration is not None:
            notes.append(
                "representative data not used: the ops without fake-quant ranges (LayerNorm, "
                "softmax, residual adds) stay float; quantize='int8-full' calibrates them too"
            )
        if quantize == "int8-full" and calibration is None:
            notes.append(
                "int8-full without representative data: every matmul is int8 from the "
                "fake-quant ranges; the ops without them (LayerNorm, softmax, residual adds) "
                "stay float. Pass representative_data to calibrate those too"
            )
    return _convert(converter([builtins])), notes


def _convert_int8_mixed(converter, float_ops, notes):
    """Calibrates once, then quantizes with the float op types and hybrid projections left out.

    The converter's calibrate-only mode and `mlir_quantize` are what
    `tf.lite.experimental.QuantizationDebugger` runs for its `denylisted_ops` /
    `denylisted_nodes` and `get_nondebug_quantized_model()`; called directly here so the model
    is calibrated once and no debug (NumericVerify) model is built.
    """
    from tensorflow.lite.python import convert as lite_convert

    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    with warnings.catch_warnings():
        # The converter's own calibrator runs TensorFlow's deprecated `tf.lite.Interpreter`;
        # that warning is about TensorFlow's internals, not something a user can act on.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        calibrated = _convert(converter)
    op_types, fc_outputs = _op_types_and_fc_outputs(calibrated)
    if float_ops is None:
        float_ops = [t for t in op_types if t not in INT8_OPS]
    hybrid = [name for name in fc_outputs if re.search(INT8_HYBRID_FC_PATTERN, name)]
    try:
        content = lite_convert.mlir_quantize(
            calibrated,
            disable_per_channel=False,
            fully_quantize=False,
            denylisted_ops=sorted(set(float_ops)) or None,
            denylisted_nodes=hybrid or None,
        )
    except Exception as e:
        raise _ConversionFailed(str(e), []) from e
    content, converted = _hybrid_fully_connected(content, hybrid)
    kept = [t for t in op_types if t in set(float_ops)]
    notes.append(
        f"int8 mixed precision: {', '.join(t for t in op_types if t not in set(float_ops))} in "
        f"int8; float32: {', '.join(kept) or 'none'}"
        + (f"; {converted} feed-forward output projections with int8 weights and float "
           f"activations" if converted else "")
    )  # fmt: skip
    return content


def _op_types_and_fc_outputs(content):
    """The builtin op names of a TFLite model and the output tensor names of its FCs."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM"))
    op_types, fc_outputs = [], []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            name = codes[op.OpcodeIndex()]
            if name not in op_types:
                op_types.append(name)
            if name == "FULLY_CONNECTED" and op.OutputsLength():
                fc_outputs.append(graph.Tensors(op.Outputs(0)).Name().decode())
    return sorted(op_types), fc_outputs


def _hybrid_fully_connected(content, output_names):
    """Gives the float FULLY_CONNECTED ops writing `output_names` int8 per-channel weights.

    TFLite runs a FULLY_CONNECTED with a float input and int8 weights as a hybrid op (the input
    quantized per row on the fly, as in dynamic-range models), so these ops keep float
    activations but store their weights in a quarter of the bytes.

    Returns:
        `(content, number of ops changed)`.
    """
    if not output_names:
        return content, 0
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    wanted = set(output_names)
    changed = 0
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) != (
                schema.BuiltinOperator.FULLY_CONNECTED
            ):
                continue
            out = graph.tensors[op.outputs[0]]
            name = out.name.decode() if isinstance(out.name, bytes) else out.name
            inp, weights = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
            if name not in wanted or inp.type != schema.TensorType.FLOAT32:
                continue
            if weights.type != schema.TensorType.FLOAT32:
                continue
            buffer = model.buffers[weights.buffer]
            if buffer.data is None or len(weights.shape) != 2:
                continue
            kernel = np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), "<f4")
            kernel = kernel.reshape(weights.shape)  # (out, in)
            scale = np.maximum(np.max(np.abs(kernel), axis=1), 1e-12) / 127.0  # (out,)
            q = np.clip(np.round(kernel / scale[:, None]), -127, 127).astype(np.int8)
            buffer.data = q.view(np.uint8).ravel()
            weights.type = schema.TensorType.INT8
            params = schema.QuantizationParametersT()
            params.scale = scale.astype(np.float32).tolist()
            params.zeroPoint = [0] * len(scale)
            params.quantizedDimension = 0
            weights.quantization = params
            if op.builtinOptions is not None and hasattr(
                op.builtinOptions, "asymmetricQuantizeInputs"
            ):
                op.builtinOptions.asymmetricQuantizeInputs = True
            changed += 1
    return flatbuffer_utils.convert_object_to_bytearray(model), changed


def _frozen(serving):
    """The serving function for batch 1, frozen into constants, and a module holding it.

    Two things keep the converter from folding a quantization-aware model's fake-quant kernels
    into int8 weights, and both are avoided here. (1) Variables held by a trackable object stay
    variables behind their fake-quant ops. (2) With a dynamic batch the input reshapes of the
    `FULLY_CONNECTED` ops are computed at run time, and in a trained model (distinct ranges on
    q, k and v) the in-block matmuls came out float32 with a dequantized input (measured on a
    2-layer BERT classifier: 6 of 18 matmuls int8 with a dynamic batch, 18 of 18 with batch 1).

    Returns:
        `(concrete, module)`: a concrete function with the signature's named inputs (batch 1)
        and named outputs that reads no variable, and a variable-free `tf.Module` for the
        converter (with a trackable object the TFLite file gets its `serving_default`
        signature).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from tfzoo.layers import runtime_checks

    specs = [
        tf.TensorSpec((1, *spec.shape[1:]), spec.dtype, name=spec.name)
        for spec in serving.specs.values()
    ]
    with runtime_checks(False):
        traced = tf.function(serving.function.python_function, input_signature=specs)
        constants = convert_variables_to_constants_v2(traced.get_concrete_function())
    # The frozen function returns a flat list of tensors (the dict structure of the outputs is
    # lost); wrap it to name them again, in `serving.output_names` order (sorted dict keys).
    names = serving.output_names

    def serve(*args):
        outputs = constants(*args)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return dict(zip(names, outputs))

    function = tf.function(serve, input_signature=specs)
    module = tf.Module()
    module.serve = function
    return function.get_concrete_function(), module


class _ConversionFailed(RuntimeError):
    def __init__(self, message, flex_ops):
        super().__init__(message)
        self.flex_ops = flex_ops
        lines = [x.strip() for x in str(message).splitlines() if x.strip()]
        self.short = lines[-1][:200] if lines else "no message"


def _convert(converter):
    try:
        return converter.convert()
    except Exception as e:  # ConverterError, RuntimeError from the calibrator
        text = str(e)
        flex = re.search(r"TF Select ops: ([^\n]+)", text)
        flex_ops = sorted({op.strip() for op in flex.group(1).split(",")}) if flex else []
        raise _ConversionFailed(text, flex_ops) from e


def _flex_error(ops):
    return ValueError(
        f"This model needs TensorFlow ops that are not TFLite builtins: {', '.join(ops)}. A "
        f"TFLite file with them (Flex ops) runs only with the Flex delegate linked in, which "
        f"LiteRT on phones and `ai_edge_litert` do not include. Rewrite the layer that emits "
        f"them, or pass allow_flex=True to export a Flex model anyway."
    )


def write_tflite(serving, path, quantize=None, calibration=None, allow_flex=False):
    """Converts and writes a `.tflite` file; returns the notes of the conversion."""
    try:
        content, notes = convert_tflite(serving, quantize, calibration, allow_flex)
    except _ConversionFailed as e:
        if e.flex_ops and not allow_flex:
            raise _flex_error(e.flex_ops) from None
        raise RuntimeError(f"The TFLite converter failed: {e}") from None
    with open(path, "wb") as f:
        f.write(content)
    return notes


def tflite_runner(path, threads):
    """Returns `run(inputs)` on the `serving_default` signature, LiteRT with XNNPACK."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    runner = interpreter.get_signature_runner("serving_default")

    details = runner.get_input_details()
    fixed_batch = all(list(d["shape_signature"][:1]) == [1] for d in details.values())

    def run(inputs):
        # The signature runner resizes dynamic inputs (-1 in shape_signature) to each call's
        # shapes and re-allocates tensors when they change. A file traced for batch 1 (the
        # quantization-aware int8 path) runs a larger batch one row at a time.
        batch = len(next(iter(inputs.values())))
        if fixed_batch and batch != 1:
            rows = [run({k: v[i : i + 1] for k, v in inputs.items()}) for i in range(batch)]
            return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        return {k: np.array(v) for k, v in runner(**inputs).items()}

    run.interpreter = interpreter
    return run


def tflite_ops(path, run=None):
    """Op counts by builtin name, the non-builtin (Flex/custom) ops and XNNPACK partitions."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    plain = Interpreter(
        model_path=path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    details = plain._get_ops_details()
    names = [str(op["op_name"]) for op in details]
    by_type = dict(sorted(collections.Counter(names).items()))
    summary = {
        "count": len(names),
        "by_type": by_type,
        "non_builtin": sorted(n for n in by_type if not _BUILTIN_TFLITE_OP.match(n)),
        "matmul_dtypes": _matmul_dtypes(plain, details),
    }
    if run is not None and hasattr(run, "interpreter"):
        delegated = [op["op_name"] for op in run.interpreter._get_ops_details()]
        summary["xnnpack_partitions"] = delegated.count("DELEGATE")
    return summary


def _matmul_dtypes(interpreter, details):
    """Count of FULLY_CONNECTED / BATCH_MATMUL ops by the dtype of their weights (or rhs).

    The second input is the one quantization decides: an int8 weight with a float input is
    dynamic-range (`"int8"` weights, float activations); full-integer ops have both int8. A key
    `"int8"` counts ops whose first two inputs are both int8; `"int8_weights"` those with int8
    weights and a float input; other keys are the shared dtype name (`"float32"`, ...).
    """
    dtypes = {}
    for tensor in interpreter.get_tensor_details():
        dtypes[tensor["index"]] = np.dtype(tensor["dtype"]).name
    counts = collections.Counter()
    for op in details:
        if op["op_name"] not in ("FULLY_CONNECTED", "BATCH_MATMUL"):
            continue
        lhs, rhs = (dtypes[int(i)] for i in list(op["inputs"])[:2])
        if lhs == rhs:
            counts[lhs] += 1
        elif rhs == "int8":
            counts["int8_weights"] += 1
        else:
            counts[f"{lhs}x{rhs}"] += 1
    return dict(sorted(counts.items()))


# --- ONNX ------------------------------------------------------------------------------------


def write_onnx(serving, path, opset=17):
    """Converts the serving function with tf2onnx and writes the `.onnx` file.

    Inputs keep their names; their dynamic dimensions are named `batch` and `sequence`
    (`encoder_sequence`, `decoder_sequence` for an encoder-decoder).
    """
    import tf2onnx

    from tfzoo.export.signature import sequence_group
    from tfzoo.layers import runtime_checks

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)

    def convert(lean):
        with runtime_checks(False), _lean_tf2onnx(lean):
            return tf2onnx.convert.from_function(
                serving.function,
                input_signature=list(serving.specs.values()),
                opset=opset,
                output_path=None,
            )[0]

    try:
        model_proto = convert(lean=True)
    except Exception:  # e.g. an ONNX graph optimizer pass failed: tf2onnx's own way skips it
        gc.collect()
        model_proto = convert(lean=False)
    gc.collect()  # the converter's graphs are reference cycles holding copies of the weights
    for graph_input in model_proto.graph.input:
        dims = graph_input.type.tensor_type.shape.dim
        # An encoder-decoder's source and target lengths get distinct names (they differ).
        sequence = sequence_group(graph_input.name) + "sequence"
        for dim, label in zip(dims, ("batch", sequence)):
            if not dim.HasField("dim_value"):
                dim.dim_param = label
    with open(path, "wb") as f:
        f.write(model_proto.SerializeToString())


@contextlib.contextmanager
def _lean_tf2onnx(enabled=True):
    """Keeps tf2onnx's ONNX graph optimizer from piling up copies of the weights.

    Two things made `tf2onnx.convert.from_function` grow by one copy of every weight per
    optimizer pass (12 passes a round, rounds repeated until nothing changes): 6.3-6.6 GB peak
    RSS for all-MiniLM-L6-v2 (22M parameters, 90 MB of weights), most of the demo's peak.

    1. After each pass `Node.update_proto` clears the node's `NodeProto` attributes and adds
       them again, a new copy of a constant's tensor each time. Under protobuf's upb backend a
       cleared sub-message stays in its parent's arena until the parent is freed, so the copies
       of every weight accumulate for the whole conversion. Here each update starts from a
       fresh `NodeProto` (same fields, no attributes): the old one is freed with its copies.
    2. With `TF2ONNX_CATCH_ERRORS` unset (tf2onnx's default) the optimizer deep-copies the whole
       graph before each pass, to skip a pass that fails; set to "FALSE" here. tf2onnx 1.17
       compares the variable's name, not its value, with "TRUE", so any value means off;
       "FALSE" means off under that reading and the intended one alike.

    `write_onnx` converts with this and, only if that raises, again without (`enabled=False`
    restores tf2onnx's behaviour for the duration).
    """
    from tf2onnx.graph import Node

    name = "TF2ONNX_CATCH_ERRORS"
    previous = os.environ.get(name)
    original = Node.update_proto

    def update_proto(self, *args, **kwargs):
        self._op = _without_attributes(self._op)
        return original(self, *args, **kwargs)

    if enabled:
        os.environ[name] = "FALSE"
        Node.update_proto = update_proto
    else:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        Node.update_proto = original
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _without_attributes(proto):
    """A new message of `proto`'s type with every field copied except `attribute`."""
    fresh = type(proto)()
    for field, value in proto.ListFields():
        if field.name == "attribute":
            continue
        repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.29; `label` before
        if repeated is None:
            repeated = field.label == field.LABEL_REPEATED
        if repeated:
            getattr(fresh, field.name).extend(value)
        elif field.message_type is not None:
            getattr(fresh, field.name).CopyFrom(value)
        else:
            setattr(fresh, field.name, value)
    return fresh


def onnx_runner(path, threads):
    """Returns `run(inputs)` in an ONNX Runtime CPU session with `threads` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]

    def run(inputs):
        return dict(zip(names, session.run(names, inputs)))

    return run


def onnx_ops(path):
    """Op counts by ONNX op type; ops outside the standard domain are listed as non-builtin."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    nodes = list(model.graph.node)
    by_type = dict(sorted(collections.Counter(n.op_type for n in nodes).items()))
    non_builtin = sorted(
        {f"{n.domain}.{n.op_type}" for n in nodes if n.domain not in _STANDARD_ONNX_DOMAINS}
    )
    return {
        "count": len(nodes),
        "by_type": by_type,
        "non_builtin": non_builtin,
        "opset": max(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None
        ),
    }


# --- shared ----------------------------------------------------------------------------------


def median_latency_ms(run, inputs, runs=20, warmup=3):
    """Median wall time in ms of `run(inputs)` over `runs` calls after `warmup` calls."""
    for _ in range(warmup):
        run(inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(inputs)
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


# The name an artifact of each format has: a `.tflite` file, an `.onnx` file, a SavedModel
# directory with no extension. `tfzoo.export` refuses a path whose extension disagrees with the
# format (or names none of these), and `tfzoo.export.verify` a file whose content disagrees.
EXTENSIONS = {"tflite": ".tflite", "onnx": ".onnx", "saved_model": ""}
# ONNX `ModelProto` top-level fields: number -> protobuf wire type (0 varint, 2 bytes).
_ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def format_from_extension(path):
    """The format a path's extension names (`None` for an unknown extension).

    Example:

    >>> format_from_extension("out/m.tflite"), format_from_extension("out/m")
    ('tflite', 'saved_model')
    """
    suffix = os.path.splitext(os.path.basename(os.fspath(path).rstrip("/" + os.sep)))[1].lower()
    return {ext: fmt for fmt, ext in EXTENSIONS.items()}.get(suffix)


def sniff_format(path):
    """The format of an artifact read from its content, or `None` if it is none of the three.

    A TFLite flatbuffer carries the file identifier `TFL3` at bytes 4-8; an ONNX file is a
    protobuf `ModelProto` whose top-level fields are all ONNX model fields, with a graph (field
    7); a SavedModel is a directory with `saved_model.pb` (or `.pbtxt`). Only the top-level
    field tags are read (lengths are skipped), so a large ONNX file is not loaded.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        names = ("saved_model.pb", "saved_model.pbtxt")
        return "saved_model" if any(os.path.isfile(os.path.join(path, n)) for n in names) else None
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) == 8 and head[4:8] == b"TFL3":
            return "tflite"
        f.seek(0)
        return "onnx" if _is_onnx_model(f, os.path.getsize(path)) else None


def _is_onnx_model(f, size):
    def varint():
        value, shift = 0, 0
        while shift < 64:
            byte = f.read(1)
            if not byte:
                return None
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value
            shift += 7
        return None

    seen = set()
    while f.tell() < size:
        tag = varint()
        if tag is None or _ONNX_MODEL_FIELDS.get(tag >> 3) != tag & 7:
            return False
        seen.add(tag >> 3)
        value = varint()
        if value is None:
            return False
        if tag & 7 == 2:
            if f.tell() + value > size:
                return False
            f.seek(value, os.SEEK_CUR)
    return 7 in seen


def artifact_size(path):
    """Bytes of a file, or of every file under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )
