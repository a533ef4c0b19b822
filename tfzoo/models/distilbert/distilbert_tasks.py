import keras

from tfzoo.models.encoder_classifier import FirstTokenClassifier


@keras.saving.register_keras_serializable(package="tfzoo")
class DistilBertClassifier(FirstTokenClassifier):
    """DistilBERT's classification head: `pre_classifier` + ReLU on the first token, then logits.

    Args:
        backbone: a `tfzoo.models.DistilBertBackbone`.
        num_classes: int. Number of classes.
        dropout: float. Defaults to `0.1`.
    """

    _activation = "relu"
