"""Phi-3 (Abdin et al., 2024): Llama's design; checkpoints fuse qkv and gate/up."""

from tfzoo.models.family import decoder_family
from tfzoo.models.llama.llama_backbone import relative_backbone
from tfzoo.models.phi3.phi3_hf import CONVERTER
from tfzoo.models.phi3.phi3_presets import PHI3_PRESETS

Phi3Backbone = relative_backbone("Phi3Backbone", __doc__)
FAMILY = decoder_family("phi3", Phi3Backbone, PHI3_PRESETS, CONVERTER)

__all__ = ["FAMILY", "PHI3_PRESETS", "Phi3Backbone"]
