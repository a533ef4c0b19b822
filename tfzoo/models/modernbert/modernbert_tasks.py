"""ModernBERT's task heads: every head starts with the prediction head `dense -> act -> norm`
(no bias by default) on the first token, the mean, or every token."""

import keras
from keras import ops

from tfzoo.layers import LayerNorm, get_activation
from tfzoo.models.backbone import Backbone
from tfzoo.models.bert.bert_tasks import _Bias
from tfzoo.models.pooling import pool
from tfzoo.models.task import Task, check_num_classes


class _ModernBertHead(Task):
    """The prediction head, then an output layer. Subclasses set `_per_token`."""

    _per_token = True

    def _build_head(self, backbone, head_bias, head_activation, dropout):
        b = backbone
        self.head_dense = keras.layers.Dense(
            b.hidden_dim, use_bias=head_bias, dtype=b.dtype_policy, name="head_dense"
        )
        self.head_norm = LayerNorm(
            b.layer_norm_epsilon, center=b.norm_bias, dtype=b.dtype_policy, name="head_norm"
        )
        self.head_dropout = keras.layers.Dropout(dropout, dtype=b.dtype_policy)
        self._head_activation = get_activation(head_activation)

    def _head(self, x):
        return self.head_dropout(self.head_norm(self._head_activation(self.head_dense(x))))

    # Keeps the calling `__init__`'s arguments as attributes and for `get_config`, as backbones do.
    _keep_arguments = Backbone._keep_arguments

    def get_config(self):
        config = super().get_config()
        config.update({k: v for k, v in self._arguments.items() if k != "backbone"})
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertClassifier(_ModernBertHead):
    """Sequence classification: the first token (`pooling="cls"`) or the mean, the prediction
    head, then logits (`ModernBertForSequenceClassification`).

    Args:
        backbone: a `tfzoo.models.ModernBertBackbone`.
        num_classes: int.
        pooling: `"cls"` or `"mean"`. Defaults to `"cls"`.
        dropout: float. Defaults to `0.0`.
        head_bias: bool. Defaults to `False`.
        head_activation: string. Defaults to `"gelu"`.
    """

    def __init__(
        self,
        backbone,
        num_classes,
        pooling="cls",
        dropout=0.0,
        head_bias=False,
        head_activation="gelu",
        **kwargs,
    ):
        check_num_classes(num_classes)
        if pooling not in ("cls", "mean"):
            raise ValueError(f"`pooling` must be 'cls' or 'mean'. Received: pooling={pooling!r}")
        self.backbone = backbone
        self._build_head(backbone, head_bias, head_activation, dropout)
        self.output_dense = keras.layers.Dense(
            num_classes, dtype=backbone.dtype_policy, name="logits"
        )
        inputs = backbone.input
        x = pool(backbone(inputs)["sequence_output"], inputs["padding_mask"], pooling)
        logits = ops.cast(self.output_dense(self._head(x)), "float32")
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self._keep_arguments(locals())


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertTokenClassifier(_ModernBertHead):
    """Token classification: the prediction head on every token, then logits.

    Args:
        backbone: a `tfzoo.models.ModernBertBackbone`.
        num_classes: int. Use `2` for question answering's start / end (see
            `ModernBertQuestionAnswering`).
        dropout, head_bias, head_activation: as `ModernBertClassifier`.
    """

    def __init__(
        self, backbone, num_classes, dropout=0.0, head_bias=False, head_activation="gelu", **kwargs
    ):
        check_num_classes(num_classes)
        self.backbone = backbone
        self._build_head(backbone, head_bias, head_activation, dropout)
        self.output_dense = keras.layers.Dense(
            num_classes, dtype=backbone.dtype_policy, name="logits"
        )
        inputs = backbone.input
        logits = self.output_dense(self._head(backbone(inputs)["sequence_output"]))
        super().__init__(
            inputs=inputs, outputs=self._outputs(ops.cast(logits, "float32")), **kwargs
        )
        self._keep_arguments(locals())

    def _outputs(self, logits):
        return logits


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertQuestionAnswering(ModernBertTokenClassifier):
    """Question answering: the prediction head on every token, then start / end logits.

    Outputs a dict of `start_logits` and `end_logits`, each `(batch, seq)`.
    """

    def __init__(self, backbone, num_classes=2, **kwargs):
        super().__init__(backbone, 2, **kwargs)

    def _outputs(self, logits):
        return {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}

    def get_config(self):
        config = super().get_config()
        config.pop("num_classes", None)
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class ModernBertMaskedLM(_ModernBertHead):
    """Masked language modelling: the prediction head, then the tied embedding and a bias.

    Args:
        backbone: a `tfzoo.models.ModernBertBackbone`.
        head_bias, head_activation: as `ModernBertClassifier`.
    """

    def __init__(self, backbone, head_bias=False, head_activation="gelu", **kwargs):
        self.backbone = backbone
        self._build_head(backbone, head_bias, head_activation, 0.0)
        self.decoder_bias = _Bias(dtype=backbone.dtype_policy, name="decoder_bias")
        inputs = backbone.input
        x = self._head(backbone(inputs)["sequence_output"])
        logits = self.decoder_bias(backbone.token_embedding(x, reverse=True))
        super().__init__(inputs=inputs, outputs=ops.cast(logits, "float32"), **kwargs)
        self._keep_arguments(locals())
