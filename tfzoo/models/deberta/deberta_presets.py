"""DeBERTa-v3 presets (He et al. 2023). Parameter counts: Hugging Face `DebertaV2Model` built
from the published configs (vocabulary 128,100, 256 position buckets, shared projections)."""

from tfzoo.models.family import presets, sizes

DEBERTA_PRESETS = presets(
    dict(vocabulary_size=128100, max_sequence_length=512, position_buckets=256),
    {
        "deberta-v3-xsmall": ("DeBERTa-v3 xsmall", 70_682_112, sizes(12, 384)),
        "deberta-v3-small": ("DeBERTa-v3 small", 141_304_320, sizes(6, 768)),
        "deberta-v3-base": ("DeBERTa-v3 base", 183_831_552, sizes(12, 768)),
        "deberta-v3-large": ("DeBERTa-v3 large", 434_012_160, sizes(24, 1024)),
    },
)
