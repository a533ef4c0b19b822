"""Rewrites of a converted TFLite flatbuffer that the converter cannot be asked for.

`hybrid_fully_connected` gives chosen float `FULLY_CONNECTED` ops int8 weights with float
activations (post-training and quantization-aware `quantize="int8"`); `float_ops` puts
int8 ops of chosen types (`BATCH_MATMUL`, `TANH`) back in float (quantization-aware
`scheme="mixed"`). Each reads and
writes the bytes of a whole model; `op_types_and_fc_outputs` reads one.
"""

import numpy as np


def op_types_and_fc_outputs(content):
    """The builtin op names of a TFLite model and the output tensor names of its FCs."""
    model, codes = _model_and_opcode_names(content)
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


def _model_and_opcode_names(content):
    """The flatbuffer `Model` of `content` and the builtin name of each of its opcodes."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM"))
    return model, codes


def hybrid_fully_connected(content, output_names):
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
    kind = _opcode_kinds(model)
    wanted = set(output_names)
    changed = 0
    for graph in model.subgraphs:
        for op in graph.operators:
            if kind(op) != schema.BuiltinOperator.FULLY_CONNECTED:
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


def float_ops(content, op_names=("BATCH_MATMUL",)):
    """Makes every int8 op of the types `op_names` (e.g. `"BATCH_MATMUL"`, `"TANH"`) compute in
    float.

    An int8 input produced by a `QUANTIZE` of a float tensor is read as that float tensor (the
    `QUANTIZE` is dropped when nothing else reads it); another int8 input gets a `DEQUANTIZE`. An
    int8 output is written in float: the ops that only `DEQUANTIZE` it read the float tensor
    instead (those `DEQUANTIZE` ops are dropped); otherwise it is re-quantized to the original
    tensor, so the ops after it are unchanged.

    Returns:
        `(content, number of ops changed)`.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    wanted = {getattr(schema.BuiltinOperator, name) for name in op_names}
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    kind = _opcode_kinds(model)
    changed = 0
    for graph in model.subgraphs:
        operators, count = _float_ops_in(graph, model, kind, wanted)
        changed += count
        # Drop the QUANTIZE ops nothing reads any more.
        read = {i for op in operators for i in op.inputs} | set(graph.outputs)
        graph.operators = [
            op
            for op in operators
            if kind(op) != schema.BuiltinOperator.QUANTIZE or op.outputs[0] in read
        ]
    if not changed:
        return content, 0
    return flatbuffer_utils.convert_object_to_bytearray(model), changed


def _float_ops_in(graph, model, kind, wanted):
    """`float_ops` on one subgraph: the new operator list and the number of ops changed."""
    from tensorflow.lite.python import schema_py_generated as schema

    ops_enum, int8, float32 = (
        schema.BuiltinOperator,
        schema.TensorType.INT8,
        schema.TensorType.FLOAT32,
    )
    tensors = graph.tensors
    producer = {o: op for op in graph.operators for o in op.outputs}
    readers = {}
    for op in graph.operators:
        for i in op.inputs:
            readers.setdefault(i, []).append(op)
    operators, renamed, dropped, changed = [], {}, set(), 0
    for op in graph.operators:
        if id(op) in dropped:
            continue
        op.inputs = [renamed.get(i, i) for i in op.inputs]
        quantized = [i for i in op.inputs if i >= 0 and tensors[i].type == int8]
        out = op.outputs[0] if len(op.outputs) else -1
        if kind(op) not in wanted or not (quantized or tensors[out].type == int8):
            operators.append(op)
            continue
        inputs = list(op.inputs)
        for position, index in enumerate(inputs):
            if index not in quantized:
                continue
            source = producer.get(index)
            if (
                source is not None
                and kind(source) == ops_enum.QUANTIZE
                and (tensors[source.inputs[0]].type == float32)
            ):
                inputs[position] = source.inputs[0]
            else:
                twin = _float_twin(tensors, index, "dequantized")
                operators.append(_new_op(model, ops_enum.DEQUANTIZE, [index], [twin]))
                inputs[position] = twin
        op.inputs = inputs
        operators.append(op)
        if tensors[out].type == int8:
            twin = _float_twin(tensors, out, "float")
            op.outputs = [twin]
            after = readers.get(out, [])
            if (
                after
                and out not in graph.outputs
                and all(kind(r) == ops_enum.DEQUANTIZE for r in after)
            ):
                for r in after:  # read the float tensor where they read its dequantized copy
                    renamed[r.outputs[0]] = twin
                    dropped.add(id(r))
            else:
                operators.append(_new_op(model, ops_enum.QUANTIZE, [twin], [out]))
        changed += 1
    graph.outputs = [renamed.get(i, i) for i in graph.outputs]
    return operators, changed


def _opcode_kinds(model):
    """`kind(op)`: the builtin operator code of an op of a flatbuffer object `model`."""

    def kind(op):
        code = model.operatorCodes[op.opcodeIndex]
        return max(code.builtinCode, code.deprecatedBuiltinCode)

    return kind


def _float_twin(tensors, index, suffix):
    """Appends a float32 tensor shaped like `tensors[index]`; returns its index."""
    from tensorflow.lite.python import schema_py_generated as schema

    source, twin = tensors[index], schema.TensorT()
    twin.shape, twin.shapeSignature = source.shape, source.shapeSignature
    twin.type, twin.buffer = schema.TensorType.FLOAT32, 0
    name = source.name.decode() if isinstance(source.name, bytes) else source.name
    twin.name = f"{name}/{suffix}".encode()
    tensors.append(twin)
    return len(tensors) - 1


def _new_op(model, builtin, inputs, outputs):
    """A new operator of type `builtin` (its opcode added to `model` if missing)."""
    from tensorflow.lite.python import schema_py_generated as schema

    kinds = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    if builtin not in kinds:
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
        model.operatorCodes.append(code)
        kinds.append(builtin)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = kinds.index(builtin), list(inputs), list(outputs)
    return op
