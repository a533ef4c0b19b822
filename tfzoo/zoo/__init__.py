"""The registry: zoo names -> configs, `build()`, `list_models()`, read from `tfzoo.models`."""

from tfzoo.zoo.families import FAMILIES, FAMILY_MODULES, PRESETS
from tfzoo.zoo.registry import build, get_config, list_models

__all__ = [
    "FAMILIES",
    "FAMILY_MODULES",
    "PRESETS",
    "build",
    "get_config",
    "list_models",
]
