"""GPT-NeoX, Pythia (Black et al., 2022): LayerNorm, biases, parallel residual, partial RoPE."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gpt_neox.gpt_neox_hf import CONVERTER
from tfzoo.models.gpt_neox.gpt_neox_presets import GPT_NEOX_PRESETS
from tfzoo.models.llama.llama_backbone import relative_backbone

GPTNeoXBackbone = relative_backbone(
    "GPTNeoXBackbone",
    __doc__,
    norm="layer_norm",
    activation="gelu",
    gated_ffn=False,
    use_bias=True,
    parallel_residual=True,
    partial_rotary_factor=0.25,
)
FAMILY = decoder_family("gpt_neox", GPTNeoXBackbone, GPT_NEOX_PRESETS, CONVERTER)

__all__ = ["FAMILY", "GPT_NEOX_PRESETS", "GPTNeoXBackbone"]
