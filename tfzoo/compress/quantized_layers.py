"""The quantized layers of quantization-aware training: int8 fake quantization on the TFLite grid.

Each is a subclass of a float layer that only overrides the forward pass and adds quantizer
variables (`QuantizedDense`, `QuantizedEinsumDense`, `QuantizedMultiHeadAttention`,
`QuantizedReversibleEmbedding`); `convert(layer)` switches a built float layer's class in place,
keeping its weights. `tfzoo/compress/qat.py` (`prepare_qat`, `QATModel`) chooses which layers
of a model to convert; the scheme itself is described there.
"""

import math

import keras
from keras import ops

from tfzoo.compress.fake_quant import ActivationQuantizer, fake_quant_weights
from tfzoo.layers import checks
from tfzoo.layers.multi_head_attention import MultiHeadAttention, mask_logits
from tfzoo.layers.reversible_embedding import ReversibleEmbedding


class _QuantizedLayerMixin:
    """Options and in-place conversion shared by the quantized layers."""

    #: Names of the `ActivationQuantizer` sublayers this class creates.
    _quantizer_names = ()
    #: The QAT options `get_config` adds to the float layer's config.
    _config_keys = ("ema_decay", "quantize_inputs")
    #: Boolean options of one class (name -> default), e.g. `quantize_attention`.
    _switches = {}

    def _set_qat_options(self, ema_decay, quantize_inputs, **switches):
        self.ema_decay = float(ema_decay)
        self.quantize_inputs = bool(quantize_inputs)
        for name, default in self._switches.items():
            setattr(self, name, bool(switches.pop(name, default)))
        if switches:
            raise TypeError(f"{type(self).__name__} has no QAT option {sorted(switches)}.")

    def _build_quantizers(self):
        for name in self._quantizer_names:
            if name == "input_quantizer" and not self.quantize_inputs:
                setattr(self, name, None)
                continue
            quantizer = ActivationQuantizer(self.ema_decay, dtype=self.dtype_policy, name=name)
            quantizer.build()
            setattr(self, name, quantizer)

    @classmethod
    def convert(cls, layer, ema_decay=0.99, quantize_inputs=True, **switches):
        """Turns a built float `layer` into this quantized class, in place, keeping its weights."""
        if getattr(layer, "quantization_mode", None):
            raise ValueError(
                f"Layer {layer.name!r} is already quantized by Keras "
                f"(quantization_mode={layer.quantization_mode!r}). Apply `prepare_qat` to the "
                f"float model instead."
            )
        layer.__class__ = cls
        layer._set_qat_options(ema_decay, quantize_inputs, **switches)
        # A built layer refuses new state; Keras' own `Dense.quantize` unlocks it the same way.
        layer._tracker.unlock()
        layer._build_quantizers()
        layer._tracker.lock()
        return layer

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config


def _dense_2d(
    x, kernel, bias=None, output_quantizer=None, num_input_axes=1, free_shape=None, training=None
):
    """`Q_out(x (..., *in) @ kernel (prod(in), out) + bias) -> (..., *free_shape)`, one 2-D matmul.

    Keras' N-D `ops.matmul` lowers to `tf.tensordot` (reshapes and transposes around the
    kernel); a 2-D matmul on a flattened input is the pattern the TFLite converter turns into a
    plain `FULLY_CONNECTED` with an int8 kernel. The bias add and the output fake-quant act on
    the 2-D product, before the reshape back: the converter folds `MatMul -> BiasAdd ->
    FakeQuant` into one int8 op only when they are adjacent. With the reshape back between the
    matmul and the bias (TF 2.21), a sequence length left dynamic in the export made 12 of 14
    `FULLY_CONNECTED` ops of a 2-layer BERT classifier float32 (the reshape's shape is computed
    at run time, so the converter cannot fold it away as it does for a fixed length). A
    per-tensor fake-quant is elementwise, so the order changes no value.

    Args:
        x: tensor `(..., *in)`.
        kernel: tensor `(prod(in), out)`, already fake-quantized.
        bias: tensor `(out,)` or `None`.
        output_quantizer: an `ActivationQuantizer` or `None`.
        num_input_axes: int. Trailing axes of `x` contracted with the kernel.
        free_shape: tuple. Output axes replacing the contracted ones; `(out,)` by default.
        training: bool or `None`, for the quantizer.
    """
    free_shape = tuple(free_shape or (kernel.shape[1],))
    flat = len(x.shape) == 2 and num_input_axes == 1
    if not flat:
        shape = ops.shape(x)
        batch_shape = tuple(shape[: len(shape) - num_input_axes])
        x = ops.reshape(x, (-1, kernel.shape[0]))  # (N, in)
    y = ops.matmul(x, kernel)  # (N, out)
    if bias is not None:
        y = y + bias
    if output_quantizer is not None:
        y = output_quantizer(y, training=training)
    if flat and len(free_shape) == 1:
        return y
    if flat:
        batch_shape = (ops.shape(x)[0],)
    return ops.reshape(y, (*batch_shape, *free_shape))  # (..., *free_shape)


def _quantize_input(layer, x, training):
    if layer.input_quantizer is None:
        return x
    return layer.input_quantizer(x, training=training)


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedDense(_QuantizedLayerMixin, keras.layers.Dense):
    """`keras.layers.Dense` with int8 fake quantization (TFLite `FULLY_CONNECTED`).

    `y = act(Q_out(Q_in(x) · Q_w(kernel) + bias))`: `Q_in`, `Q_out` are per-tensor asymmetric
    moving-average quantizers, `Q_w` is symmetric narrow-range per tensor. The output is
    quantized before the activation, because TFLite fuses only ReLU-like activations into
    `FULLY_CONNECTED`; others (tanh, GELU) run after it, in float.

    Args:
        ema_decay: float. Decay of the activation ranges' moving average. Defaults to `0.99`.
        quantize_inputs: bool. Fake-quantize the input (off when the producer already
            quantizes it). Defaults to `True`.
        **kwargs: arguments of `keras.layers.Dense`.

    Example:

    >>> layer = tfzoo.compress.QuantizedDense(8)
    >>> y = layer(np.random.randn(2, 16).astype("float32"), training=True)   # (2, 8)
    """

    _quantizer_names = ("input_quantizer", "output_quantizer")

    def __init__(self, units, ema_decay=0.99, quantize_inputs=True, **kwargs):
        super().__init__(units, **kwargs)
        self._set_qat_options(ema_decay, quantize_inputs)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_quantizers()

    def call(self, inputs, training=None):
        x = _quantize_input(self, inputs, training)
        kernel = fake_quant_weights(self.kernel, per_channel=False)  # (in, units)
        y = _dense_2d(
            x, ops.cast(kernel, x.dtype), self.bias, self.output_quantizer, training=training
        )
        if self.activation is not None:
            y = self.activation(y)
        return y


def dense_like_plan(layer):
    """Reads an `EinsumDense` equation as `reshape -> 2-D matmul -> reshape`.

    Returns `(num_contracted_axes, free_kernel_shape)`. Supported equations contract the trailing
    input axes with the leading kernel axes and append the remaining kernel axes to the output,
    e.g. `"abc,cde->abde"` (query) or `"abcd,cde->abe"` (attention output). A 2-D matmul is what
    the TFLite converter turns into `FULLY_CONNECTED` with int8 weights.
    """
    equation = layer.equation.replace(" ", "")
    inputs, output = equation.split("->")
    x_axes, kernel_axes = inputs.split(",")
    contracted = [a for a in kernel_axes if a in x_axes and a not in output]
    k = len(contracted)
    free = kernel_axes[k:]
    batch = x_axes[: len(x_axes) - k]
    bias_ok = layer.bias_axes in (None, "", free)
    if (
        not k
        or kernel_axes[:k] != "".join(contracted)
        or x_axes[len(x_axes) - k :] != "".join(contracted)
        or output != batch + free
        or any(a in batch for a in kernel_axes)
        or not bias_ok
    ):
        raise ValueError(
            f"EinsumDense layer {layer.name!r} (equation {layer.equation!r}, bias_axes "
            f"{layer.bias_axes!r}) cannot be quantized: prepare_qat supports equations that "
            f"contract the last input axes with the first kernel axes, like 'abc,cde->abde', "
            f"with a bias over all output kernel axes. Leave this layer out of `layers=`."
        )
    return k, tuple(layer.kernel.shape[k:])


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedEinsumDense(_QuantizedLayerMixin, keras.layers.EinsumDense):
    """`keras.layers.EinsumDense` with int8 fake quantization (TFLite `FULLY_CONNECTED`).

    The einsum is computed as `reshape -> matmul -> reshape` with the kernel flattened to
    `(contracted, outputs)` (e.g. `(hidden, heads * head_dim)` for the query), so the converter
    emits a plain `FULLY_CONNECTED` instead of transposes around a batched matmul.

    Args:
        ema_decay: float. Defaults to `0.99`.
        quantize_inputs: bool. Defaults to `True`.
        **kwargs: arguments of `keras.layers.EinsumDense`.

    Example:

    >>> layer = tfzoo.compress.QuantizedEinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="de")
    >>> y = layer(np.random.randn(2, 5, 16).astype("float32"))   # (2, 5, 2, 4)
    """

    _quantizer_names = ("input_quantizer", "output_quantizer")

    def __init__(
        self,
        equation,
        output_shape,
        ema_decay=0.99,
        quantize_inputs=True,
        **kwargs,
    ):
        super().__init__(equation, output_shape, **kwargs)
        self._set_qat_options(ema_decay, quantize_inputs)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_quantizers()

    def _build_quantizers(self):
        dense_like_plan(self)  # raises before any state is added
        super()._build_quantizers()

    def call(self, inputs, training=None):
        k, free_shape = dense_like_plan(self)
        x = _quantize_input(self, inputs, training)
        contracted = math.prod(self.kernel.shape[:k])
        outputs = math.prod(free_shape)
        kernel = ops.reshape(self.kernel, (contracted, outputs))  # (contracted, outputs)
        kernel = fake_quant_weights(kernel, per_channel=False)
        bias = None if self.bias is None else ops.reshape(self.bias, (outputs,))
        y = _dense_2d(
            x,
            ops.cast(kernel, x.dtype),
            bias,
            self.output_quantizer,
            num_input_axes=k,
            free_shape=free_shape,
            training=training,
        )  # (..., *free kernel axes)
        if self.activation is not None:
            y = self.activation(y)
        return y


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedMultiHeadAttention(_QuantizedLayerMixin, MultiHeadAttention):
    """`tfzoo.layers.MultiHeadAttention` with int8 fake quantization of both attention matmuls.

    The four projections become `QuantizedEinsumDense`. With `quantize_attention=False` only
    they are quantized and the two attention matmuls stay float (the layout of the
    post-training `quantize="int8"` file: XNNPACK runs float `BATCH_MATMUL` and not int8 ones).
    Otherwise, inside `_compute_attention`:
    `logits = Q(Q(q) · Q(k)ᵀ)` and `context = Q(Q(probs) · Q(v))`, each `Q` a per-tensor
    moving-average quantizer, which the converter turns into two int8 `BATCH_MATMUL` ops. The
    `1/sqrt(head_dim)` scale is applied to the quantized logits (not to `q`), so nothing but
    reshapes and transposes sits between the query projection and the matmul when there is no
    RoPE. Masking and softmax run in float32, as in the float layer.

    Args:
        ema_decay: float. Defaults to `0.99`.
        quantize_attention: bool. Fake-quantize the two attention matmuls. Defaults to `True`.
        **kwargs: arguments of `tfzoo.layers.MultiHeadAttention`.

    Example:

    >>> mha = tfzoo.compress.QuantizedMultiHeadAttention(num_heads=2)
    >>> y = mha(np.random.randn(2, 5, 16).astype("float32"))   # (2, 5, 16)
    """

    _quantizer_names = (
        "query_quantizer",
        "key_quantizer",
        "logits_quantizer",
        "probs_quantizer",
        "value_quantizer",
        "context_quantizer",
    )
    _config_keys = ("ema_decay", "quantize_attention")
    _switches = {"quantize_attention": True}

    def __init__(self, num_heads, ema_decay=0.99, quantize_attention=True, **kwargs):
        super().__init__(num_heads, **kwargs)
        self._set_qat_options(ema_decay, True, quantize_attention=quantize_attention)

    def build(self, query_shape, value_shape=None, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self._convert_projections()
        self._build_quantizers()

    @classmethod
    def convert(cls, layer, ema_decay=0.99, quantize_inputs=True, **switches):
        super().convert(layer, ema_decay, quantize_inputs, **switches)
        layer._convert_projections()
        return layer

    def _build_quantizers(self):
        if self.quantize_attention:
            super()._build_quantizers()

    def _convert_projections(self):
        for name in ("query_dense", "key_dense", "value_dense", "output_dense"):
            dense = getattr(self, name)
            if not isinstance(dense, QuantizedEinsumDense):
                # The context quantizer (if any) already quantizes the output projection's input.
                own_input = name != "output_dense" or not self.quantize_attention
                QuantizedEinsumDense.convert(
                    dense, ema_decay=self.ema_decay, quantize_inputs=own_input
                )

    def _compute_attention(self, query, key, value, mask=None, position_bias=None, training=None):
        if not self.quantize_attention:
            return super()._compute_attention(query, key, value, mask, position_bias, training)
        groups = self.num_heads // self.num_key_value_heads
        if groups > 1:
            key = ops.repeat(key, groups, axis=2)  # (B, Tk, H, D)
            value = ops.repeat(value, groups, axis=2)
        q = ops.transpose(query, (0, 2, 1, 3))  # (B, H, Tq, D)
        k = ops.transpose(key, (0, 2, 3, 1))  # (B, H, D, Tk)
        v = ops.transpose(value, (0, 2, 1, 3))  # (B, H, Tk, D)
        q = self.query_quantizer(q, training=training)
        k = self.key_quantizer(k, training=training)
        logits = self.logits_quantizer(ops.matmul(q, k), training=training)  # (B, H, Tq, Tk)
        logits = ops.cast(logits, "float32") * (1.0 / math.sqrt(self.head_dim))
        if position_bias is not None:
            logits = logits + ops.cast(position_bias, "float32")
        if mask is not None:
            logits = mask_logits(logits, mask)
        probs = ops.cast(ops.softmax(logits, axis=-1), self.compute_dtype)
        # Quantize before dropout: the inference range is that of the probabilities, [0, 1].
        quantized_probs = self.probs_quantizer(probs, training=training)
        dropped = self.dropout_layer(quantized_probs, training=training)
        v = self.value_quantizer(v, training=training)
        context = self.context_quantizer(ops.matmul(dropped, v), training=training)  # (B, H, Tq, D)
        return ops.transpose(context, (0, 2, 1, 3)), probs  # (B, Tq, H, D)


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedReversibleEmbedding(_QuantizedLayerMixin, ReversibleEmbedding):
    """`tfzoo.layers.ReversibleEmbedding` whose vocabulary projection is int8 fake-quantized.

    The lookup (`reverse=False`) stays a float gather, or with `quantize_lookup=True` reads the
    table fake-quantized per tensor (symmetric, narrow range), which the converter stores as an
    int8 table read by an int8 `GATHER` (a quarter of the float table's bytes). The projection
    (`reverse=True`, the LM head) becomes `Q_out(Q_in(hidden) · Q_w(tableᵀ))`; with tied weights the converter stores the table twice, float
    for the gather and int8 for the `FULLY_CONNECTED`.

    Args:
        ema_decay: float. Defaults to `0.99`.
        quantize_lookup: bool. Fake-quantize the table the lookup reads. Defaults to `False`.
        **kwargs: arguments of `tfzoo.layers.ReversibleEmbedding`.

    Example:

    >>> emb = tfzoo.compress.QuantizedReversibleEmbedding(100, 16)
    >>> logits = emb(emb(np.array([[1, 2, 3]])), reverse=True)   # (1, 3, 100)
    """

    _quantizer_names = ("input_quantizer", "output_quantizer")
    _config_keys = ("ema_decay", "quantize_lookup")
    _switches = {"quantize_lookup": False}

    def __init__(self, input_dim, output_dim, ema_decay=0.99, quantize_lookup=False, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self._set_qat_options(ema_decay, True, quantize_lookup=quantize_lookup)

    def build(self, inputs_shape=None):
        super().build(inputs_shape)
        self._build_quantizers()

    def call(self, inputs, reverse=False):
        if not reverse and not self.quantize_lookup:
            return super().call(inputs)
        if not reverse:
            inputs = checks.check_token_ids(inputs, self.input_dim)
            table = fake_quant_weights(self.embeddings, per_channel=False)  # (vocab, dim)
            rows = ops.take(table, ops.cast(inputs, "int32"), axis=0)  # (..., dim)
            return ops.cast(rows, self.compute_dtype)
        # No `training` argument in this signature: the quantizers read it from the call context.
        x = self.input_quantizer(inputs)
        if self.tie_weights:
            kernel = ops.transpose(ops.convert_to_tensor(self.embeddings))  # (dim, vocab)
        else:
            kernel = self.reverse_embeddings  # (dim, vocab)
        kernel = fake_quant_weights(kernel, per_channel=False)
        return _dense_2d(x, ops.cast(kernel, x.dtype), None, self.output_quantizer)  # (..., vocab)


# Float class -> quantized class. Order matters: subclasses before their bases.
_CONVERSIONS = (
    (MultiHeadAttention, QuantizedMultiHeadAttention),
    (ReversibleEmbedding, QuantizedReversibleEmbedding),
    (keras.layers.EinsumDense, QuantizedEinsumDense),
    (keras.layers.Dense, QuantizedDense),
)
QUANTIZED = tuple(q for _, q in _CONVERSIONS)


def quantized_class(layer):
    if isinstance(layer, QUANTIZED):
        return None
    for float_cls, quantized_cls in _CONVERSIONS:
        if isinstance(layer, float_cls):
            return quantized_cls
    return None
