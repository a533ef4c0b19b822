"""Phi-3 presets (Abdin et al., 2024)."""

from tfzoo.models.family import preset

PHI3_PRESETS = {
    "phi-3-mini-4k": preset(
        "Phi-3-mini-4k-instruct shape: L32/H3072, 32 heads, sliding window 2047",
        3_821_079_552,
        vocabulary_size=32064,
        num_layers=32,
        hidden_dim=3072,
        num_heads=32,
        num_key_value_heads=32,
        intermediate_dim=8192,
        max_sequence_length=4096,
        sliding_window=2047,
    ),
}
