"""DistilBERT: `DistilBertBackbone`, its tasks, presets and Hugging Face converter."""

from tfzoo.models.distilbert import distilbert_hf
from tfzoo.models.distilbert.distilbert_backbone import DistilBertBackbone
from tfzoo.models.distilbert.distilbert_presets import DISTILBERT_PRESETS
from tfzoo.models.encoder_classifier import first_token_classifier
from tfzoo.models.family import encoder_family

DistilBertClassifier = first_token_classifier(
    "DistilBertClassifier",
    "relu",
    "DistilBERT's classification head: `pre_classifier` + ReLU on the first token, then logits.",
    "DistilBertBackbone",
)
FAMILY = encoder_family(
    "distilbert",
    DistilBertBackbone,
    DISTILBERT_PRESETS,
    distilbert_hf,
    classification=DistilBertClassifier,
)

__all__ = ["DISTILBERT_PRESETS", "FAMILY", "DistilBertBackbone", "DistilBertClassifier"]
