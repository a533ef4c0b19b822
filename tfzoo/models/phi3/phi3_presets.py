"""Phi-3 presets (Abdin et al., 2024). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets

PHI3_PRESETS = presets(
    {},
    {
        "phi-3-mini-4k": (
            "Phi-3-mini-4k-instruct shape: L32/H3072, 32 heads, sliding window 2047",
            3_821_079_552,
            decoder_sizes((32, 3072, 32, 32, 8192, 32064, 4096), sliding_window=2047),
        ),
    },
)
