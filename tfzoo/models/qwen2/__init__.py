"""Qwen2 and Qwen2.5 (Qwen team, 2024): Llama with query/key/value biases."""

from tfzoo.models.family import decoder_family
from tfzoo.models.llama.llama_backbone import relative_backbone
from tfzoo.models.qwen2.qwen2_hf import CONVERTER
from tfzoo.models.qwen2.qwen2_presets import QWEN2_PRESETS

Qwen2Backbone = relative_backbone(
    "Qwen2Backbone", __doc__, attention_bias=True, attention_output_bias=False
)
FAMILY = decoder_family("qwen2", Qwen2Backbone, QWEN2_PRESETS, CONVERTER)

__all__ = ["FAMILY", "QWEN2_PRESETS", "Qwen2Backbone"]
