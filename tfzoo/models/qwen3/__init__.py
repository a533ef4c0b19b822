"""Qwen3: `Qwen3Backbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.qwen3 import qwen3_hf
from tfzoo.models.qwen3.qwen3_backbone import Qwen3Backbone
from tfzoo.models.qwen3.qwen3_presets import QWEN3_PRESETS

FAMILY = decoder_family("qwen3", Qwen3Backbone, QWEN3_PRESETS, qwen3_hf)

__all__ = ["FAMILY", "QWEN3_PRESETS", "Qwen3Backbone"]
