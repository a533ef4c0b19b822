"""DistilBERT presets (Sanh et al. 2019). Parameter counts: Hugging Face `DistilBertModel`."""

from tfzoo.models.family import presets, sizes

DISTILBERT_PRESETS = presets(
    dict(vocabulary_size=30522, max_sequence_length=512),
    {
        "distilbert-base": (
            "DistilBERT base, uncased vocabulary (Sanh et al. 2019)",
            66_362_880,
            sizes(6, 768),
        )
    },
)
