"""Pythia presets (Biderman et al., 2023), GPT-NeoX architecture."""

from tfzoo.models.family import decoder_sizes, presets


def _pythia(layers, hidden, heads, params):
    description = f"Pythia shape: L{layers}/H{hidden}, {heads} heads, rotary on 25% of each head"
    return (
        description,
        params,
        decoder_sizes((layers, hidden, heads, heads, 4 * hidden, 50304, 2048)),
    )


GPT_NEOX_PRESETS = presets(
    dict(layer_norm_epsilon=1e-5),
    {
        "pythia-70m": _pythia(6, 512, 8, 70_426_624),
        "pythia-160m": _pythia(12, 768, 12, 162_322_944),
    },
)
