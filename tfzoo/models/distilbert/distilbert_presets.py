"""DistilBERT presets (Sanh et al. 2019). Parameter counts: Hugging Face `DistilBertModel`."""

DISTILBERT_PRESETS = {
    "distilbert-base": dict(
        config=dict(
            vocabulary_size=30522,
            num_layers=6,
            num_heads=12,
            hidden_dim=768,
            intermediate_dim=3072,
            max_sequence_length=512,
        ),
        description="DistilBERT base, uncased vocabulary (Sanh et al. 2019)",
        published_parameters=66_362_880,
    ),
}
