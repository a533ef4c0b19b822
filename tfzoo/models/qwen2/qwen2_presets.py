"""Qwen2.5 presets (Qwen team, 2024). `dims`: `family.DECODER_DIMS`."""

from tfzoo.models.family import decoder_preset

QWEN2_PRESETS = {
    "qwen2.5-0.5b": decoder_preset(
        "Qwen2.5-0.5B shape: L24/H896, GQA 14:2, q/k/v biases, tied embeddings",
        494_032_768,
        (24, 896, 14, 2, 4864, 151936, 32768),
        rope_max_wavelength=1000000.0,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
    ),
}
