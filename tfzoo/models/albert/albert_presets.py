"""ALBERT v2 presets (Lan et al. 2020). Parameter counts: Hugging Face `AlbertModel` built from
the published configs (ALBERT's sharing makes them small: base 11.7M for 12 layers)."""

_ALBERT = dict(vocabulary_size=30000, max_sequence_length=512, num_segments=2, embedding_dim=128)


def _preset(hidden, layers, heads, description, params):
    config = dict(
        _ALBERT,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        intermediate_dim=4 * hidden,
    )
    return dict(config=config, description=description, published_parameters=params)


ALBERT_PRESETS = {
    "albert-base": _preset(768, 12, 12, "ALBERT-base v2 (Lan et al. 2020)", 11_683_584),
    "albert-large": _preset(1024, 24, 16, "ALBERT-large v2 (Lan et al. 2020)", 17_683_968),
    "albert-xlarge": _preset(2048, 24, 16, "ALBERT-xlarge v2 (Lan et al. 2020)", 58_724_864),
}
