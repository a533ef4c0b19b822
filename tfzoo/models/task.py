import keras
from keras import ops

from tfzoo.models.zoo_model import ZooModel


def check_num_classes(num_classes):
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2. Received: num_classes={num_classes}. For "
            f"regression use the backbone's pooled output with your own head."
        )


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

    def _add_classifier(self, num_classes, dropout):
        """Creates the classifier head: `output_dropout`, then the dense `output_dense`."""
        policy = self.backbone.dtype_policy
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy, name="output_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=policy,
            name="logits",
        )

    def _classify(self, features):
        # Logits in float32 so losses stay accurate under mixed precision.
        return ops.cast(self.output_dense(self.output_dropout(features)), "float32")

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


class ClassifierHead(Task):
    """Base of the classification heads: features of the backbone's outputs, dropout, then a
    dense layer to `num_classes` logits (float32).

    Subclasses define `_features(outputs)` and may add layers for it in `_add_feature_layers`.
    """

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        check_num_classes(num_classes)
        # === Layers ===
        self.backbone = backbone
        self._add_feature_layers(dropout)
        self._add_classifier(num_classes, dropout)
        # === Functional Model ===
        inputs = backbone.input
        logits = self._classify(self._features(backbone(inputs)))
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout

    def _add_feature_layers(self, dropout):
        pass

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "dropout": self.dropout})
        return config
