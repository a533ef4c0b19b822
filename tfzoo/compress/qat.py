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

That is the default `scheme="matmuls"`. `scheme="mixed"` trains for the layout of the
post-training `quantize="int8"` file instead: the attention matmuls are not fake-quantized (and
stay float in the file), the token-embedding table is (an int8 `GATHER`), and the feed-forward
down projections train in float and get int8 weights with float activations in the file.

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

How it works: the quantized layers (`tfzoo/compress/quantized_layers.py`) are subclasses of the float layers that only override the
forward pass and add quantizer variables. `prepare_qat` copies the model and switches the class
of each selected layer in place (the model graph keeps pointing at the same layer objects, so
tfzoo's functional backbones need no rebuilding), then wraps the copy in a `QATModel`. A
`QATModel` saves the float model's config plus the QAT options; loading rebuilds the float
model, applies the same switch and loads the weights, so `.keras` files round trip.
"""

import difflib

import keras

from tfzoo.compress.fake_quant import _tf
from tfzoo.compress.quantized_layers import (
    QUANTIZED,
    QuantizedDense,
    QuantizedEinsumDense,
    QuantizedMultiHeadAttention,
    QuantizedReversibleEmbedding,
    dense_like_plan,
    quantized_class,
)
from tfzoo.compress.wrapped_model import copy_model, from_wrapper_config, wrapper_config

# What `prepare_qat(scheme=...)` fake-quantizes (see its docstring).
SCHEMES = ("matmuls", "mixed")

__all__ = [
    "QATModel",
    "QuantizedDense",
    "QuantizedEinsumDense",
    "QuantizedMultiHeadAttention",
    "QuantizedReversibleEmbedding",
    "prepare_qat",
]


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
                    quantized_class(sub) or isinstance(sub, QUANTIZED) for sub in _subtree(layer)
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
            if quantized_class(layer) and id(layer) not in seen:
                seen.add(id(layer))
                targets.append(layer)
    return targets


def _residual_writers(model):
    """The feed-forward down projections (`FeedForward.output_dense`): they write the residual
    stream, whose outlier channels one per-tensor int8 scale cannot hold."""
    from tfzoo.layers.feed_forward import FeedForward

    return {
        id(layer.output_dense)
        for _, layer in _named_layers(model)
        if isinstance(layer, FeedForward) and getattr(layer, "output_dense", None) is not None
    }


def _convert_in_place(model, layers, ema_decay, scheme="matmuls"):
    if scheme not in SCHEMES:
        raise ValueError(
            f"`scheme` must be one of {list(SCHEMES)}: 'matmuls' fake-quantizes every matmul "
            f"(attention too), 'mixed' the layout of quantize='int8'. Received: scheme={scheme!r}"
        )
    targets = _select(model, layers)
    if scheme == "mixed":
        keep_float = _residual_writers(model)
        targets = [layer for layer in targets if id(layer) not in keep_float]
    switches = {
        QuantizedMultiHeadAttention: {"quantize_attention": scheme == "matmuls"},
        QuantizedReversibleEmbedding: {"quantize_lookup": scheme == "mixed"},
    }
    for layer in targets:
        if not layer.built:
            raise ValueError(
                f"Layer {layer.name!r} is not built. Build the model (call it once on data) "
                f"before prepare_qat."
            )
        # Attention converts its own projections first; check the einsum layers' equations
        # before anything is changed, so a bad layer leaves the model untouched.
        if isinstance(layer, keras.layers.EinsumDense) and not isinstance(layer, QUANTIZED):
            dense_like_plan(layer)
    for layer in targets:
        cls = quantized_class(layer)  # None if converted meanwhile (attention projections)
        if cls is not None:
            cls.convert(layer, ema_decay=ema_decay, **switches.get(cls, {}))
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
        scheme: `"matmuls"` or `"mixed"` (see `prepare_qat`). Defaults to `"matmuls"`.

    Example:

    >>> qat = tfzoo.compress.prepare_qat(tfzoo.build("bert-tiny", task="classification", num_classes=2))
    >>> qat.model   # the BertClassifier, with quantized layers
    """

    def __init__(self, model, layers=None, ema_decay=0.99, scheme="matmuls", **kwargs):
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
        self.quantized_layers = _convert_in_place(model, layers, ema_decay, scheme)
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
        self.scheme = scheme

    @property
    def backbone(self):
        """The backbone of the wrapped model (or the model itself if it is a backbone)."""
        return getattr(self.model, "backbone", self.model)

    @property
    def input_names(self):
        return tuple(self.model.input_names)

    def get_config(self):
        return wrapper_config(
            self,
            self._float_config,
            layers=self.layers_to_quantize,
            ema_decay=self.ema_decay,
            scheme=self.scheme,
        )

    @classmethod
    def from_config(cls, config):
        return from_wrapper_config(cls, config)


def prepare_qat(model, layers=None, ema_decay=0.99, scheme="matmuls"):
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
        scheme: `"matmuls"` (the default) fake-quantizes every matmul, the two attention
            matmuls included: every `FULLY_CONNECTED` and `BATCH_MATMUL` of the file is int8.
            `"mixed"` trains for the layout of the post-training `quantize="int8"` file: the
            dense projections and the token-embedding table int8, the attention matmuls float
            (XNNPACK has no int8 `BATCH_MATMUL`), the feed-forward down projections float in
            training and int8-weight / float-activation in the file. Its file is as small and
            as fast as post-training int8's.

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
    return QATModel(copy_model(model), layers=layers, ema_decay=ema_decay, scheme=scheme)
