"""Vision Transformer: `ViTBackbone`, `ViTClassifier` and the `vit-*` presets."""

from tfzoo.models.family import Family
from tfzoo.models.vit.vit_backbone import ViTBackbone
from tfzoo.models.vit.vit_classifier import ViTClassifier
from tfzoo.models.vit.vit_presets import VIT_PRESETS, vit_parameter_count

FAMILY = Family("vit", ViTBackbone, {"classification": ViTClassifier}, VIT_PRESETS)

__all__ = ["FAMILY", "VIT_PRESETS", "ViTBackbone", "ViTClassifier", "vit_parameter_count"]
