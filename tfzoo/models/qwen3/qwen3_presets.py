"""Qwen3 presets (Qwen team, 2025)."""

from tfzoo.models.family import preset

QWEN3_PRESETS = {
    "qwen3-0.6b": preset(
        "Qwen3-0.6B shape: L28/H1024, GQA 16:8, head_dim 128, q/k norms, tied embeddings",
        596_049_920,
        vocabulary_size=151936,
        num_layers=28,
        hidden_dim=1024,
        num_heads=16,
        num_key_value_heads=8,
        head_dim=128,
        intermediate_dim=3072,
        max_sequence_length=40960,
        rope_max_wavelength=1000000.0,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
    ),
}
