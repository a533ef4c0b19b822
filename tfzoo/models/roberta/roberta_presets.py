"""RoBERTa and XLM-RoBERTa presets (Liu et al. 2019; Conneau et al. 2020).

Parameter counts are those of the Hugging Face `RobertaModel` / `XLMRobertaModel` (with the
pooler) built from the published configs; tfzoo's backbone holds the same tensors.
"""

_ROBERTA = dict(
    vocabulary_size=50265, max_sequence_length=512, num_segments=1, layer_norm_epsilon=1e-5
)
_XLMR = dict(_ROBERTA, vocabulary_size=250002)


def _preset(base, layers, hidden, description, params):
    config = dict(
        base,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=hidden // 64,
        intermediate_dim=4 * hidden,
    )
    return dict(config=config, description=description, published_parameters=params)


ROBERTA_PRESETS = {
    "roberta-base": _preset(_ROBERTA, 12, 768, "RoBERTa-base (Liu et al. 2019)", 124_645_632),
    "roberta-large": _preset(_ROBERTA, 24, 1024, "RoBERTa-large (Liu et al. 2019)", 355_359_744),
    "xlm-roberta-base": _preset(
        _XLMR, 12, 768, "XLM-RoBERTa base, 100 languages (Conneau et al. 2020)", 278_043_648
    ),
}
