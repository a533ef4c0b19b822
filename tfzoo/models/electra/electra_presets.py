"""ELECTRA discriminator presets (Clark et al. 2020). Parameter counts: Hugging Face
`ElectraModel` built from the published configs (the generator heads are not counted)."""

_ELECTRA = dict(vocabulary_size=30522, max_sequence_length=512, num_segments=2)


def _preset(layers, hidden, embedding, description, params):
    config = dict(
        _ELECTRA,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=hidden // 64,
        intermediate_dim=4 * hidden,
        embedding_dim=embedding,
    )
    return dict(config=config, description=description, published_parameters=params)


ELECTRA_PRESETS = {
    "electra-small": _preset(12, 256, 128, "ELECTRA-Small discriminator", 13_483_008),
    "electra-base": _preset(12, 768, 768, "ELECTRA-Base discriminator", 108_891_648),
    "electra-large": _preset(24, 1024, 1024, "ELECTRA-Large discriminator", 334_092_288),
}
