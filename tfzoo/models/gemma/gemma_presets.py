"""Gemma presets (Gemma team, 2024). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets

#: What Gemma, Gemma 2 and Gemma 3 checkpoints share.
GEMMA = dict(head_dim=256, layer_norm_epsilon=1e-6, tie_word_embeddings=True)

GEMMA_PRESETS = presets(
    GEMMA,
    {
        "gemma-2b": (
            "Gemma-2B shape: L18/H2048, multi-query 8:1, head_dim 256, tied embeddings",
            2_506_172_416,
            decoder_sizes((18, 2048, 8, 1, 16384, 256000, 8192)),
        ),
    },
)
