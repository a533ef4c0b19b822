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
    """One foreign tensor split into equal parts along `axis` (GPT-2's `c_attn`: q, k, v).

    Each part is reshaped to its variable. With `transpose`, parts are `nn.Linear` weights.
    """
    shapes = [tuple(v.shape) for v in variables]
    is_bias = name.endswith("bias")

    def to_keras(a):
        a = a.T if transpose else a
        parts = np.split(a, len(variables), axis=axis)
        return tuple(p.reshape(s) for p, s in zip(parts, shapes))

    def to_foreign(values):
        if is_bias:
            return np.concatenate([v.reshape(-1) for v in values])
        parts = [v.reshape(s[0], -1) for v, s in zip(values, shapes)]  # (in, out_i)
        out = np.concatenate(parts, axis=-1)
        return out.T if transpose else out

    return Slot(name, tuple(variables), to_keras, to_foreign)
