import keras

from tfzoo.models.encoder_classifier import FirstTokenClassifier


@keras.saving.register_keras_serializable(package="tfzoo")
class DebertaClassifier(FirstTokenClassifier):
    """DeBERTa's classification head: the context pooler (dense + GELU on the first token),
    then logits.

    Args:
        backbone: a `tfzoo.models.DebertaBackbone`.
        num_classes: int. Number of classes.
        dropout: float. Defaults to `0.1`.
    """

    _activation = "gelu"
