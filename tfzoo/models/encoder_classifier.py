"""`FirstTokenClassifier`: the two-layer classification head of RoBERTa, DistilBERT, ELECTRA
and DeBERTa, and `first_token_classifier`, which names one family's head."""

import keras

from tfzoo.layers import get_activation
from tfzoo.models.task import ClassifierHead


class FirstTokenClassifier(ClassifierHead):
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

    def _add_feature_layers(self, dropout):
        self.pre_dense = keras.layers.Dense(
            self.backbone.hidden_dim,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=self.backbone.dtype_policy,
            name="pre_dense",
        )
        self.pre_dropout = keras.layers.Dropout(dropout, dtype=self.backbone.dtype_policy)

    def _features(self, outputs):
        first = outputs["sequence_output"][:, 0, :]
        return _activation(self._activation)(self.pre_dense(self.pre_dropout(first)))


def first_token_classifier(name, activation, doc, backbone):
    """A registered `FirstTokenClassifier` subclass called `name` that uses `activation`.

    The families' heads differ only by that activation (RoBERTa tanh, DistilBERT ReLU, ELECTRA
    and DeBERTa GELU); each is its own class so that `.keras` files and `save_pretrained` know
    the family. `doc`: the class's first line; `backbone`: the backbone class's name.
    """
    args = (
        f"Args:\n        backbone: a `tfzoo.models.{backbone}`.\n"
        "        num_classes: int. Number of classes.\n"
        "        dropout: float. Defaults to `0.1`."
    )
    attributes = {
        "__doc__": f"{doc}\n\n    {args}\n    ",
        "__module__": f"tfzoo.models.{backbone.lower().removesuffix('backbone')}",
        "_activation": activation,
    }
    cls = type(name, (FirstTokenClassifier,), attributes)
    return keras.saving.register_keras_serializable(package="tfzoo")(cls)


def _activation(name):
    # tfzoo's GELU is written with `erf`, which ONNX and TFLite run as builtins.
    return keras.activations.tanh if name == "tanh" else get_activation(name)
