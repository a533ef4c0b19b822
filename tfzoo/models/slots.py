"""Named weight slots of tfzoo models, and the layout transforms between frameworks.

A *slot* ties one tensor of a foreign checkpoint to one or more tfzoo variables, with the two
functions that move values between the layouts. Every converter (Hugging Face, keras-hub) is a
list of slots; loading and saving walk that list, so one table serves both directions.
"""

import dataclasses
import math
from collections.abc import Callable

import numpy as np

# Hugging Face activation names (`hidden_act`, `activation_function`) -> tfzoo's, and back.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}
ACTIVATIONS_BACK = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}


def activation_from(config, key, default, family):
    """tfzoo's activation for `config[key]` (a `config.json`), refusing one it lacks."""
    act = config.get(key, default)
    if act not in ACTIVATIONS:
        raise ValueError(
            f"config.json has {key}={act!r}; tfzoo's {family} supports {sorted(ACTIVATIONS)}."
        )
    return ACTIVATIONS[act]


def activation_of(backbone, family, hf_family=None):
    """The Hugging Face name of `backbone.activation`, refusing one Hugging Face lacks."""
    if backbone.activation not in ACTIVATIONS_BACK:
        raise ValueError(
            f"This {family} uses activation={backbone.activation!r}, which Hugging Face "
            f"{hf_family or family} cannot express. Supported: {sorted(ACTIVATIONS_BACK)}."
        )
    return ACTIVATIONS_BACK[backbone.activation]


def backbone_of(model):
    """The backbone of a task model, or `model` itself when it is a backbone."""
    return model.backbone if hasattr(model, "backbone") else model


@dataclasses.dataclass(frozen=True)
class Slot:
    """One foreign tensor and the tfzoo variables it fills.

    Attributes:
        name: string. The tensor's name in the foreign checkpoint.
        variables: tuple of `keras.Variable`. The tfzoo variables.
        to_keras: function foreign array -> tuple of arrays, one per variable.
        to_foreign: function tuple of arrays -> foreign array.
        optional: bool. A checkpoint may lack it (e.g. BERT's pooler in `BertForMaskedLM`);
            the variables then keep their initial values and a warning says so.
    """

    name: str
    variables: tuple
    to_keras: Callable
    to_foreign: Callable
    optional: bool = False

    def foreign_shape(self):
        """The shape the foreign tensor must have, derived from the tfzoo variables."""
        zeros = tuple(np.zeros(v.shape, np.float32) for v in self.variables)
        return tuple(self.to_foreign(zeros).shape)

    def read(self):
        """The foreign tensor computed from the current tfzoo values."""
        return self.to_foreign(tuple(np.asarray(v.numpy(), np.float32) for v in self.variables))

    def write(self, array):
        """Assigns the foreign tensor `array` to the tfzoo variables (shape checked by caller)."""
        for variable, value in zip(self.variables, self.to_keras(np.asarray(array, np.float32))):
            variable.assign(value.reshape(variable.shape))


def copy(name, variable, optional=False):
    """Same layout on both sides (embeddings, norms, biases reshaped to the variable)."""
    shape = tuple(variable.shape)
    size = int(np.prod(shape))
    flat = len(shape) > 1 and name.endswith("bias")
    return Slot(
        name,
        (variable,),
        lambda a: (a.reshape(shape),),
        (lambda v: v[0].reshape(size)) if flat else (lambda v: v[0]),
        optional,
    )


def linear(name, variable, in_axes=1, optional=False):
    """A PyTorch `nn.Linear` weight `(out, in)` <-> a Keras kernel `(*in_dims, *out_dims)`.

    `in_axes` is the number of leading kernel axes that make up the input: 1 for a query kernel
    `(hidden, heads, head_dim)`, 2 for an attention output kernel `(heads, head_dim, hidden)`.
    """
    shape = tuple(variable.shape)
    fan_in = math.prod(shape[:in_axes])
    return Slot(
        name,
        (variable,),
        lambda a: (a.T.reshape(shape),),  # (out, in) -> (in, out) -> kernel shape
        lambda v: v[0].reshape(fan_in, -1).T,
        optional,
    )


def conv1d(name, variable, in_axes=1, optional=False):
    """A GPT-2 `Conv1D` weight `(in, out)` <-> a Keras kernel: already input-major."""
    shape = tuple(variable.shape)
    fan_in = math.prod(shape[:in_axes])
    return Slot(
        name,
        (variable,),
        lambda a: (a.reshape(shape),),
        lambda v: v[0].reshape(fan_in, -1),
        optional,
    )


def fused(name, variables, axis=-1, transpose=False):
    """One foreign tensor that concatenates several tfzoo variables along `axis`.

    GPT-2's `c_attn` (query, key, value), Phi-3's `qkv_proj` (query, then the smaller key and
    value of grouped-query attention) and `gate_up_proj`. Each part is as wide as its variable's
    output (all but the first kernel axis; all of a bias) and is reshaped to it. With
    `transpose`, the tensor is an `nn.Linear` weight `(out, in)`.
    """
    shapes = [tuple(v.shape) for v in variables]
    is_bias = name.endswith("bias")
    widths = [math.prod(s) if is_bias else math.prod(s[1:]) for s in shapes]
    cuts = list(np.cumsum(widths)[:-1])

    def to_keras(a):
        a = a.T if transpose else a
        parts = np.split(a, cuts, axis=axis)
        return tuple(p.reshape(s) for p, s in zip(parts, shapes))

    def to_foreign(values):
        if is_bias:
            return np.concatenate([v.reshape(-1) for v in values])
        parts = [v.reshape(s[0], -1) for v, s in zip(values, shapes)]  # (in, out_i)
        out = np.concatenate(parts, axis=-1)
        return out.T if transpose else out

    return Slot(name, tuple(variables), to_keras, to_foreign)


def head_interleaved(name, variables):
    """An `nn.Linear` weight or bias fusing query, key and value head by head (GPT-NeoX).

    Its output rows are `(heads, 3, head_dim)`: each head's query, key and value rows are
    adjacent. `variables`: the three kernels `(hidden, heads, head_dim)` or biases
    `(heads, head_dim)`.
    """
    shapes = [tuple(v.shape) for v in variables]
    heads, head_dim = shapes[0][-2:]
    is_bias = name.endswith("bias")

    def to_keras(a):
        a = a.reshape(heads, 3, head_dim, *a.shape[1:])  # (heads, 3, head_dim[, in])
        parts = [a[:, j] for j in range(3)]
        if not is_bias:
            parts = [p.transpose(2, 0, 1) for p in parts]  # (in, heads, head_dim)
        return tuple(p.reshape(s) for p, s in zip(parts, shapes))

    def to_foreign(values):
        if is_bias:
            return np.stack(values, axis=1).reshape(-1)
        stacked = np.stack([v.transpose(1, 2, 0) for v in values], axis=1)  # (heads, 3, d, in)
        return stacked.reshape(heads * 3 * head_dim, -1)

    return Slot(name, tuple(variables), to_keras, to_foreign)
