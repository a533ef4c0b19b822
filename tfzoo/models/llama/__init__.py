"""Llama-style decoders: `LlamaBackbone` (with `tfzoo.models.CausalLM`), the `llama-*`,
SmolLM2 and TinyLlama presets and the Hugging Face converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.llama.llama_backbone import LlamaBackbone
from tfzoo.models.llama.llama_hf import CONVERTER
from tfzoo.models.llama.llama_presets import LLAMA_PRESETS

FAMILY = decoder_family("llama", LlamaBackbone, LLAMA_PRESETS, CONVERTER)

__all__ = ["FAMILY", "LLAMA_PRESETS", "LlamaBackbone"]
