"""The serving signature every tfzoo export shares: named int32 inputs, named outputs.

One `tf.function` with an input signature of NAMED `tf.TensorSpec`s (`token_ids`, `padding_mask`,
`segment_ids` as the model takes them) is traced once, with the in-graph token-id asserts removed
(`tfzoo.layers.runtime_checks(False)`: TFLite and ONNX have no assert op), and is then written as
the SavedModel's `serving_default`, converted to TFLite (whose signature keeps the names instead
of `args_0`) and converted to ONNX (whose graph inputs keep the names).
"""

import numpy as np

from tfzoo.layers import runtime_checks

# Graph ops that mark a quantization-aware (fake-quantized) model: the TFLite converter turns
# them into int8 kernels with `Optimize.DEFAULT` and needs no representative data set.
FAKE_QUANT_OPS = frozenset(
    {
        "FakeQuantWithMinMaxVars",
        "FakeQuantWithMinMaxVarsPerChannel",
        "FakeQuantWithMinMaxArgs",
        "QuantizeAndDequantizeV2",
        "QuantizeAndDequantizeV3",
        "QuantizeAndDequantizeV4",
    }
)


def input_names(model):
    """The model's input names in signature order, e.g. `['token_ids', 'padding_mask']`."""
    inputs = getattr(model, "input", None)
    if not isinstance(inputs, dict):
        raise ValueError(
            f"tfzoo.export takes a model whose inputs are a dict of named tensors (every model "
            f"from tfzoo.build is). Received a {type(model).__name__} with inputs {inputs!r}."
        )
    declared = [n for n in (getattr(model, "input_names", None) or ()) if n in inputs]
    return declared + [n for n in inputs if n not in declared]


def input_specs(model, sequence_length=None):
    """Named `tf.TensorSpec`s `(None, sequence_length or None)` for each model input.

    The batch dimension is always dynamic; the sequence dimension is fixed when
    `sequence_length` is an int.
    """
    import tensorflow as tf

    specs = {}
    for name in input_names(model):
        tensor = model.input[name]
        shape = list(tensor.shape)
        if len(shape) != 2:
            raise ValueError(
                f"tfzoo.export expects `(batch, sequence)` inputs; input {name!r} has shape "
                f"{tuple(shape)}."
            )
        specs[name] = tf.TensorSpec([None, sequence_length], tf.as_dtype(tensor.dtype), name=name)
    return specs


def output_names(model):
    """Names of the model's outputs in the order the signature returns them (sorted by name)."""
    outputs = model.output
    if isinstance(outputs, dict):
        return sorted(outputs)
    if isinstance(outputs, list | tuple):
        return [f"output_{i}" for i in range(len(outputs))]
    return [_single_output_name(model)]


def _single_output_name(model):
    import keras

    inner = getattr(model, "model", None)  # a wrapper such as tfzoo.compress.QATModel
    kind = type(inner if isinstance(inner, keras.Model) else model).__name__
    if "SentenceEmbedding" in kind:
        return "embeddings"
    return "logits"


def as_output_dict(model, outputs):
    """The model's outputs (tensor, list or dict) as a dict keyed by `output_names(model)`."""
    names = output_names(model)
    if isinstance(outputs, dict):
        return {name: outputs[name] for name in names}
    if isinstance(outputs, list | tuple):
        return dict(zip(names, outputs))
    return {names[0]: outputs}


class ServingFunction:
    """A traced serving function plus the variables it reads, ready to save or convert.

    Attributes:
        function: the `tf.function` with a named input signature.
        concrete: its concrete function.
        module: a `tf.Module` that holds the model's variables once (no second copy) and the
            function; what `tf.saved_model.save` and the TFLite converter take.
        specs: dict of input name to `tf.TensorSpec`.
        output_names: list of output names.
        graph_ops: dict of TensorFlow op type to count in the traced graph.
        is_qat: bool. The graph holds fake-quant ops.
    """

    def __init__(self, model, sequence_length=None):
        import tensorflow as tf

        self.specs = input_specs(model, sequence_length)
        self.output_names = output_names(model)
        names = list(self.specs)

        def serve(*args):
            outputs = model(dict(zip(names, args)), training=False)
            return as_output_dict(model, outputs)

        self.function = tf.function(serve, input_signature=list(self.specs.values()))
        with runtime_checks(False):
            self.concrete = self.function.get_concrete_function()
        self.module = tf.Module()
        # Keras variables wrap a tf.Variable (`.value`). Tracking the list makes the SavedModel
        # store each weight once and lets the TFLite converter freeze them into constants
        # (without it the converter leaves READ_VARIABLE ops reading uninitialised tensors).
        self.module.weights = [getattr(v, "value", v) for v in model.variables]
        self.module.serve = self.function
        self.graph_ops = _graph_op_counts(self.concrete.graph)
        self.is_qat = any(op in FAKE_QUANT_OPS for op in self.graph_ops)
        self.weight_bytes = int(sum(np.prod(v.shape) * v.dtype.size for v in self.module.weights))


def _graph_op_counts(graph):
    """Op type -> count over a graph and every function in its library (nested calls)."""
    counts = {}
    graph_def = graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes.extend(function.node_def)
    for node in nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
    return counts


def find_attribute(model, name):
    """`model.<name>`, else `model.backbone.<name>`, else the wrapped model's; `None` if absent."""
    for candidate in (model, getattr(model, "backbone", None), getattr(model, "model", None)):
        if candidate is not None and hasattr(candidate, name):
            value = getattr(candidate, name)
            if not callable(value):
                return value
    return None


def random_sample(model, specs, sequence_length=None, batch_size=2, seed=0):
    """Random valid inputs: ids in `[1, vocabulary_size)`, the last row right-padded.

    Args:
        model: the Keras model (its `vocabulary_size`, `max_sequence_length`, `num_segments` are
            read from it or its backbone).
        specs: dict of input name to `tf.TensorSpec`.
        sequence_length: int or `None`. `None` uses `min(16, max_sequence_length)`.
        batch_size: int. Defaults to `2`.
        seed: int. Defaults to `0`.

    Returns:
        dict of input name to int32 array `(batch_size, sequence_length)`.
    """
    vocabulary_size = find_attribute(model, "vocabulary_size")
    if vocabulary_size is None:
        raise ValueError(
            f"Cannot make a random sample for {type(model).__name__}: it has no "
            f"`vocabulary_size`. Pass `sample={{name: int32 array}}` for inputs {list(specs)}."
        )
    max_len = find_attribute(model, "max_sequence_length") or 16
    length = sequence_length or min(16, max_len)
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(1, vocabulary_size, size=(batch_size, length)).astype("int32")
    padding_mask = np.ones((batch_size, length), "int32")
    if batch_size > 1 and length > 1:
        # Right padding on the last row: the padded positions must not change the real ones.
        padding_mask[-1, length // 2 :] = 0
        token_ids[-1, length // 2 :] = 0
    segment_ids = np.zeros((batch_size, length), "int32")
    if (find_attribute(model, "num_segments") or 1) > 1:
        segment_ids[0, length // 2 :] = 1  # a sentence pair in the first row
    known = {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}
    unknown = [name for name in specs if name not in known]
    if unknown:
        raise ValueError(
            f"Cannot make random values for inputs {unknown}. Pass `sample={{name: array}}` for "
            f"inputs {list(specs)}."
        )
    return {name: known[name] for name in specs}


def check_inputs(what, inputs, specs):
    """Validates one batch of inputs (a dict, or a tuple whose first item is a dict).

    Returns:
        dict of input name to int32 (or the spec's dtype) NumPy array, in signature order.
    """
    if isinstance(inputs, tuple | list) and inputs and isinstance(inputs[0], dict):
        inputs = inputs[0]  # (x, y) or (x, y, sample_weight) from a training data set
    if not isinstance(inputs, dict):
        raise ValueError(
            f"`{what}` must be a dict of input name to array (or an `(x, y)` tuple with such a "
            f"dict) for inputs {list(specs)}. Received a {type(inputs).__name__}."
        )
    missing = [name for name in specs if name not in inputs]
    if missing:
        raise ValueError(
            f"`{what}` lacks inputs {missing}; the model takes {list(specs)}. Received keys "
            f"{list(inputs)}."
        )
    arrays, shape = {}, None
    for name, spec in specs.items():
        value = np.asarray(inputs[name].numpy() if hasattr(inputs[name], "numpy") else inputs[name])
        dtype = spec.dtype.as_numpy_dtype
        if np.issubdtype(dtype, np.integer) and not (
            np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_
        ):
            raise ValueError(
                f"`{what}[{name!r}]` must hold integers (token ids and masks), but has dtype "
                f"{value.dtype}. Pass e.g. `np.asarray(ids, 'int32')`."
            )
        if value.ndim != 2:
            raise ValueError(
                f"`{what}[{name!r}]` must have shape (batch, sequence); got {value.shape}."
            )
        fixed = spec.shape[1]
        if fixed is not None and value.shape[1] != fixed:
            raise ValueError(
                f"`{what}[{name!r}]` has sequence length {value.shape[1]} but the export fixes "
                f"sequence_length={fixed}. Pad or truncate it to {fixed} tokens."
            )
        if shape is not None and value.shape != shape:
            raise ValueError(
                f"`{what}` inputs disagree in shape: {name!r} has {value.shape}, others {shape}."
            )
        shape = value.shape
        arrays[name] = value.astype(dtype)
    return arrays
