"""Qwen2 / Qwen2.5: `Qwen2Backbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.qwen2 import qwen2_hf
from tfzoo.models.qwen2.qwen2_backbone import Qwen2Backbone
from tfzoo.models.qwen2.qwen2_presets import QWEN2_PRESETS

FAMILY = decoder_family("qwen2", Qwen2Backbone, QWEN2_PRESETS, qwen2_hf)

__all__ = ["FAMILY", "QWEN2_PRESETS", "Qwen2Backbone"]
