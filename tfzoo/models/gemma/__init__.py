"""Gemma (Gemma team, 2024): RMSNorm scale 1 + w, embeddings times sqrt(hidden), GeGLU."""

from tfzoo.models.family import decoder_family
from tfzoo.models.gemma.gemma_hf import CONVERTER
from tfzoo.models.gemma.gemma_presets import GEMMA_PRESETS
from tfzoo.models.llama.llama_backbone import relative_backbone

GemmaBackbone = relative_backbone(
    "GemmaBackbone",
    __doc__,
    norm="rms_norm_unit_offset",
    activation="gelu_tanh",
    scale_embeddings=True,
)
FAMILY = decoder_family("gemma", GemmaBackbone, GEMMA_PRESETS, CONVERTER)

__all__ = ["FAMILY", "GEMMA_PRESETS", "GemmaBackbone"]
