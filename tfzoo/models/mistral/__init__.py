"""Mistral: `MistralBackbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.mistral import mistral_hf
from tfzoo.models.mistral.mistral_backbone import MistralBackbone
from tfzoo.models.mistral.mistral_presets import MISTRAL_PRESETS

FAMILY = decoder_family("mistral", MistralBackbone, MISTRAL_PRESETS, mistral_hf)

__all__ = ["FAMILY", "MISTRAL_PRESETS", "MistralBackbone"]
