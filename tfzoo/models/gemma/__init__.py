"""Gemma: `GemmaBackbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma import gemma_hf
from tfzoo.models.gemma.gemma_backbone import GemmaBackbone
from tfzoo.models.gemma.gemma_presets import GEMMA_PRESETS

FAMILY = decoder_family("gemma", GemmaBackbone, GEMMA_PRESETS, gemma_hf)

__all__ = ["FAMILY", "GEMMA_PRESETS", "GemmaBackbone"]
