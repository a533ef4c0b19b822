"""GPT-2 presets: the sizes of Radford et al. (2019), and one long-context shape.

`gpt-mini-long` is a GPT-2-style L4/H256 decoder with 4,096 learned positions and causal
sliding-window local attention computed in chunks (window 256, Beltagy et al., 2020). Its
parameter count is not published; it equals that of the same shape with full attention.
"""

_GPT2 = dict(vocabulary_size=50257, max_sequence_length=1024)
_LONG = dict(max_sequence_length=4096, sliding_window=256, attention_implementation="local")


def _gpt2(layers, hidden, heads, description, params, **extra):
    config = dict(
        _GPT2,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        intermediate_dim=4 * hidden,
        **extra,
    )
    return dict(config=config, description=description, published_parameters=params)


GPT_PRESETS = {
    "gpt2": _gpt2(12, 768, 12, "GPT-2 small, 124M (Radford et al. 2019)", 124_439_808),
    "gpt2-medium": _gpt2(24, 1024, 16, "GPT-2 medium, 355M", 354_823_168),
    "gpt2-large": _gpt2(36, 1280, 20, "GPT-2 large, 774M", 774_030_080),
    "gpt2-xl": _gpt2(48, 1600, 25, "GPT-2 XL, 1.5B", 1_557_611_200),
    "gpt-mini-long": _gpt2(
        4,
        256,
        4,
        "GPT-2-style L4/H256 for 4,096 tokens: causal local attention, window 256",
        None,
        **_LONG,
    ),
}
