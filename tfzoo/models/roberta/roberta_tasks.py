import keras

from tfzoo.models.encoder_classifier import FirstTokenClassifier


@keras.saving.register_keras_serializable(package="tfzoo")
class RobertaClassifier(FirstTokenClassifier):
    """RoBERTa's classification head: dense + tanh on the first token (`<s>`), then logits.

    Args:
        backbone: a `tfzoo.models.RobertaBackbone`.
        num_classes: int. Number of classes.
        dropout: float. Defaults to `0.1`.
    """

    _activation = "tanh"
