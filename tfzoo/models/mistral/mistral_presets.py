"""Mistral presets: Mistral-7B-v0.1 (Jiang et al., 2023). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets

MISTRAL_PRESETS = presets(
    {},
    {
        "mistral-7b": (
            "Mistral-7B-v0.1 shape: L32/H4096, GQA 32:8, sliding window 4096",
            7_241_732_096,
            decoder_sizes((32, 4096, 32, 8, 14336, 32000, 32768), sliding_window=4096),
        ),
    },
)
