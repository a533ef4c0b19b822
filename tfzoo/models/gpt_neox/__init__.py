"""GPT-NeoX / Pythia: `GPTNeoXBackbone` (with `tfzoo.models.CausalLM`), presets and the Hugging Face
converter."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gpt_neox import gpt_neox_hf
from tfzoo.models.gpt_neox.gpt_neox_backbone import GPTNeoXBackbone
from tfzoo.models.gpt_neox.gpt_neox_presets import GPT_NEOX_PRESETS

FAMILY = decoder_family("gpt_neox", GPTNeoXBackbone, GPT_NEOX_PRESETS, gpt_neox_hf)

__all__ = ["FAMILY", "GPT_NEOX_PRESETS", "GPTNeoXBackbone"]
