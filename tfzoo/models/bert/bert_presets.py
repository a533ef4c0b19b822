"""BERT presets: sizes of Turc et al. (2019, "Well-Read Students Learn Better") and Devlin et al.

The compact models use `intermediate_dim = 4 * hidden_dim` and `num_heads = hidden_dim / 64`;
bert-base and bert-large are Devlin et al. (2019). `bert-mini-long` is bert-mini with 4,096
learned positions and sliding-window local attention computed in chunks
(`attention_implementation="local"`, memory linear in the sequence, Beltagy et al., 2020,
"Longformer"): window 256, the `[CLS]` position global (it attends to, and is attended by,
every token). Its parameter count is not published; it equals that of the same shape with full
attention (local attention adds no weights).
"""

from tfzoo.models.family import presets, sizes

_LONG = dict(max_sequence_length=4096, sliding_window=256, attention_implementation="local")


def _bert(layers, hidden, params, name="", paper="Turc et al. 2019"):
    return f"BERT{name} L{layers}/H{hidden} ({paper})", params, sizes(layers, hidden)


BERT_PRESETS = presets(
    dict(vocabulary_size=30522, max_sequence_length=512, num_segments=2),
    {
        "bert-tiny": _bert(2, 128, 4_385_920),
        "bert-mini": _bert(4, 256, 11_170_560),
        "bert-small": _bert(4, 512, 28_763_648),
        "bert-medium": _bert(8, 512, 41_373_184),
        "bert-base": _bert(12, 768, 109_482_240, "-Base", "Devlin et al. 2019"),
        "bert-large": _bert(24, 1024, 335_141_888, "-Large", "Devlin et al. 2019"),
        "bert-mini-long": (
            "BERT L4/H256 for 4,096 tokens: local attention, window 256, [CLS] global",
            None,
            sizes(4, 256, **_LONG, global_tokens=1),
        ),
    },
)
