"""Qwen3 (Qwen team, 2025): Llama with an RMSNorm on each query and key head."""

from tfzoo.models.family import decoder_family
from tfzoo.models.llama.llama_backbone import relative_backbone
from tfzoo.models.qwen3.qwen3_hf import CONVERTER
from tfzoo.models.qwen3.qwen3_presets import QWEN3_PRESETS

Qwen3Backbone = relative_backbone("Qwen3Backbone", __doc__, query_key_norm=True)
FAMILY = decoder_family("qwen3", Qwen3Backbone, QWEN3_PRESETS, CONVERTER)

__all__ = ["FAMILY", "QWEN3_PRESETS", "Qwen3Backbone"]
