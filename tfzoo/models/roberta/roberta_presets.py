"""RoBERTa and XLM-RoBERTa presets (Liu et al. 2019; Conneau et al. 2020).

Parameter counts are those of the Hugging Face `RobertaModel` / `XLMRobertaModel` (with the
pooler) built from the published configs; tfzoo's backbone holds the same tensors.
"""

from tfzoo.models.family import presets, sizes

ROBERTA_PRESETS = presets(
    dict(vocabulary_size=50265, max_sequence_length=512, num_segments=1, layer_norm_epsilon=1e-5),
    {
        "roberta-base": ("RoBERTa-base (Liu et al. 2019)", 124_645_632, sizes(12, 768)),
        "roberta-large": ("RoBERTa-large (Liu et al. 2019)", 355_359_744, sizes(24, 1024)),
        "xlm-roberta-base": (
            "XLM-RoBERTa base, 100 languages (Conneau et al. 2020)",
            278_043_648,
            sizes(12, 768, vocabulary_size=250002),
        ),
    },
)
