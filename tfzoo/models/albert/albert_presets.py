"""ALBERT v2 presets (Lan et al. 2020). Parameter counts: Hugging Face `AlbertModel` built from
the published configs (ALBERT's sharing makes them small: base 11.7M for 12 layers)."""

from tfzoo.models.family import presets, sizes

ALBERT_PRESETS = presets(
    dict(vocabulary_size=30000, max_sequence_length=512, num_segments=2, embedding_dim=128),
    {
        "albert-base": ("ALBERT-base v2 (Lan et al. 2020)", 11_683_584, sizes(12, 768)),
        "albert-large": ("ALBERT-large v2 (Lan et al. 2020)", 17_683_968, sizes(24, 1024)),
        "albert-xlarge": ("ALBERT-xlarge v2 (Lan et al. 2020)", 58_724_864, sizes(24, 2048, 16)),
    },
)
