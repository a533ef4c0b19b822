"""ModernBERT presets (Warner et al. 2024). Parameter counts: Hugging Face `ModernBertModel`
built from the published configs (the model cards say 149M and 395M)."""

_MODERNBERT = dict(vocabulary_size=50368, max_sequence_length=8192, local_window=64, global_every=3)

MODERNBERT_PRESETS = {
    "modernbert-base": dict(
        config=dict(
            _MODERNBERT, num_layers=22, num_heads=12, hidden_dim=768, intermediate_dim=1152
        ),
        description="ModernBERT-base, 8,192 tokens (Warner et al. 2024)",
        published_parameters=149_014_272,
    ),
    "modernbert-large": dict(
        config=dict(
            _MODERNBERT, num_layers=28, num_heads=16, hidden_dim=1024, intermediate_dim=2624
        ),
        description="ModernBERT-large, 8,192 tokens (Warner et al. 2024)",
        published_parameters=394_781_696,
    ),
}
