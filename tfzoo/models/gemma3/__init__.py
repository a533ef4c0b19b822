"""Gemma 3 (text): `Gemma3Backbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma3 import gemma3_hf
from tfzoo.models.gemma3.gemma3_backbone import Gemma3Backbone
from tfzoo.models.gemma3.gemma3_presets import GEMMA3_PRESETS

FAMILY = decoder_family("gemma3", Gemma3Backbone, GEMMA3_PRESETS, gemma3_hf)

__all__ = ["FAMILY", "GEMMA3_PRESETS", "Gemma3Backbone"]
