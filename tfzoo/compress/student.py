"""The distillation student that works on small data: a teacher's first layers, mean-pooled.

Measured in benchmarks/distill_movie_reviews.py (benchmarks/results/distill.json): a randomly
initialised bert-tiny distilled from the fine-tuned MiniLM on 1,000 sentences stayed at chance;
MiniLM's embedding and first 2 layers, mean-pooled into a new head and distilled on labeled plus
unlabeled transfer sentences, reached 0.761 (0.751 without the teacher). After 2 of MiniLM's 6
layers the [CLS] state is nearly the same for every sentence, so the student pools the mean of
the real tokens instead (MiniLM was trained as a mean-pooled sentence encoder).
"""

import keras

from tfzoo.compress.layer_drop import drop_layers
from tfzoo.models.pooling import pool
from tfzoo.models.task import Task, check_num_classes


@keras.saving.register_keras_serializable(package="tfzoo")
class MeanPooledClassifier(Task):
    """Sequence classification on the mean of the real tokens' hidden states.

    Args:
        backbone: an encoder backbone whose outputs hold `sequence_output` and whose inputs
            hold `padding_mask`.
        num_classes: int.
        dropout: float. Dropout before the classifier. Defaults to `0.1`.

    Outputs float32 logits `(batch, num_classes)`.
    """

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        check_num_classes(num_classes)
        self.backbone = backbone
        self._add_classifier(num_classes, dropout)
        hidden = backbone(backbone.input)["sequence_output"]
        features = pool(hidden, backbone.input["padding_mask"], "mean")
        super().__init__(inputs=backbone.input, outputs=self._classify(features), **kwargs)
        self.num_classes, self.dropout = num_classes, dropout

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout": self.dropout}


def first_layers_student(model, num_layers, num_classes=None, dropout=0.1, seed=1):
    """MiniLM-style student: `model`'s embeddings and first `num_layers` blocks, mean-pooled.

    Args:
        model: a tfzoo encoder classifier (the fine-tuned teacher) or its backbone.
        num_layers: int, `1 <= num_layers < teacher layers`.
        num_classes: int or `None` (the teacher's `num_classes`).
        dropout: float. Defaults to `0.1`.
        seed: int. Seed of the new head. Defaults to `1`.

    Returns:
        A `MeanPooledClassifier` whose backbone is a copy of the teacher's first layers (the
        embedding table frozen: with a few thousand sentences it is not worth updating).
    """
    num_classes = num_classes or getattr(model, "num_classes", None)
    if num_classes is None:
        raise ValueError("first_layers_student: pass num_classes (the teacher has none).")
    backbone = getattr(model, "backbone", model)
    small, _ = drop_layers(backbone, num_layers, layers=list(range(num_layers)))
    small.get_layer("embeddings").trainable = False
    keras.utils.set_random_seed(seed)
    return MeanPooledClassifier(small, num_classes, dropout=dropout, name="mean_pooled_student")
