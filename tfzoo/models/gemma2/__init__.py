"""Gemma 2: `Gemma2Backbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma2 import gemma2_hf
from tfzoo.models.gemma2.gemma2_backbone import Gemma2Backbone
from tfzoo.models.gemma2.gemma2_presets import GEMMA2_PRESETS

FAMILY = decoder_family("gemma2", Gemma2Backbone, GEMMA2_PRESETS, gemma2_hf)

__all__ = ["FAMILY", "GEMMA2_PRESETS", "Gemma2Backbone"]
