import keras
from keras import ops

from tfzoo.layers import LayerNorm, get_activation
from tfzoo.models.question_answering import QuestionAnswering
from tfzoo.models.sentence_embedding import SentenceEmbedding
from tfzoo.models.task import ClassifierHead, Task


class _BertDenseHead(ClassifierHead):
    """Dropout and a dense layer on one output of a BERT backbone, named by `_features_key`."""

    _features_key = "pooled_output"

    def _features(self, outputs):
        return outputs[self._features_key]


@keras.saving.register_keras_serializable(package="tfzoo")
class BertClassifier(_BertDenseHead):
    """Sequence classification: dropout and a dense layer on BERT's pooled output.

    Args:
        backbone: a `tfzoo.models.BertBackbone`.
        num_classes: int. Number of classes.
        dropout: float. Dropout before the classifier. Defaults to `0.1`.

    Outputs logits `(batch, num_classes)`; train with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    """

    _features_key = "pooled_output"  # (batch, hidden)


@keras.saving.register_keras_serializable(package="tfzoo")
class BertTokenClassifier(_BertDenseHead):
    """Token classification (e.g. named entities): a dense layer on every hidden state.

    Args:
        backbone: a `tfzoo.models.BertBackbone`.
        num_classes: int. Number of tag classes.
        dropout: float. Defaults to `0.1`.

    Outputs logits `(batch, seq, num_classes)`.
    """

    _features_key = "sequence_output"  # (batch, seq, hidden)


@keras.saving.register_keras_serializable(package="tfzoo")
class BertMaskedLM(Task):
    """Masked language modelling head, tied to the token embedding (as in BERT).

    `logits = embedding^T · norm(act(dense(h))) + bias` at every position.

    Args:
        backbone: a `tfzoo.models.BertBackbone`.

    Outputs logits `(batch, seq, vocabulary_size)`; train with sparse cross-entropy weighted by
    the masked positions (see `tfzoo.data.masked_lm_dataset`).
    """

    def __init__(self, backbone, **kwargs):
        self.backbone = backbone
        self.transform_dense = keras.layers.Dense(
            getattr(backbone, "embedding_dim", backbone.hidden_dim),
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=backbone.dtype_policy,
            name="transform_dense",
        )
        self.transform_norm = LayerNorm(
            backbone.layer_norm_epsilon, dtype=backbone.dtype_policy, name="transform_norm"
        )
        self.output_bias = _Bias(dtype=backbone.dtype_policy, name="output_bias")
        activation = get_activation(backbone.activation)
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        x = self.transform_norm(activation(self.transform_dense(sequence)))
        logits = self.output_bias(backbone.token_embedding(x, reverse=True))
        super().__init__(inputs=inputs, outputs=ops.cast(logits, "float32"), **kwargs)


@keras.saving.register_keras_serializable(package="tfzoo")
class BertSentenceEmbedding(SentenceEmbedding):
    """Sentence embeddings of a BERT backbone: hidden states mean-pooled over real tokens.

    Args:
        backbone: a `tfzoo.models.BertBackbone`.
        normalize: bool. L2-normalise the embeddings (as all-MiniLM-L6-v2 does).
            Defaults to `False`.
        pooling: str or tuple. Pooling mode(s), see `tfzoo.models.SentenceEmbedding`.
            Defaults to `"mean"`.
        dense: list of dense layer specs after pooling. Defaults to none.

    Outputs `(batch, dimension)`; `encode(texts)` embeds a list of texts.
    """


@keras.saving.register_keras_serializable(package="tfzoo")
class BertQuestionAnswering(QuestionAnswering):
    """Extractive question answering on a BERT backbone: start and end logits per token.

    Args:
        backbone: a `tfzoo.models.BertBackbone`.

    Outputs a dict of `start_logits` and `end_logits`, each `(batch, seq)`.
    """


@keras.saving.register_keras_serializable(package="tfzoo")
class _Bias(keras.layers.Layer):
    """A learned bias added on the last axis."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return inputs + ops.cast(self.bias, inputs.dtype)
