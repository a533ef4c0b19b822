"""Qwen3 presets (Qwen team, 2025). `dims`: `family.DECODER_DIMS`."""

from tfzoo.models.family import decoder_preset

QWEN3_PRESETS = {
    "qwen3-0.6b": decoder_preset(
        "Qwen3-0.6B shape: L28/H1024, GQA 16:8, head_dim 128, q/k norms, tied embeddings",
        596_049_920,
        (28, 1024, 16, 8, 3072, 151936, 40960),
        head_dim=128,
        rope_max_wavelength=1000000.0,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
    ),
}
