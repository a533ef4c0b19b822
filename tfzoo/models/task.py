import keras

from tfzoo.models.zoo_model import ZooModel


class Task(ZooModel):
    """Base class of tfzoo task models: a functional model wrapping a backbone.

    `get_config` serialises the backbone (with its dtype policy) plus the head's flat arguments,
    so `.keras` files reload without `custom_objects`. `fit`, `evaluate` and `predict` reject
    empty data and, with a sparse cross-entropy loss, float labels and labels outside
    `[0, num_classes)`; see `tfzoo.models.zoo_model`.
    """

    @property
    def input_names(self):
        return self.backbone.input_names

    def call(self, inputs, training=None, mask=None):
        # Check here too: the functional graph casts inputs to its int32 specs, which would
        # silently truncate float token ids before the backbone sees them.
        inputs = self.backbone._check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
