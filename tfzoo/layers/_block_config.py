"""Arguments shared by the encoder and decoder blocks (one place to validate them)."""

import keras

from tfzoo.layers.layer_norm import LayerNorm
from tfzoo.layers.rms_norm import RMSNorm

# "rms_norm_unit_offset": RMSNorm scaled by `1 + gamma` (Gemma).
NORMS = ("layer_norm", "rms_norm", "rms_norm_unit_offset")


def make_norm(kind, epsilon, name, dtype):
    if kind == "layer_norm":
        return LayerNorm(epsilon=epsilon, name=name, dtype=dtype)
    if kind in ("rms_norm", "rms_norm_unit_offset"):
        return RMSNorm(
            epsilon=epsilon, unit_offset=kind == "rms_norm_unit_offset", name=name, dtype=dtype
        )
    raise ValueError(f"Unknown norm {kind!r}. Supported: {NORMS}.")


def check_block_args(hidden_dim, num_heads, head_dim, norm, dropout, attention_dropout):
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of {NORMS}. Received: norm={norm!r}")
    for name, value in (("dropout", dropout), ("attention_dropout", attention_dropout)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value}")
    if hidden_dim is not None and head_dim is None and hidden_dim % num_heads:
        raise ValueError(
            f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Choose a "
            f"hidden_dim that is a multiple of num_heads (e.g. {num_heads * max(1, hidden_dim // num_heads)}), "
            f"or set head_dim explicitly."
        )


def serialize_initializer(initializer):
    return keras.initializers.serialize(keras.initializers.get(initializer))


def clone_initializer(initializer):
    """A fresh copy of `initializer` for one weight.

    An unseeded Keras 3 initializer instance returns the same values on every call, so sharing
    one instance across weights of the same shape would make them identical (query = key, layer
    0 = layer 1). Every weight gets its own copy.
    """
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())
