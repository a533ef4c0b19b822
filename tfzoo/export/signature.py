"""The serving signature every tfzoo export shares: named inputs, named outputs.

One `tf.function` with an input signature of NAMED `tf.TensorSpec`s (int32 `token_ids`,
`padding_mask`, `segment_ids` as the model takes them, with `encoder_`/`decoder_` prefixes for
an encoder-decoder; float32 `images` for a ViT) is traced once, with the in-graph token-id
asserts removed (`tfzoo.layers.runtime_checks(False)`: TFLite and ONNX have no assert op), and
is then written as the SavedModel's `serving_default`, converted to TFLite (whose signature
keeps the names instead of `args_0`) and converted to ONNX (whose graph inputs keep the names).
"""

import numpy as np

from tfzoo.layers import runtime_checks

# Names of token inputs, alone (BERT, GPT) or after a prefix (`encoder_`, `decoder_`).
TOKEN_SUFFIXES = ("token_ids", "padding_mask", "segment_ids")

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
    """Named `tf.TensorSpec`s for each model input; the batch dimension is always dynamic.

    Token inputs `(batch, sequence)` (int32 ids and masks) keep the sequence dynamic, or fix it
    when `sequence_length` is an int (both sides of an encoder-decoder). Image inputs
    `(batch, height, width, channels)` (float32, a ViT) take height and width from the model's
    `image_size` (its position table), so the artifact has one image size.
    """
    import tensorflow as tf

    specs = {}
    for name in input_names(model):
        tensor = model.input[name]
        shape = list(tensor.shape)
        dtype = tf.as_dtype(tensor.dtype)
        if len(shape) == 2:
            specs[name] = tf.TensorSpec([None, sequence_length], dtype, name=name)
        elif len(shape) == 4 and dtype.is_floating:
            specs[name] = tf.TensorSpec(_image_shape(model, name, shape), dtype, name=name)
        else:
            raise ValueError(
                f"tfzoo.export takes `(batch, sequence)` token inputs or `(batch, height, width, "
                f"channels)` float images; input {name!r} has shape {tuple(shape)} and dtype "
                f"{dtype.name}."
            )
    return specs


def _image_shape(model, name, shape):
    """`[None, H, W, C]`: unknown height and width from the model's `image_size`."""
    image_size = find_attribute(model, "image_size")
    height, width, channels = shape[1:]
    if height is None or width is None:
        if not isinstance(image_size, int):
            raise ValueError(
                f"Input {name!r} has a dynamic image size {tuple(shape)} and the model has no "
                f"`image_size` to fix it; tfzoo.export writes one image size per artifact."
            )
        height = image_size if height is None else height
        width = image_size if width is None else width
    if channels is None:
        raise ValueError(f"Input {name!r} has an unknown number of channels: {tuple(shape)}.")
    return [None, int(height), int(width), int(channels)]


def sequence_group(name):
    """The prefix shared by inputs of one sequence: `'encoder_'` for `encoder_padding_mask`.

    Inputs of one group (ids, mask, segments) share their shape; an encoder-decoder's source
    and target are two groups whose lengths may differ.
    """
    for suffix in TOKEN_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def check_exportable(model, sequence_length=None):
    """Refuses, before any tracing or conversion, layers that cannot be exported as configured.

    Sliding-window attention (`tfzoo.layers.LocalMultiHeadAttention`, what
    `attention_implementation="local"` builds) exports to every format with builtin ops when
    the sequence is dynamic or at least one window long. A fixed `sequence_length` shorter than
    the window (or than its global tokens) makes the layer refuse to trace (blocked local
    attention would be full attention); say so here, naming the layer, instead of failing deep
    inside tracing.

    Raises:
        ValueError: naming the layer and the reason.
    """
    from tfzoo.layers.local_attention import LocalMultiHeadAttention

    if sequence_length is None:
        return
    local = sorted(
        (
            (layer.path, layer)
            for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, LocalMultiHeadAttention)
        ),
        key=lambda item: item[0],
    )
    for path, layer in local:
        where = f"Layer {path!r} (LocalMultiHeadAttention)"
        if sequence_length < layer.sliding_window:
            raise ValueError(
                f"{where} cannot be exported with sequence_length={sequence_length}: its "
                f"sliding_window={layer.sliding_window} is longer than the sequence, so blocked "
                f"local attention would be full attention and the layer refuses to trace. Export "
                f"with sequence_length >= {layer.sliding_window} or sequence_length=None "
                f"(dynamic; shorter inputs are then padded to one window at run time), or build "
                f"the model with attention_implementation='dense'."
            )
        if sequence_length < layer.global_tokens:
            raise ValueError(
                f"{where} cannot be exported with sequence_length={sequence_length}: it has "
                f"global_tokens={layer.global_tokens}, more than the sequence holds. Export "
                f"with sequence_length >= {layer.global_tokens} or None (dynamic)."
            )


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
        float_attention: bool. A quantization-aware model whose attention matmuls are left
            float (`prepare_qat(scheme="mixed")`): its file keeps them float.
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
        self.float_attention = self.is_qat and any(
            getattr(layer, "quantize_attention", True) is False
            for layer in model._flatten_layers(include_self=True, recursive=True)
        )
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
    """Random valid inputs: token ids with the last row right-padded, or random images.

    Token inputs (`token_ids`, `padding_mask`, `segment_ids`, also with an `encoder_` or
    `decoder_` prefix) get ids in `[1, vocabulary_size)` (`target_vocabulary_size` for the
    decoder) and a padding mask that pads the second half of the last row. Float image inputs
    get values uniform in `[-1, 1]` (normalised pixels). An encoder-decoder's target is 3/4 as
    long as its source, so the two lengths differ as they do in use.

    Args:
        model: the Keras model (its `vocabulary_size`, `target_vocabulary_size`,
            `max_sequence_length`, `num_segments` are read from it or its backbone).
        specs: dict of input name to `tf.TensorSpec`.
        sequence_length: int or `None`. `None` uses `min(16, max_sequence_length)`.
        batch_size: int. Defaults to `2`.
        seed: int. Defaults to `0`.

    Returns:
        dict of input name to array: int32 `(batch_size, length)` for token inputs, float32
        `(batch_size, height, width, channels)` for images.
    """
    rng = np.random.default_rng(seed)
    max_len = find_attribute(model, "max_sequence_length") or 16
    length = sequence_length or min(16, max_len)
    groups = {}
    for name, spec in specs.items():
        if len(spec.shape) == 2:
            groups.setdefault(sequence_group(name), []).append(name)
    sample = {}
    for name, spec in specs.items():
        if len(spec.shape) != 2 and spec.dtype.is_floating:
            shape = (batch_size, *[int(d) for d in spec.shape[1:]])
            sample[name] = rng.uniform(-1.0, 1.0, size=shape).astype(spec.dtype.as_numpy_dtype)
    for group, names in groups.items():
        unknown = [n for n in names if n[len(group) :] not in TOKEN_SUFFIXES]
        if unknown:
            raise ValueError(
                f"Cannot make random values for inputs {unknown}. Pass `sample={{name: array}}` "
                f"for inputs {list(specs)}."
            )
        vocabulary_size = find_attribute(model, "vocabulary_size")
        if group == "decoder_":
            vocabulary_size = find_attribute(model, "target_vocabulary_size") or vocabulary_size
        if vocabulary_size is None:
            raise ValueError(
                f"Cannot make a random sample for {type(model).__name__}: it has no "
                f"`vocabulary_size`. Pass `sample={{name: int32 array}}` for inputs "
                f"{list(specs)}."
            )
        size = length
        if group == "decoder_" and sequence_length is None:
            size = max(1, (3 * length) // 4)  # a target shorter than its source
        token_ids = rng.integers(1, vocabulary_size, size=(batch_size, size)).astype("int32")
        padding_mask = np.ones((batch_size, size), "int32")
        if batch_size > 1 and size > 1:
            # Right padding on the last row: the padded positions must not change the real ones.
            padding_mask[-1, size // 2 :] = 0
            token_ids[-1, size // 2 :] = 0
        segment_ids = np.zeros((batch_size, size), "int32")
        if (find_attribute(model, "num_segments") or 1) > 1:
            segment_ids[0, size // 2 :] = 1  # a sentence pair in the first row
        values = {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}
        for n in names:
            sample[n] = values[n[len(group) :]]
    return {name: sample[name] for name in specs}


def check_inputs(what, inputs, specs):
    """Validates one batch of inputs (a dict, or a tuple whose first item is a dict).

    A model with one input (a ViT's `images`) also takes the bare array, or an `(x, y)` tuple
    whose first item is the array, as a `tf.data` pipeline of `(images, labels)` yields.

    Token inputs must be integer `(batch, sequence)` arrays, the inputs of one sequence (see
    `sequence_group`) of one shape; image inputs float `(batch, height, width, channels)`
    arrays of the exported size; all inputs one batch size.

    Returns:
        dict of input name to NumPy array in the spec's dtype (int32 ids, float32 images), in
        signature order.
    """
    if isinstance(inputs, tuple | list) and inputs and isinstance(inputs[0], dict):
        inputs = inputs[0]  # (x, y) or (x, y, sample_weight) from a training data set
    if len(specs) == 1 and not isinstance(inputs, dict):
        # A one-input model (a ViT) also takes the bare tensor: `images` or `(images, labels)`.
        if isinstance(inputs, tuple | list) and len(inputs) in (2, 3):
            inputs = inputs[0] if hasattr(inputs[0], "shape") else inputs
        if hasattr(inputs, "shape"):
            inputs = {next(iter(specs)): inputs}
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
    arrays, shapes, batch = {}, {}, None
    for name, spec in specs.items():
        value = np.asarray(inputs[name].numpy() if hasattr(inputs[name], "numpy") else inputs[name])
        dtype = spec.dtype.as_numpy_dtype
        if len(spec.shape) == 2:
            if not (np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_):
                raise ValueError(
                    f"`{what}[{name!r}]` must hold integers (token ids and masks), but has "
                    f"dtype {value.dtype}. Pass e.g. `np.asarray(ids, 'int32')`."
                )
            if value.ndim != 2:
                raise ValueError(
                    f"`{what}[{name!r}]` must have shape (batch, sequence); got {value.shape}."
                )
            fixed = spec.shape[1]
            if fixed is not None and value.shape[1] != fixed:
                raise ValueError(
                    f"`{what}[{name!r}]` has sequence length {value.shape[1]} but the export "
                    f"fixes sequence_length={fixed}. Pad or truncate it to {fixed} tokens."
                )
            group = sequence_group(name)
            if group in shapes and value.shape != shapes[group][1]:
                other, shape = shapes[group]
                raise ValueError(
                    f"`{what}` inputs disagree in shape: {name!r} has {value.shape}, {other!r} "
                    f"{shape}."
                )
            shapes.setdefault(group, (name, value.shape))
        else:
            if not np.issubdtype(value.dtype, np.floating):
                raise ValueError(
                    f"`{what}[{name!r}]` must hold float pixels (normalised, e.g. to [-1, 1]), "
                    f"but has dtype {value.dtype}. Convert with "
                    f"`images.astype('float32') / 127.5 - 1`."
                )
            expected = tuple(int(d) for d in spec.shape[1:])
            if value.ndim != len(spec.shape) or tuple(value.shape[1:]) != expected:
                raise ValueError(
                    f"`{what}[{name!r}]` must have shape (batch, {', '.join(map(str, expected))}) "
                    f"(the exported image size); got {value.shape}."
                )
        if batch is not None and value.shape[0] != batch[1]:
            raise ValueError(
                f"`{what}` inputs disagree in batch size: {name!r} has {value.shape[0]}, "
                f"{batch[0]!r} {batch[1]}."
            )
        batch = batch or (name, value.shape[0])
        arrays[name] = value.astype(dtype)
    return arrays
