"""DeBERTa-v3 presets (He et al. 2023). Parameter counts: Hugging Face `DebertaV2Model` built
from the published configs (vocabulary 128,100, 256 position buckets, shared projections)."""

_V3 = dict(vocabulary_size=128100, max_sequence_length=512, position_buckets=256)


def _preset(hidden, layers, description, params):
    config = dict(
        _V3,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=hidden // 64,
        intermediate_dim=4 * hidden,
    )
    return dict(config=config, description=description, published_parameters=params)


DEBERTA_PRESETS = {
    "deberta-v3-xsmall": _preset(384, 12, "DeBERTa-v3 xsmall", 70_682_112),
    "deberta-v3-small": _preset(768, 6, "DeBERTa-v3 small", 141_304_320),
    "deberta-v3-base": _preset(768, 12, "DeBERTa-v3 base", 183_831_552),
    "deberta-v3-large": _preset(1024, 24, "DeBERTa-v3 large", 434_012_160),
}
