"""Qwen2.5 presets (Qwen team, 2024)."""

from tfzoo.models.family import preset

QWEN2_PRESETS = {
    "qwen2.5-0.5b": preset(
        "Qwen2.5-0.5B shape: L24/H896, GQA 14:2, q/k/v biases, tied embeddings",
        494_032_768,
        vocabulary_size=151936,
        num_layers=24,
        hidden_dim=896,
        num_heads=14,
        num_key_value_heads=2,
        intermediate_dim=4864,
        max_sequence_length=32768,
        rope_max_wavelength=1000000.0,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
    ),
}
