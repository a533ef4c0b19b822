"""Gemma presets (Gemma team, 2024)."""

from tfzoo.models.family import preset

GEMMA_PRESETS = {
    "gemma-2b": preset(
        "Gemma-2B shape: L18/H2048, multi-query 8:1, head_dim 256, tied embeddings",
        2_506_172_416,
        vocabulary_size=256000,
        num_layers=18,
        hidden_dim=2048,
        num_heads=8,
        num_key_value_heads=1,
        head_dim=256,
        intermediate_dim=16384,
        max_sequence_length=8192,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
    ),
}
