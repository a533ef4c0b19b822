"""ModernBERT: `ModernBertBackbone` (rotary, GeGLU, local/global layers), tasks, presets, converter."""

from tfzoo.models.bert.bert_tasks import BertSentenceEmbedding
from tfzoo.models.family import Family
from tfzoo.models.modernbert import modernbert_hf
from tfzoo.models.modernbert.modernbert_backbone import ModernBertBackbone
from tfzoo.models.modernbert.modernbert_presets import MODERNBERT_PRESETS
from tfzoo.models.modernbert.modernbert_tasks import (
    ModernBertClassifier,
    ModernBertMaskedLM,
    ModernBertQuestionAnswering,
    ModernBertTokenClassifier,
)

FAMILY = Family(
    name="modernbert",
    backbone=ModernBertBackbone,
    tasks={
        "classification": ModernBertClassifier,
        "token_classification": ModernBertTokenClassifier,
        "masked_lm": ModernBertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": ModernBertQuestionAnswering,
    },
    presets=MODERNBERT_PRESETS,
    converters={"hugging_face": modernbert_hf},
)

__all__ = [
    "FAMILY",
    "MODERNBERT_PRESETS",
    "ModernBertBackbone",
    "ModernBertClassifier",
    "ModernBertMaskedLM",
    "ModernBertQuestionAnswering",
    "ModernBertTokenClassifier",
]
