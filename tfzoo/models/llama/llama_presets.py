"""Llama-style presets: TinyLlama-1.1B (Zhang et al., 2024) and small models of the same design
for tests and experiments (their parameter counts are not published).
"""


def _llama(layers, hidden, heads, kv_heads, intermediate, max_len, description, params=None):
    config = dict(
        vocabulary_size=32000,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        num_key_value_heads=kv_heads,
        intermediate_dim=intermediate,
        max_sequence_length=max_len,
    )
    return dict(config=config, description=description, published_parameters=params)


LLAMA_PRESETS = {
    "llama-tiny": _llama(2, 128, 4, 2, 344, 512, "Llama-style decoder for tests: L2/H128, GQA 4:2"),
    "llama-mini": _llama(4, 256, 8, 2, 688, 1024, "Llama-style decoder: L4/H256, GQA 8:2"),
    "llama-small": _llama(8, 512, 8, 2, 1376, 2048, "Llama-style decoder: L8/H512, GQA 8:2"),
    "tinyllama-1.1b": _llama(
        22, 2048, 32, 4, 5632, 2048, "TinyLlama-1.1B shape (Zhang et al. 2024)", 1_100_048_384
    ),
}
