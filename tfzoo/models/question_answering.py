"""`QuestionAnswering`: extractive question answering (start / end logits) on any encoder."""

import keras
from keras import ops

from tfzoo.models.task import Task


class QuestionAnswering(Task):
    """Span prediction (SQuAD-style): one dense layer giving a start and an end logit per token.

    Feed the question and the context as a pair (`tokenizer(questions, pair=contexts)`); the
    answer is the span `start..end` with the highest `start_logits + end_logits`.

    Args:
        backbone: an encoder backbone whose outputs hold `sequence_output`.

    Outputs a dict of float32 `start_logits` and `end_logits`, each `(batch, seq)` (Hugging
    Face's `*ForQuestionAnswering`, layer `qa_outputs`). Train with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` on each, the labels being
    the start and end token positions.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="question_answering")
    """

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.qa_outputs = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            dtype=backbone.dtype_policy,
            name="qa_outputs",
        )
        # === Functional Model ===
        inputs = backbone.input
        logits = ops.cast(self.qa_outputs(backbone(inputs)["sequence_output"]), "float32")
        outputs = {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
