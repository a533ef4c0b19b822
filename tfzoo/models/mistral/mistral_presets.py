"""Mistral presets: Mistral-7B-v0.1 (Jiang et al., 2023)."""

from tfzoo.models.family import preset

MISTRAL_PRESETS = {
    "mistral-7b": preset(
        "Mistral-7B-v0.1 shape: L32/H4096, GQA 32:8, sliding window 4096",
        7_241_732_096,
        vocabulary_size=32000,
        num_layers=32,
        hidden_dim=4096,
        num_heads=32,
        num_key_value_heads=8,
        intermediate_dim=14336,
        max_sequence_length=32768,
        sliding_window=4096,
    ),
}
