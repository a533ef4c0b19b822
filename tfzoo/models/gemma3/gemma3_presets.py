"""Gemma 3 text presets (Gemma team, 2025)."""

from tfzoo.models.family import preset

GEMMA3_PRESETS = {
    "gemma-3-270m": preset(
        "Gemma-3-270M shape: L18/H640, multi-query 4:1, head_dim 256, 5 local : 1 global layers",
        268_098_176,
        vocabulary_size=262144,
        num_layers=18,
        hidden_dim=640,
        num_heads=4,
        num_key_value_heads=1,
        head_dim=256,
        intermediate_dim=2048,
        max_sequence_length=32768,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
        rope_max_wavelength=1000000.0,
        local_rope_max_wavelength=10000.0,
        sliding_window=512,
        layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 3,
        query_scale_dim=256,
    ),
}
