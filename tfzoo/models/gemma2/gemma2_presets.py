"""Gemma 2 presets (Gemma team, 2024). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets
from tfzoo.models.gemma.gemma_presets import GEMMA

#: What Gemma 2 checkpoints share (Gemma 3 builds on it).
GEMMA2 = dict(GEMMA, sliding_window=4096, query_scale_dim=256)

GEMMA2_PRESETS = presets(
    GEMMA2,
    {
        "gemma-2-2b": (
            "Gemma-2-2B shape: L26/H2304, GQA 8:4, head_dim 256, local/global layers, soft-capping",
            2_614_341_888,
            decoder_sizes(
                (26, 2304, 8, 4, 9216, 256000, 8192),
                layer_types=["sliding_attention", "full_attention"] * 13,
                attention_logit_soft_cap=50.0,
                final_logit_soft_cap=30.0,
            ),
        ),
    },
)
