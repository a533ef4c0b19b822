"""Vision Transformer: `ViTBackbone`, `ViTClassifier` and the `vit-*` presets.

Importing this package registers the `vit` family and its presets with `tfzoo.zoo`.
"""

from tfzoo.models.vit.vit_backbone import ViTBackbone
from tfzoo.models.vit.vit_classifier import ViTClassifier
from tfzoo.models.vit.vit_presets import VIT_PRESETS, vit_parameter_count


def _register():
    from tfzoo import zoo

    zoo.register_family("vit", ViTBackbone, {"classification": ViTClassifier})
    for name, preset in VIT_PRESETS.items():
        zoo.register_preset(name, "vit", **preset)


_register()

__all__ = ["VIT_PRESETS", "ViTBackbone", "ViTClassifier", "vit_parameter_count"]
