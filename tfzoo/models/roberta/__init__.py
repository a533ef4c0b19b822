"""RoBERTa and XLM-RoBERTa: `RobertaBackbone`, its tasks, presets and Hugging Face converter."""

from tfzoo.models.encoder_classifier import first_token_classifier
from tfzoo.models.family import encoder_family
from tfzoo.models.roberta import roberta_hf
from tfzoo.models.roberta.roberta_backbone import RobertaBackbone
from tfzoo.models.roberta.roberta_presets import ROBERTA_PRESETS

RobertaClassifier = first_token_classifier(
    "RobertaClassifier",
    "tanh",
    "RoBERTa's classification head: dense + tanh on the first token (`<s>`), then logits.",
    "RobertaBackbone",
)
FAMILY = encoder_family(
    "roberta", RobertaBackbone, ROBERTA_PRESETS, roberta_hf, classification=RobertaClassifier
)

__all__ = ["FAMILY", "ROBERTA_PRESETS", "RobertaBackbone", "RobertaClassifier"]
