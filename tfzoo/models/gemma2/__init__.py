"""Gemma 2 (Gemma team, 2024): Gemma with post-norms, soft-capping, local/global layers."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma import GemmaBackbone
from tfzoo.models.gemma2.gemma2_hf import CONVERTER
from tfzoo.models.gemma2.gemma2_presets import GEMMA2_PRESETS
from tfzoo.models.llama.llama_backbone import relative_backbone

Gemma2Backbone = relative_backbone("Gemma2Backbone", __doc__, base=GemmaBackbone, post_norms=True)
FAMILY = decoder_family("gemma2", Gemma2Backbone, GEMMA2_PRESETS, CONVERTER)

__all__ = ["FAMILY", "GEMMA2_PRESETS", "Gemma2Backbone"]
