"""Gemma 3 text (Gemma team, 2025): Gemma 2 with query/key norms, local RoPE base."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma2 import Gemma2Backbone
from tfzoo.models.gemma3.gemma3_hf import CONVERTER
from tfzoo.models.gemma3.gemma3_presets import GEMMA3_PRESETS
from tfzoo.models.llama.llama_backbone import relative_backbone

Gemma3Backbone = relative_backbone(
    "Gemma3Backbone", __doc__, base=Gemma2Backbone, query_key_norm=True
)
FAMILY = decoder_family("gemma3", Gemma3Backbone, GEMMA3_PRESETS, CONVERTER)

__all__ = ["FAMILY", "GEMMA3_PRESETS", "Gemma3Backbone"]
