import sys

import keras

from tfzoo.layers import checks
from tfzoo.models.zoo_model import ZooModel

# Constructor parameters that `Backbone.get_config` writes itself (or that are not config).
_NOT_ARGUMENTS = ("self", "dtype", "kwargs")
# The sizes every token backbone takes (keras-hub names them alike), in the order their errors
# are reported.
SIZE_ARGUMENTS = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "intermediate_dim",
    "max_sequence_length",
)


def check_sizes(arguments, takes_head_dim=True):
    """Checks the shape arguments of a token backbone; raises a one-line `ValueError`.

    Args:
        arguments: dict. The constructor's `locals()`, read at `vocabulary_size`, `num_layers`,
            `num_heads`, `hidden_dim`, `intermediate_dim`, `max_sequence_length` (positive
            ints) and `head_dim` (a positive int or `None`; when `None`, `num_heads` must
            divide `hidden_dim`).
        takes_head_dim: bool. Whether the backbone has a `head_dim` argument to offer as a fix.
    """
    checks.check_positive_ints(**{name: arguments[name] for name in SIZE_ARGUMENTS})
    head_dim = arguments.get("head_dim")
    hidden_dim, num_heads = arguments["hidden_dim"], arguments["num_heads"]
    checks.check_positive_ints(allow_none=True, head_dim=head_dim)
    if head_dim is None and hidden_dim % num_heads:
        fix = ", or pass head_dim" if takes_head_dim else ""
        raise ValueError(
            f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Pick a "
            f"hidden_dim that is a multiple of num_heads, or a num_heads that divides it{fix}."
        )


# The block arguments most backbones pass on under the same names (see `pick`).
BLOCK_ARGUMENTS = (
    "num_heads intermediate_dim activation dropout attention_dropout layer_norm_epsilon"
)


def pick(arguments, names):
    """The entries of `arguments` (a constructor's `locals()`) named in the string `names`.

    For the arguments a backbone passes on to its blocks under the same names:
    `pick(locals(), BLOCK_ARGUMENTS + " head_dim")`.
    """
    return {name: arguments[name] for name in names.split()}


def stack_blocks(
    block, num_layers, dtype, layer_arguments=None, prefix="transformer_layer", **arguments
):
    """The `num_layers` Transformer blocks of a backbone, named `{prefix}_{i}`.

    Args:
        block: the block class (`tfzoo.layers.TransformerEncoder`, ...).
        num_layers: int. How many blocks.
        dtype: string or `keras.DTypePolicy`, given to every block.
        layer_arguments: callable or `None`. `layer_arguments(i)` returns a dict of arguments
            for block `i` only (alternating local and global attention), overriding
            `arguments`.
        prefix: string. The blocks' names before `_{i}`. Defaults to `"transformer_layer"`.
        **arguments: the arguments every block takes.
    """
    return [
        block(
            **{**arguments, **(layer_arguments(i) if layer_arguments else {})},
            dtype=dtype,
            name=f"{prefix}_{i}",
        )
        for i in range(num_layers)
    ]


class Backbone(ZooModel):
    """Base class of tfzoo backbones: functional models with flat keyword configs.

    Subclasses build a functional graph in `__init__` (sections `# === Layers ===`,
    `# === Functional Model ===`, `# === Config ===`) and list their arguments in `get_config`.
    `call` checks inputs before running the graph: missing or unknown input names, float token
    ids, masks whose shape differs from `token_ids`, empty batches or sequences, sequences
    longer than the position table. `fit`, `evaluate` and `predict` check their data too (see
    `tfzoo.models.zoo_model`).
    """

    #: Names of the model inputs, in signature order.
    input_names = ("token_ids", "padding_mask")

    def _keep_arguments(self, arguments):
        """Keeps the constructor's arguments as attributes and for `get_config`.

        Called at the end of `__init__` (its `# === Config ===` section) with `locals()`. Every
        parameter of `type(self).__init__` but `self`, `dtype` and `kwargs` is kept with its
        value at that point, so a default resolved in `__init__` (`attention_dropout=None` ->
        `dropout`) is the one saved. A parameter the class also defines as a property (such as
        `head_dim`, which fills in its default) is only kept for `get_config`.
        """
        # The parameters of the `__init__` that calls this (not of `type(self)`, whose
        # `__init__` may be a subclass's passing most arguments on through `**kwargs`).
        caller = sys._getframe(1).f_code
        names = caller.co_varnames[: caller.co_argcount + caller.co_kwonlyargcount]
        self._arguments = {name: arguments[name] for name in names if name not in _NOT_ARGUMENTS}
        for name, value in self._arguments.items():
            if not isinstance(getattr(type(self), name, None), property):
                setattr(self, name, value)

    def _token_inputs(self):
        """One int32 `keras.Input` of shape `(batch, seq)` per name in `input_names`."""
        return {
            name: keras.Input(shape=(None,), dtype="int32", name=name) for name in self.input_names
        }

    def _build_graph(self, inputs, outputs, dtype, kwargs):
        """Builds the functional model from `inputs` to `outputs` (ends `# === Functional Model ===`)."""
        ZooModel.__init__(self, inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

    @property
    def head_dim(self):
        """Width of each attention head: the `head_dim` argument, or `hidden_dim // num_heads`."""
        return self._arguments.get("head_dim") or self.hidden_dim // self.num_heads

    @property
    def token_embedding(self):
        """The `ReversibleEmbedding` holding the vocabulary table."""
        return self.embeddings.token_embedding

    def call(self, inputs, training=None, mask=None):
        inputs = self._check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _check_inputs(self, inputs):
        """Raises a `ValueError` on bad inputs; returns them (with in-graph checks if traced)."""
        self._check_input_names(inputs)
        token_ids = inputs["token_ids"]
        checks.check_integer_ids(token_ids)
        for name in self.input_names[1:]:
            checks.check_mask_shape(token_ids, inputs[name], name)
        max_len = getattr(self, "max_sequence_length", None)
        if not getattr(self, "_has_position_table", True):
            max_len = None
        return {**inputs, "token_ids": checks.check_sequence_shape(token_ids, max_len)}

    def _check_input_names(self, inputs):
        """Raises a `ValueError` unless `inputs` is a dict with exactly `input_names` as keys."""
        if not isinstance(inputs, dict):
            raise ValueError(
                f"{type(self).__name__} takes a dict of inputs with keys {list(self.input_names)}; "
                f"received a {type(inputs).__name__}."
            )
        missing = [name for name in self.input_names if name not in inputs]
        unknown = [name for name in inputs if name not in self.input_names]
        if missing or unknown:
            raise ValueError(
                f"{type(self).__name__} expects inputs {list(self.input_names)}; missing {missing}, "
                f"unknown {unknown}."
            )

    def get_config(self):
        # Functional models serialise their graph; tfzoo backbones serialise their arguments
        # instead and rebuild the graph in `__init__`. Keep name, trainable and dtype policy.
        config = {"name": self.name, "trainable": self.trainable}
        # A functional model reports float32 whatever its layers use; the layers hold the policy
        # the backbone was built with (e.g. mixed_bfloat16), so serialise theirs.
        policy = getattr(self, "embeddings", self).dtype_policy
        config["dtype"] = keras.dtype_policies.serialize(policy)
        config.update(getattr(self, "_arguments", {}))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
