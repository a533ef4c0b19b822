"""Activation functions written so that every exported format keeps them.

Keras' exact GELU lowers to TensorFlow's ``Erfc`` op on the TensorFlow backend, which tf2onnx 1.17
cannot convert (ONNX Runtime then refuses the file). Here the exact GELU is written with ``erf``,
which becomes ONNX ``Erf`` and TFLite builtin ops, and the tanh approximation is written out in full.
"""

import math

import keras
from keras import ops

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@keras.saving.register_keras_serializable(package="tfzoo")
def gelu(x):
    """Exact GELU, `0.5 * x * (1 + erf(x / sqrt(2)))` (Hendrycks & Gimpel, 2016)."""
    return 0.5 * x * (1.0 + ops.erf(x * _SQRT_HALF))


@keras.saving.register_keras_serializable(package="tfzoo")
def gelu_tanh(x):
    """GELU with the tanh approximation used by GPT-2 (`gelu_new` in Hugging Face)."""
    return 0.5 * x * (1.0 + ops.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


@keras.saving.register_keras_serializable(package="tfzoo")
def relu(x):
    """Rectified linear unit."""
    return ops.relu(x)


@keras.saving.register_keras_serializable(package="tfzoo")
def silu(x):
    """SiLU / swish, `x * sigmoid(x)`."""
    return x * ops.sigmoid(x)


_ACTIVATIONS = {
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "relu": relu,
    "silu": silu,
}

# Names used by Hugging Face configs, mapped to the function they mean.
ALIASES = {
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "gelu_approximate": "gelu_tanh",
    "swish": "silu",
}


def get_activation(name):
    """Returns the activation function called `name`.

    Args:
        name: string. One of `"gelu"` (exact, erf form), `"gelu_tanh"`, `"relu"`, `"silu"`, or a
            Hugging Face alias (`"gelu_new"`, `"gelu_pytorch_tanh"`, `"swish"`).

    Example:

    >>> fn = tfzoo.layers.get_activation("gelu_new")
    """
    if callable(name):
        return name
    key = ALIASES.get(name, name)
    if key not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}. Supported: {sorted(_ACTIVATIONS) + sorted(ALIASES)}."
        )
    return _ACTIVATIONS[key]


def canonical_activation(name):
    """Returns the canonical tfzoo name of an activation (aliases resolved)."""
    key = ALIASES.get(name, name)
    if key not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}. Supported: {sorted(_ACTIVATIONS) + sorted(ALIASES)}."
        )
    return key
