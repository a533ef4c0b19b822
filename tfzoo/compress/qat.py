"""Quantization-aware training (QAT) for tfzoo models, natively in Keras 3.

`prepare_qat(model)` returns a copy of a tfzoo BERT, GPT or Llama model (backbone or task) in
which every matrix multiplication trains through int8 fake quantization on the TFLite grid:

* every dense projection (`keras.layers.Dense`, `keras.layers.EinsumDense`: query, key, value
  and output projections, feed-forward, pooler, classifier, LM transform) quantizes its input
  and output per tensor (asymmetric, moving-average range) and its kernel per tensor
  (symmetric, narrow range: tfmot's default 8-bit scheme for `Dense`);
* every `tfzoo.layers.MultiHeadAttention` quantizes the inputs and outputs of its two batched
  matmuls: `q` and `k` before `q·kᵀ`, the logits after it, the probabilities and `v` before
  `probs·v`, and the context after it;
* the vocabulary projection of a `tfzoo.layers.ReversibleEmbedding` (the tied LM head) is
  quantized like a dense layer; the embedding lookup itself stays float.

Converted with `tf.lite.TFLiteConverter` and `optimizations=[tf.lite.Optimize.DEFAULT]`, every
`FULLY_CONNECTED` and `BATCH_MATMUL` of such a model runs on int8 inputs and int8 weights; the
embedding gathers, layer norms, softmax, the activations (GELU, tanh, SiLU), RoPE and the
residual adds stay float (see docs/compression-quantization.md).

Why tfzoo writes its own: tfmot 0.8.1 refuses Keras 3 models, and Keras 3's
`model.quantize("int8")` produces models the TFLite converter rejects.

Why per-tensor weights: with TF 2.21, the converter rejects a per-channel fake-quantized kernel
in a matmul (`'tfl.transpose' op has mismatched quantized axes`, it transposes the kernel into
the `FULLY_CONNECTED` layout after quantizing it), and `quantize_and_dequantize_v2` with an axis
crashes it. `fake_quant_weights(per_channel=True)` is kept for experiments and tests.

Conversion: the converter must see the variables (kernels and activation ranges) as constants
before its quantization passes. `tf.lite.TFLiteConverter.from_concrete_functions([fn])` without a
`trackable_obj` freezes them first and works; with a trackable object the variables stay
resources and the fake-quant ops are left unconverted (checked with TF 2.21).

How it works: the quantized layers are subclasses of the float layers that only override the
forward pass and add quantizer variables. `prepare_qat` copies the model and switches the class
of each selected layer in place (the model graph keeps pointing at the same layer objects, so
tfzoo's functional backbones need no rebuilding), then wraps the copy in a `QATModel`. A
`QATModel` saves the float model's config plus the QAT options; loading rebuilds the float
model, applies the same switch and loads the weights, so `.keras` files round trip.
"""

import difflib
import math

import keras
from keras import ops

from tfzoo.compress.fake_quant import ActivationQuantizer, _tf, fake_quant_weights
from tfzoo.layers.multi_head_attention import MultiHeadAttention, mask_logits
from tfzoo.layers.reversible_embedding import ReversibleEmbedding

# ---------------------------------------------------------------------------------------------
# Quantized layers
# ---------------------------------------------------------------------------------------------


class _QuantizedLayerMixin:
    """Options and in-place conversion shared by the quantized layers."""

    #: Names of the `ActivationQuantizer` sublayers this class creates.
    _quantizer_names = ()

    def _set_qat_options(self, ema_decay, quantize_inputs):
        self.ema_decay = float(ema_decay)
        self.quantize_inputs = bool(quantize_inputs)

    def _build_quantizers(self):
        for name in self._quantizer_names:
            if name == "input_quantizer" and not self.quantize_inputs:
                setattr(self, name, None)
                continue
            quantizer = ActivationQuantizer(self.ema_decay, dtype=self.dtype_policy, name=name)
            quantizer.build()
            setattr(self, name, quantizer)

    @classmethod
    def convert(cls, layer, ema_decay=0.99, quantize_inputs=True):
        """Turns a built float `layer` into this quantized class, in place, keeping its weights."""
        if getattr(layer, "quantization_mode", None):
            raise ValueError(
                f"Layer {layer.name!r} is already quantized by Keras "
                f"(quantization_mode={layer.quantization_mode!r}). Apply `prepare_qat` to the "
                f"float model instead."
            )
        layer.__class__ = cls
        layer._set_qat_options(ema_decay, quantize_inputs)
        # A built layer refuses new state; Keras' own `Dense.quantize` unlocks it the same way.
        layer._tracker.unlock()
        layer._build_quantizers()
        layer._tracker.lock()
        return layer

    def _qat_config(self):
        return {
            "ema_decay": self.ema_decay,
            "quantize_inputs": self.quantize_inputs,
        }


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

    def get_config(self):
        config = super().get_config()
        config.update(self._qat_config())
        return config


def _dense_like_plan(layer):
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
        _dense_like_plan(self)  # raises before any state is added
        super()._build_quantizers()

    def call(self, inputs, training=None):
        k, free_shape = _dense_like_plan(self)
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

    def get_config(self):
        config = super().get_config()
        config.update(self._qat_config())
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedMultiHeadAttention(_QuantizedLayerMixin, MultiHeadAttention):
    """`tfzoo.layers.MultiHeadAttention` with int8 fake quantization of both attention matmuls.

    The four projections become `QuantizedEinsumDense`. Inside `_compute_attention`:
    `logits = Q(Q(q) · Q(k)ᵀ)` and `context = Q(Q(probs) · Q(v))`, each `Q` a per-tensor
    moving-average quantizer, which the converter turns into two int8 `BATCH_MATMUL` ops. The
    `1/sqrt(head_dim)` scale is applied to the quantized logits (not to `q`), so nothing but
    reshapes and transposes sits between the query projection and the matmul when there is no
    RoPE. Masking and softmax run in float32, as in the float layer.

    Args:
        ema_decay: float. Defaults to `0.99`.
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

    def __init__(self, num_heads, ema_decay=0.99, **kwargs):
        super().__init__(num_heads, **kwargs)
        self._set_qat_options(ema_decay, True)

    def build(self, query_shape, value_shape=None, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self._convert_projections()
        self._build_quantizers()

    @classmethod
    def convert(cls, layer, ema_decay=0.99, quantize_inputs=True):
        super().convert(layer, ema_decay, quantize_inputs)
        layer._convert_projections()
        return layer

    def _convert_projections(self):
        for name in ("query_dense", "key_dense", "value_dense", "output_dense"):
            dense = getattr(self, name)
            if not isinstance(dense, QuantizedEinsumDense):
                # The context quantizer already quantizes the output projection's input.
                QuantizedEinsumDense.convert(
                    dense, ema_decay=self.ema_decay, quantize_inputs=name != "output_dense"
                )

    def _compute_attention(self, query, key, value, mask=None, position_bias=None, training=None):
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

    def get_config(self):
        config = super().get_config()
        config.update({"ema_decay": self.ema_decay})
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class QuantizedReversibleEmbedding(_QuantizedLayerMixin, ReversibleEmbedding):
    """`tfzoo.layers.ReversibleEmbedding` whose vocabulary projection is int8 fake-quantized.

    The lookup (`reverse=False`) is unchanged and stays a float gather. The projection
    (`reverse=True`, the LM head) becomes `Q_out(Q_in(hidden) · Q_w(tableᵀ))`; with tied weights the converter stores the table twice, float
    for the gather and int8 for the `FULLY_CONNECTED`.

    Args:
        ema_decay: float. Defaults to `0.99`.
        **kwargs: arguments of `tfzoo.layers.ReversibleEmbedding`.

    Example:

    >>> emb = tfzoo.compress.QuantizedReversibleEmbedding(100, 16)
    >>> logits = emb(emb(np.array([[1, 2, 3]])), reverse=True)   # (1, 3, 100)
    """

    _quantizer_names = ("input_quantizer", "output_quantizer")

    def __init__(self, input_dim, output_dim, ema_decay=0.99, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self._set_qat_options(ema_decay, True)

    def build(self, inputs_shape=None):
        super().build(inputs_shape)
        self._build_quantizers()

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        # No `training` argument in this signature: the quantizers read it from the call context.
        x = self.input_quantizer(inputs)
        if self.tie_weights:
            kernel = ops.transpose(ops.convert_to_tensor(self.embeddings))  # (dim, vocab)
        else:
            kernel = self.reverse_embeddings  # (dim, vocab)
        kernel = fake_quant_weights(kernel, per_channel=False)
        return _dense_2d(x, ops.cast(kernel, x.dtype), None, self.output_quantizer)  # (..., vocab)

    def get_config(self):
        config = super().get_config()
        config.update({"ema_decay": self.ema_decay})
        return config


# Float class -> quantized class. Order matters: subclasses before their bases.
_CONVERSIONS = (
    (MultiHeadAttention, QuantizedMultiHeadAttention),
    (ReversibleEmbedding, QuantizedReversibleEmbedding),
    (keras.layers.EinsumDense, QuantizedEinsumDense),
    (keras.layers.Dense, QuantizedDense),
)
_QUANTIZED = tuple(q for _, q in _CONVERSIONS)


def _quantized_class(layer):
    if isinstance(layer, _QUANTIZED):
        return None
    for float_cls, quantized_cls in _CONVERSIONS:
        if isinstance(layer, float_cls):
            return quantized_cls
    return None


# ---------------------------------------------------------------------------------------------
# Model-level API
# ---------------------------------------------------------------------------------------------


def _children(layer):
    return [c for c in layer._flatten_layers(include_self=False, recursive=False)]


def _named_layers(model):
    """`[(path, layer)]` of every layer under `model`, depth first, each layer once."""
    found, seen = [], set()

    def walk(layer, prefix):
        for child in _children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            path = f"{prefix}/{child.name}" if prefix else child.name
            found.append((path, child))
            walk(child, path)

    walk(model, "")
    return found


def _subtree(layer):
    return [layer] + [sub for _, sub in _named_layers(layer)]


def _select(model, layers):
    """Resolves the `layers` argument of `prepare_qat` into the layers to convert."""
    named = _named_layers(model)
    if layers is None:
        roots = [model]
    else:
        if isinstance(layers, str) or not all(isinstance(n, str) for n in layers):
            raise ValueError(
                f"`layers` must be a list of layer names or paths, e.g. ['pooler', "
                f"'transformer_layer_0/self_attention']. Received: layers={layers!r}"
            )
        roots = []
        for request in layers:
            matches = [
                layer
                for path, layer in named
                if request in (path, layer.name) or path.endswith("/" + request)
            ]
            if not matches:
                candidates = sorted({p for p, _ in named} | {layer.name for _, layer in named})
                close = difflib.get_close_matches(request, candidates, n=3)
                raise ValueError(
                    f"No layer named {request!r} in {model.name!r}. Closest layer paths: {close}."
                )
            for layer in matches:
                if not any(
                    _quantized_class(sub) or isinstance(sub, _QUANTIZED) for sub in _subtree(layer)
                ):
                    raise ValueError(
                        f"Layer {request!r} ({type(layer).__name__}) cannot be quantized: "
                        f"prepare_qat quantizes Dense, EinsumDense, tfzoo MultiHeadAttention and "
                        f"the projection of ReversibleEmbedding, and {request!r} contains none. "
                        f"Remove it from `layers=` (it stays float)."
                    )
            roots.extend(matches)
    targets, seen = [], set()
    for root in roots:
        for layer in _subtree(root):
            if isinstance(layer, keras.layers.MultiHeadAttention):
                raise ValueError(
                    f"Layer {layer.name!r} is a keras.layers.MultiHeadAttention, whose attention "
                    f"matmuls prepare_qat cannot quantize. Use tfzoo.layers.MultiHeadAttention, "
                    f"or leave this layer out with `layers=`."
                )
            if _quantized_class(layer) and id(layer) not in seen:
                seen.add(id(layer))
                targets.append(layer)
    return targets


def _convert_in_place(model, layers, ema_decay):
    targets = _select(model, layers)
    for layer in targets:
        if not layer.built:
            raise ValueError(
                f"Layer {layer.name!r} is not built. Build the model (call it once on data) "
                f"before prepare_qat."
            )
        # Attention converts its own projections first; check the einsum layers' equations
        # before anything is changed, so a bad layer leaves the model untouched.
        if isinstance(layer, keras.layers.EinsumDense) and not isinstance(layer, _QUANTIZED):
            _dense_like_plan(layer)
    for layer in targets:
        cls = _quantized_class(layer)  # None if converted meanwhile (attention projections)
        if cls is not None:
            cls.convert(layer, ema_decay=ema_decay)
    return targets


@keras.saving.register_keras_serializable(package="tfzoo")
class QATModel(keras.Model):
    """A quantization-aware tfzoo model: the wrapped model with its matmuls fake-quantized.

    Built by `tfzoo.compress.prepare_qat`; you rarely construct it yourself. It is a functional
    model with the same inputs and outputs as the wrapped model; train it with `fit`, save it
    with `save("x.keras")`, convert it with the TFLite converter. The wrapped model (with its
    task methods, e.g. `CausalLM.generate`) is `.model`.

    Args:
        model: a built float Keras model. Converted in place.
        layers: list of layer names/paths to quantize, or `None` for all. Defaults to `None`.
        ema_decay: float. Defaults to `0.99`.

    Example:

    >>> qat = tfzoo.compress.prepare_qat(tfzoo.build("bert-tiny", task="classification", num_classes=2))
    >>> qat.model   # the BertClassifier, with quantized layers
    """

    def __init__(self, model, layers=None, ema_decay=0.99, **kwargs):
        _tf()
        if not isinstance(model, keras.Model):
            raise ValueError(
                f"QATModel wraps a Keras model; received a {type(model).__name__}. Pass the "
                f"model returned by tfzoo.build(...)."
            )
        if isinstance(model, QATModel):
            raise ValueError("This model is already quantization-aware: pass it to fit directly.")
        # The float config, saved in `get_config`, is taken before conversion.
        self._float_config = keras.saving.serialize_keras_object(model)
        self.quantized_layers = _convert_in_place(model, layers, ema_decay)
        # === Layers ===
        self.model = model
        # === Functional Model ===
        inputs = model.input
        outputs = model(inputs)
        kwargs.setdefault("name", f"{model.name}_qat")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.layers_to_quantize = None if layers is None else list(layers)
        self.ema_decay = ema_decay

    @property
    def backbone(self):
        """The backbone of the wrapped model (or the model itself if it is a backbone)."""
        return getattr(self.model, "backbone", self.model)

    @property
    def input_names(self):
        return tuple(self.model.input_names)

    def get_config(self):
        return {
            "model": self._float_config,
            "layers": self.layers_to_quantize,
            "ema_decay": self.ema_decay,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


def prepare_qat(model, layers=None, ema_decay=0.99):
    """Returns a quantization-aware copy of a tfzoo model, ready for `compile` and `fit`.

    The copy fake-quantizes, on the TFLite int8 grid, the inputs, weights and outputs of every
    dense projection, both attention matmuls and the LM head projection (see the module
    docstring). Train it for a few hundred steps (or epochs on small data) at a lower learning
    rate than pre-training, then convert it with `tf.lite.TFLiteConverter` and
    `optimizations=[tf.lite.Optimize.DEFAULT]`: the activation ranges learnt in training become
    the int8 scales, no representative data set is needed. The input model is not modified.

    Args:
        model: a built tfzoo model, backbone or task (from `tfzoo.build`), or any built Keras
            model whose config round trips and whose matmuls are Dense/EinsumDense layers.
        layers: list of str or `None`. Names or paths (e.g. `"pooler"`,
            `"transformer_layer_0/self_attention"`) of the layers to quantize; a container
            quantizes everything quantizable inside it. `None` (the default) quantizes all.
        ema_decay: float in `[0, 1)`. Decay of the moving-average activation ranges.
            Defaults to `0.99`.

    Returns:
        A `tfzoo.compress.QATModel`.

    Raises:
        ValueError: on a non-TensorFlow backend, a model that is already quantization-aware or
            quantized by Keras, an unknown layer name, a requested layer with nothing
            quantizable in it, or a `keras.layers.MultiHeadAttention`.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> qat = tfzoo.compress.prepare_qat(model)
    >>> qat.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> qat.fit(train_ds, epochs=1)
    """
    _tf()
    if isinstance(model, QATModel):
        raise ValueError("This model is already quantization-aware (a QATModel): fit it directly.")
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(
            f"prepare_qat takes a built Keras model, e.g. tfzoo.build('bert-tiny', "
            f"task='classification', num_classes=2). Received: {type(model).__name__}"
            f"{'' if not isinstance(model, keras.Model) else ' (not built: call it on data first)'}."
        )
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(
            f"`ema_decay` must be in [0, 1), e.g. 0.999. Received: ema_decay={ema_decay}"
        )
    # Work on a copy: config round trip, then the same weights.
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    copy.set_weights(model.get_weights())
    return QATModel(copy, layers=layers, ema_decay=ema_decay)
