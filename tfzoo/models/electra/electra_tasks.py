import keras
from keras import ops

from tfzoo.layers import get_activation
from tfzoo.models.encoder_classifier import first_token_classifier
from tfzoo.models.task import Task

ElectraClassifier = first_token_classifier(
    "ElectraClassifier",
    "gelu",
    "ELECTRA's classification head: dense + GELU on the first token, then logits.",
    "ElectraBackbone",
)


@keras.saving.register_keras_serializable(package="tfzoo")
class ElectraDiscriminator(Task):
    """Replaced-token detection (ELECTRA's pre-training discriminator): one logit per token,
    positive where the token was replaced by the generator.

    Args:
        backbone: a `tfzoo.models.ElectraBackbone`.

    Outputs float32 logits `(batch, seq)`; train with
    `keras.losses.BinaryCrossentropy(from_logits=True)` weighted by the padding mask.
    """

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        policy = backbone.dtype_policy
        self.transform_dense = keras.layers.Dense(
            backbone.hidden_dim,
            kernel_initializer=initializer,
            dtype=policy,
            name="transform_dense",
        )
        self.output_dense = keras.layers.Dense(
            1, kernel_initializer=initializer, dtype=policy, name="logits"
        )
        # === Functional Model ===
        inputs = backbone.input
        x = backbone(inputs)["sequence_output"]
        x = get_activation(backbone.activation)(self.transform_dense(x))
        logits = ops.cast(self.output_dense(x), "float32")[..., 0]
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
