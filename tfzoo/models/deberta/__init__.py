"""DeBERTa-v2 / v3: `DebertaBackbone` (disentangled attention), tasks, presets, converter."""

from tfzoo.models.deberta import deberta_hf
from tfzoo.models.deberta.deberta_backbone import DebertaBackbone
from tfzoo.models.deberta.deberta_presets import DEBERTA_PRESETS
from tfzoo.models.encoder_classifier import first_token_classifier
from tfzoo.models.family import encoder_family

DebertaClassifier = first_token_classifier(
    "DebertaClassifier",
    "gelu",
    "DeBERTa's classification head: the context pooler (dense + GELU on the first token), then "
    "logits.",
    "DebertaBackbone",
)
FAMILY = encoder_family(
    "deberta", DebertaBackbone, DEBERTA_PRESETS, deberta_hf, classification=DebertaClassifier
)

__all__ = ["DEBERTA_PRESETS", "FAMILY", "DebertaBackbone", "DebertaClassifier"]
