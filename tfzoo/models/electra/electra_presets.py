"""ELECTRA discriminator presets (Clark et al. 2020). Parameter counts: Hugging Face
`ElectraModel` built from the published configs (the generator heads are not counted)."""

from tfzoo.models.family import presets, sizes

ELECTRA_PRESETS = presets(
    dict(vocabulary_size=30522, max_sequence_length=512, num_segments=2),
    {
        "electra-small": (
            "ELECTRA-Small discriminator",
            13_483_008,
            sizes(12, 256, embedding_dim=128),
        ),
        "electra-base": (
            "ELECTRA-Base discriminator",
            108_891_648,
            sizes(12, 768, embedding_dim=768),
        ),
        "electra-large": (
            "ELECTRA-Large discriminator",
            334_092_288,
            sizes(24, 1024, embedding_dim=1024),
        ),
    },
)
