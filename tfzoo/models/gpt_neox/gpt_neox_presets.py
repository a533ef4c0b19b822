"""Pythia presets (Biderman et al., 2023), GPT-NeoX architecture."""

from tfzoo.models.family import preset


def _pythia(layers, hidden, heads, params):
    return preset(
        f"Pythia shape: L{layers}/H{hidden}, {heads} heads, rotary on 25% of each head",
        params,
        vocabulary_size=50304,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        num_key_value_heads=heads,
        intermediate_dim=4 * hidden,
        layer_norm_epsilon=1e-5,
    )


GPT_NEOX_PRESETS = {
    "pythia-70m": _pythia(6, 512, 8, 70_426_624),
    "pythia-160m": _pythia(12, 768, 12, 162_322_944),
}
