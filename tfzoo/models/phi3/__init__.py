"""Phi-3: `Phi3Backbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.phi3 import phi3_hf
from tfzoo.models.phi3.phi3_backbone import Phi3Backbone
from tfzoo.models.phi3.phi3_presets import PHI3_PRESETS

FAMILY = decoder_family("phi3", Phi3Backbone, PHI3_PRESETS, phi3_hf)

__all__ = ["FAMILY", "PHI3_PRESETS", "Phi3Backbone"]
