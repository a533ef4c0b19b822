"""Llama-style decoders: `LlamaBackbone` (with `tfzoo.models.CausalLM`), the `llama-*` presets
and the Hugging Face converter."""

from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.family import Family
from tfzoo.models.llama import llama_hf
from tfzoo.models.llama.llama_backbone import LlamaBackbone
from tfzoo.models.llama.llama_presets import LLAMA_PRESETS

FAMILY = Family(
    name="llama",
    backbone=LlamaBackbone,
    tasks={"causal_lm": CausalLM},
    presets=LLAMA_PRESETS,
    converters={"hugging_face": llama_hf},
)

__all__ = ["FAMILY", "LLAMA_PRESETS", "LlamaBackbone"]
