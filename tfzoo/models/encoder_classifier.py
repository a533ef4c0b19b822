"""`FirstTokenClassifier`: the two-layer classification head of RoBERTa and DistilBERT."""

import keras

from tfzoo.layers import get_activation
from tfzoo.models.task import Task, check_num_classes


class FirstTokenClassifier(Task):
    """Sequence classification from the first token: dense + activation, then the classifier.

    BERT classifies its tanh `pooled_output`; RoBERTa (tanh) and DistilBERT (ReLU) carry the
    same two layers in the task head instead of the backbone. Subclasses set `_activation`.

    Args:
        backbone: an encoder backbone whose outputs hold `sequence_output`.
        num_classes: int. Number of classes.
        dropout: float. Dropout before each dense layer. Defaults to `0.1`.

    Outputs float32 logits `(batch, num_classes)`.
    """

    _activation = "tanh"

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        check_num_classes(num_classes)
        # === Layers ===
        self.backbone = backbone
        self.pre_dense = keras.layers.Dense(
            backbone.hidden_dim,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=backbone.dtype_policy,
            name="pre_dense",
        )
        self.pre_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy)
        self._add_classifier(num_classes, dropout)
        # === Functional Model ===
        inputs = backbone.input
        first = backbone(inputs)["sequence_output"][:, 0, :]
        features = _activation(self._activation)(self.pre_dense(self.pre_dropout(first)))
        super().__init__(inputs=inputs, outputs=self._classify(features), **kwargs)
        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "dropout": self.dropout})
        return config


def _activation(name):
    # tfzoo's GELU is written with `erf`, which ONNX and TFLite run as builtins.
    return keras.activations.tanh if name == "tanh" else get_activation(name)
