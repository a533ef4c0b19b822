"""Vision Transformer: `ViTBackbone`, `ViTClassifier` and the `vit-*` presets.

`FAMILY` declares the `vit` family (task `"classification"`), which `tfzoo.zoo` reads.
"""

from tfzoo.models.family import Family
from tfzoo.models.vit.vit_backbone import ViTBackbone
from tfzoo.models.vit.vit_classifier import ViTClassifier
from tfzoo.models.vit.vit_presets import VIT_PRESETS, vit_parameter_count

FAMILY = Family(
    name="vit",
    backbone=ViTBackbone,
    tasks={"classification": ViTClassifier},
    presets=VIT_PRESETS,
)

__all__ = ["FAMILY", "VIT_PRESETS", "ViTBackbone", "ViTClassifier", "vit_parameter_count"]
