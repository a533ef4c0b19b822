import keras
from keras import ops

from tfzoo.models.task import Task, check_num_classes
from tfzoo.models.vit.vit_backbone import _as_dict


@keras.saving.register_keras_serializable(package="tfzoo")
class ViTClassifier(Task):
    """Image classification: a dense layer on the ViT's class token (or mean of patch tokens).

    Args:
        backbone: a `tfzoo.models.vit.ViTBackbone`.
        num_classes: int. Number of classes (>= 2).
        pooling: string. `"token"` (the class token, as in ViT) or `"mean"` (mean of the patch
            tokens after the final norm). Defaults to `"token"`.
        dropout: float. Dropout before the classifier. Defaults to `0.0`.

    Outputs float32 logits `(batch, num_classes)`; train with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.

    Example:

    >>> model = tfzoo.build("vit-tiny", task="classification", num_classes=10,
    ...                     image_size=32, patch_size=8, num_layers=2)
    >>> model({"images": np.zeros((1, 32, 32, 3), "float32")}).shape
    TensorShape([1, 10])
    """

    def __init__(self, backbone, num_classes, pooling="token", dropout=0.0, **kwargs):
        check_num_classes(num_classes)
        if pooling not in ("token", "mean"):
            raise ValueError(f"`pooling` must be 'token' or 'mean'. Received: pooling={pooling!r}")
        # === Layers ===
        self.backbone = backbone
        self._add_classifier(num_classes, dropout)
        # === Functional Model ===
        inputs = backbone.input
        outputs = backbone(inputs)
        if pooling == "token":
            pooled = outputs["pooled_output"]  # (B, D)
        else:
            pooled = ops.mean(outputs["sequence_output"][:, 1:, :], axis=1)  # (B, D)
        logits = self._classify(pooled)  # (B, num_classes), float32
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        self.num_classes = num_classes
        self.pooling = pooling
        self.dropout = dropout

    def call(self, inputs, training=None, mask=None):
        return super().call(_as_dict(inputs), training=training, mask=mask)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_classes": self.num_classes, "pooling": self.pooling, "dropout": self.dropout}
        )
        return config
