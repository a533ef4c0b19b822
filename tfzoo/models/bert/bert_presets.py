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

BERT_PRESETS = presets(
    dict(vocabulary_size=30522, max_sequence_length=512, num_segments=2),
    {
        "bert-tiny": ("BERT L2/H128 (Turc et al. 2019)", 4_385_920, sizes(2, 128)),
        "bert-mini": ("BERT L4/H256 (Turc et al. 2019)", 11_170_560, sizes(4, 256)),
        "bert-small": ("BERT L4/H512 (Turc et al. 2019)", 28_763_648, sizes(4, 512)),
        "bert-medium": ("BERT L8/H512 (Turc et al. 2019)", 41_373_184, sizes(8, 512)),
        "bert-base": ("BERT-Base L12/H768 (Devlin et al. 2019)", 109_482_240, sizes(12, 768)),
        "bert-large": ("BERT-Large L24/H1024 (Devlin et al. 2019)", 335_141_888, sizes(24, 1024)),
        "bert-mini-long": (
            "BERT L4/H256 for 4,096 tokens: local attention, window 256, [CLS] global",
            None,
            sizes(4, 256, **_LONG, global_tokens=1),
        ),
    },
)
