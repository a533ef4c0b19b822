"""Qwen3 presets (Qwen team, 2025). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets
from tfzoo.models.qwen2.qwen2_presets import QWEN

QWEN3_PRESETS = presets(
    QWEN,
    {
        "qwen3-0.6b": (
            "Qwen3-0.6B shape: L28/H1024, GQA 16:8, head_dim 128, q/k norms, tied embeddings",
            596_049_920,
            decoder_sizes((28, 1024, 16, 8, 3072, 151936, 40960), head_dim=128),
        ),
    },
)
