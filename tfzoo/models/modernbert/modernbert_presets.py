"""ModernBERT presets (Warner et al. 2024). Parameter counts: Hugging Face `ModernBertModel`
built from the published configs (the model cards say 149M and 395M)."""

from tfzoo.models.family import presets, sizes

MODERNBERT_PRESETS = presets(
    dict(vocabulary_size=50368, max_sequence_length=8192, local_window=64, global_every=3),
    {
        "modernbert-base": (
            "ModernBERT-base, 8,192 tokens (Warner et al. 2024)",
            149_014_272,
            sizes(22, 768, 12, 1152),
        ),
        "modernbert-large": (
            "ModernBERT-large, 8,192 tokens (Warner et al. 2024)",
            394_781_696,
            sizes(28, 1024, 16, 2624),
        ),
    },
)
