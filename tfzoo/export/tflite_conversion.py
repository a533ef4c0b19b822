"""TFLite conversion of a serving function: float, dynamic-range, float16, int8 and int16x8.

`convert_tflite` is what the `tflite` export format (`tfzoo/export/formats/tflite.py`) writes.
The post-training `"int8"` mode is mixed precision, calibrated once and then quantized with
the float op types and the feed-forward down projections left out (`_convert_int8_mixed`,
`tflite_rewrites.hybrid_fully_connected`); a quantization-aware model is frozen first
(`_frozen`) so its fake-quant kernels fold into int8 weights.
"""

import re
import warnings

from tfzoo.export import tflite_rewrites

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
# A model trained with prepare_qat(scheme="mixed"): the int8 ops of these types that the
# converter makes anyway are put back in float after conversion (`tflite_rewrites.float_ops`).
MIXED_QAT_FLOAT_OPS = ("BATCH_MATMUL", "TANH", "GELU", "LOGISTIC")
# quantize="int8": FULLY_CONNECTED ops whose output tensor name matches this pattern keep int8
# weights but float32 inputs and outputs (TFLite's hybrid kernel, as in quantize="dynamic"):
# the feed-forward down projection of tfzoo's `FeedForward` layer ("output") writes the
# residual stream's outlier channels; one per-tensor int8 scale for its output (range ~200 in
# MiniLM) rounds every ordinary channel to 0 or +-0.8. This alone was the remaining 3 points.
INT8_HYBRID_FC_PATTERN = r"feed_forward[^/]*/output"


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
        except ConversionFailed as e:
            if e.flex_ops:
                raise flex_error(e.flex_ops) from None
            # Some op has no int8 kernel: keep it in float, the rest in int8.
            notes.append(f"int8 with float fallback (full-integer conversion failed: {e.short})")
            return _convert(converter([tf.lite.OpsSet.TFLITE_BUILTINS_INT8, builtins])), notes
    if quantize == "int16x8":
        ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, builtins]
        try:
            return _convert(converter(ops)), notes
        except ConversionFailed as e:
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
    content = _convert(converter([builtins]))
    if quantize == "int8" and serving.float_attention:
        # The converter quantizes `probs · v` anyway (v and the output projection's input carry
        # fake-quant ranges, softmax has a fixed int8 scale): put it back in float, as XNNPACK
        # has no int8 BATCH_MATMUL. The activations after an int8 projection too (the pooler's
        # TANH): their int8 output has a fixed scale (1/128), a rounding QAT did not train with.
        content, floated = tflite_rewrites.float_ops(content, MIXED_QAT_FLOAT_OPS)
        if floated:
            notes.append(
                f"{floated} attention matmuls and activations kept float, as in post-training "
                f"int8 (XNNPACK runs float BATCH_MATMUL)"
            )
    if quantize == "int8" and serving.is_qat:
        # A model trained with prepare_qat(scheme="mixed") leaves its feed-forward down
        # projections float: they get int8 weights with float activations, as in post-training
        # "int8" (no-op for the "matmuls" scheme, whose projections are all int8 already).
        _, fc_outputs = tflite_rewrites.op_types_and_fc_outputs(content)
        hybrid = [name for name in fc_outputs if re.search(INT8_HYBRID_FC_PATTERN, name)]
        content, converted = tflite_rewrites.hybrid_fully_connected(content, hybrid)
        if converted:
            notes.append(
                f"{converted} feed-forward output projections with int8 weights and float "
                f"activations"
            )
    return content, notes


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
    op_types, fc_outputs = tflite_rewrites.op_types_and_fc_outputs(calibrated)
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
        raise ConversionFailed(str(e), []) from e
    content, converted = tflite_rewrites.hybrid_fully_connected(content, hybrid)
    kept = [t for t in op_types if t in set(float_ops)]
    notes.append(
        f"int8 mixed precision: {', '.join(t for t in op_types if t not in set(float_ops))} in "
        f"int8; float32: {', '.join(kept) or 'none'}"
        + (f"; {converted} feed-forward output projections with int8 weights and float "
           f"activations" if converted else "")
    )  # fmt: skip
    return content


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


class ConversionFailed(RuntimeError):
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
        raise ConversionFailed(text, flex_ops) from e


def flex_error(ops):
    return ValueError(
        f"This model needs TensorFlow ops that are not TFLite builtins: {', '.join(ops)}. A "
        f"TFLite file with them (Flex ops) runs only with the Flex delegate linked in, which "
        f"LiteRT on phones and `ai_edge_litert` do not include. Rewrite the layer that emits "
        f"them, or pass allow_flex=True to export a Flex model anyway."
    )
