from tfzoo.zoo.presets import PRESETS
from tfzoo.zoo.registry import (
    FAMILIES,
    build,
    get_config,
    list_models,
    register_family,
    register_preset,
)

__all__ = [
    "FAMILIES",
    "PRESETS",
    "build",
    "get_config",
    "list_models",
    "register_family",
    "register_preset",
]
