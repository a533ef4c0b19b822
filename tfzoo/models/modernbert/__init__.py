"""ModernBERT: `ModernBertBackbone` (rotary, GeGLU, local/global layers), tasks, presets, converter."""

from tfzoo.models.family import encoder_family
from tfzoo.models.modernbert import modernbert_hf
from tfzoo.models.modernbert.modernbert_backbone import ModernBertBackbone
from tfzoo.models.modernbert.modernbert_presets import MODERNBERT_PRESETS
from tfzoo.models.modernbert.modernbert_tasks import (
    ModernBertClassifier,
    ModernBertMaskedLM,
    ModernBertQuestionAnswering,
    ModernBertTokenClassifier,
)

# Its own heads (the prediction head first), BERT's sentence embedding.
FAMILY = encoder_family(
    "modernbert",
    ModernBertBackbone,
    MODERNBERT_PRESETS,
    modernbert_hf,
    classification=ModernBertClassifier,
    token_classification=ModernBertTokenClassifier,
    masked_lm=ModernBertMaskedLM,
    question_answering=ModernBertQuestionAnswering,
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
