"""GPT-2: `GPTBackbone` (with `tfzoo.models.CausalLM`), the `gpt2*` presets and the Hugging Face
converter."""

from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.family import Family
from tfzoo.models.gpt import gpt_hf
from tfzoo.models.gpt.gpt_backbone import GPTBackbone
from tfzoo.models.gpt.gpt_presets import GPT_PRESETS

FAMILY = Family(
    name="gpt",
    backbone=GPTBackbone,
    tasks={"causal_lm": CausalLM},
    presets=GPT_PRESETS,
    converters={"hugging_face": gpt_hf},
)

__all__ = ["FAMILY", "GPT_PRESETS", "GPTBackbone"]
