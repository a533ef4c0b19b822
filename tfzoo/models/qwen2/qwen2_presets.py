"""Qwen2.5 presets (Qwen team, 2024). Sizes in `family.DECODER_DIMS` order."""

from tfzoo.models.family import decoder_sizes, presets

#: What Qwen2 and Qwen3 checkpoints share.
QWEN = dict(rope_max_wavelength=1000000.0, layer_norm_epsilon=1e-6, tie_word_embeddings=True)

QWEN2_PRESETS = presets(
    QWEN,
    {
        "qwen2.5-0.5b": (
            "Qwen2.5-0.5B shape: L24/H896, GQA 14:2, q/k/v biases, tied embeddings",
            494_032_768,
            decoder_sizes((24, 896, 14, 2, 4864, 151936, 32768)),
        ),
    },
)
