"""Encoder-decoder presets (Vaswani et al., 2017, Table 3).

The paper's "65M" (base) and "213M" (big) are rounded and depend on its 37,000-token shared
byte-pair vocabulary (English-German); `seq2seq_parameter_count` gives this implementation's
exact count (63,082,496 and 214,245,376, tied embeddings, sinusoidal positions, no output bias).
`t5-small` has T5-small's shape and the same parameter count (60,506,624: equal to that of
`transformers.T5ForConditionalGeneration` built from a T5-small `T5Config`, checked once by hand),
but tfzoo scales attention logits by `1/sqrt(head_dim)` and does not rescale the tied output by
`d_model**-0.5`, so it is T5-style, not checkpoint-compatible with T5.
"""

from tfzoo.models.family import presets, sizes


def _transformer(size, heads, hidden, intermediate, dropout):
    description = (
        f"Transformer {size} (Vaswani et al. 2017): d{hidden}, 6+6 layers, {heads} heads, ff "
        f"{intermediate}, shared 37k vocabulary, post-LN"
    )
    return description, None, sizes(6, hidden, heads, intermediate, dropout=dropout)


# T5's choices: relative position bias, pre-norm RMSNorm, no biases.
_RELATIVE = dict(position="relative", num_buckets=32, max_distance=128)
_T5 = dict(_RELATIVE, normalize_first=True, norm="rms_norm", use_bias=False)

SEQ2SEQ_PRESETS = presets(
    dict(vocabulary_size=37000, max_sequence_length=512, share_embeddings=True),
    {
        "transformer-base": _transformer("base", 8, 512, 2048, 0.1),
        "transformer-big": _transformer("big", 16, 1024, 4096, 0.3),
        # The base shape with T5's choices and vocabulary.
        "t5-small": (
            "T5-small-style (Raffel et al. 2020): d512, 6+6 layers, 8 heads, ff 2048, "
            "relative position bias, RMSNorm, no biases, tied 32128 vocabulary",
            60_506_624,
            sizes(6, 512, 8, 2048, dropout=0.1, vocabulary_size=32128, **_T5),
        ),
    },
)
