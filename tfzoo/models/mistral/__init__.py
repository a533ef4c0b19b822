"""Mistral (Jiang et al., 2023): Llama with sliding-window attention in every layer."""

from tfzoo.models.family import decoder_family
from tfzoo.models.llama.llama_backbone import relative_backbone
from tfzoo.models.mistral.mistral_hf import CONVERTER
from tfzoo.models.mistral.mistral_presets import MISTRAL_PRESETS

MistralBackbone = relative_backbone("MistralBackbone", __doc__)
FAMILY = decoder_family("mistral", MistralBackbone, MISTRAL_PRESETS, CONVERTER)

__all__ = ["FAMILY", "MISTRAL_PRESETS", "MistralBackbone"]
