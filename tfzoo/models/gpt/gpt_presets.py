"""GPT-2 presets: the sizes of Radford et al. (2019), and one long-context shape.

`gpt-mini-long` is a GPT-2-style L4/H256 decoder with 4,096 learned positions and causal
sliding-window local attention computed in chunks (window 256, Beltagy et al., 2020). Its
parameter count is not published; it equals that of the same shape with full attention.
"""

from tfzoo.models.family import presets, sizes

_LONG = dict(max_sequence_length=4096, sliding_window=256, attention_implementation="local")

GPT_PRESETS = presets(
    dict(vocabulary_size=50257, max_sequence_length=1024),
    {
        "gpt2": ("GPT-2 small, 124M (Radford et al. 2019)", 124_439_808, sizes(12, 768)),
        "gpt2-medium": ("GPT-2 medium, 355M", 354_823_168, sizes(24, 1024)),
        "gpt2-large": ("GPT-2 large, 774M", 774_030_080, sizes(36, 1280)),
        "gpt2-xl": ("GPT-2 XL, 1.5B", 1_557_611_200, sizes(48, 1600)),
        "gpt-mini-long": (
            "GPT-2-style L4/H256 for 4,096 tokens: causal local attention, window 256",
            None,
            sizes(4, 256, **_LONG),
        ),
    },
)
