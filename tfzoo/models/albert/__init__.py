"""ALBERT: `AlbertBackbone` (factorized embeddings, one shared block), tasks, presets, converter."""

from tfzoo.models.albert import albert_hf
from tfzoo.models.albert.albert_backbone import AlbertBackbone
from tfzoo.models.albert.albert_presets import ALBERT_PRESETS
from tfzoo.models.bert.bert_tasks import (
    BertClassifier,
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.family import Family

FAMILY = Family(
    name="albert",
    backbone=AlbertBackbone,
    tasks={
        "classification": BertClassifier,
        "token_classification": BertTokenClassifier,
        "masked_lm": BertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": BertQuestionAnswering,
    },
    presets=ALBERT_PRESETS,
    converters={"hugging_face": albert_hf},
)

__all__ = ["ALBERT_PRESETS", "FAMILY", "AlbertBackbone"]
