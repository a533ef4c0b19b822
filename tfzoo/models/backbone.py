import keras

from tfzoo.layers import checks
from tfzoo.models.zoo_model import ZooModel


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

    @property
    def token_embedding(self):
        """The `ReversibleEmbedding` holding the vocabulary table."""
        return self.embeddings.token_embedding

    def call(self, inputs, training=None, mask=None):
        inputs = self._check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _check_inputs(self, inputs):
        """Raises a `ValueError` on bad inputs; returns them (with in-graph checks if traced)."""
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
        token_ids = inputs["token_ids"]
        checks.check_integer_ids(token_ids)
        for name in self.input_names[1:]:
            checks.check_mask_shape(token_ids, inputs[name], name)
        max_len = getattr(self, "max_sequence_length", None)
        if not getattr(self, "_has_position_table", True):
            max_len = None
        return {**inputs, "token_ids": checks.check_sequence_shape(token_ids, max_len)}

    def get_config(self):
        # Functional models serialise their graph; tfzoo backbones serialise their arguments
        # instead and rebuild the graph in `__init__`. Keep name, trainable and dtype policy.
        config = {"name": self.name, "trainable": self.trainable}
        # A functional model reports float32 whatever its layers use; the layers hold the policy
        # the backbone was built with (e.g. mixed_bfloat16), so serialise theirs.
        policy = getattr(self, "embeddings", self).dtype_policy
        config["dtype"] = keras.dtype_policies.serialize(policy)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
