"""DistilBERT: `DistilBertBackbone`, its tasks, presets and Hugging Face converter."""

from tfzoo.models.bert.bert_tasks import (
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.distilbert import distilbert_hf
from tfzoo.models.distilbert.distilbert_backbone import DistilBertBackbone
from tfzoo.models.distilbert.distilbert_presets import DISTILBERT_PRESETS
from tfzoo.models.distilbert.distilbert_tasks import DistilBertClassifier
from tfzoo.models.family import Family

FAMILY = Family(
    name="distilbert",
    backbone=DistilBertBackbone,
    tasks={
        "classification": DistilBertClassifier,
        "token_classification": BertTokenClassifier,
        "masked_lm": BertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": BertQuestionAnswering,
    },
    presets=DISTILBERT_PRESETS,
    converters={"hugging_face": distilbert_hf},
)

__all__ = ["DISTILBERT_PRESETS", "FAMILY", "DistilBertBackbone", "DistilBertClassifier"]
