"""Gemma 3 text presets (Gemma team, 2025). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets
from tfzoo.models.gemma2.gemma2_presets import GEMMA2

GEMMA3_PRESETS = presets(
    dict(GEMMA2, rope_max_wavelength=1000000.0, local_rope_max_wavelength=10000.0),
    {
        "gemma-3-270m": (
            "Gemma-3-270M shape: L18/H640, multi-query 4:1, head_dim 256, 5 local : 1 global layers",
            268_098_176,
            decoder_sizes(
                (18, 640, 4, 1, 2048, 262144, 32768),
                layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 3,
                sliding_window=512,
            ),
        ),
    },
)
