"""ALBERT: `AlbertBackbone` (factorized embeddings, one shared block), tasks, presets, converter."""

from tfzoo.models.albert import albert_hf
from tfzoo.models.albert.albert_backbone import AlbertBackbone
from tfzoo.models.albert.albert_presets import ALBERT_PRESETS
from tfzoo.models.family import encoder_family

FAMILY = encoder_family("albert", AlbertBackbone, ALBERT_PRESETS, albert_hf)

__all__ = ["ALBERT_PRESETS", "FAMILY", "AlbertBackbone"]
