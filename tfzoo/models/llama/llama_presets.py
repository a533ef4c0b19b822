"""Llama-style presets: TinyLlama-1.1B (Zhang et al., 2024), SmolLM2 (Allal et al., 2025),
Llama-3.2-1B (Llama-3 RoPE scaling) and small models of the same design for tests and
experiments (their parameter counts are not published).
"""

from tfzoo.models.family import preset


def _llama(
    layers, hidden, heads, kv_heads, intermediate, max_len, description, params=None, **extra
):
    config = dict(
        vocabulary_size=32000,
        num_layers=layers,
        hidden_dim=hidden,
        num_heads=heads,
        num_key_value_heads=kv_heads,
        intermediate_dim=intermediate,
        max_sequence_length=max_len,
    )
    return preset(description, params, **{**config, **extra})


def _smollm2(layers, hidden, heads, kv_heads, intermediate, params):
    return _llama(
        layers,
        hidden,
        heads,
        kv_heads,
        intermediate,
        8192,
        f"SmolLM2 shape (Llama design): L{layers}/H{hidden}, GQA {heads}:{kv_heads}, tied",
        params,
        vocabulary_size=49152,
        rope_max_wavelength=100000.0,
        tie_word_embeddings=True,
    )


LLAMA_PRESETS = {
    "llama-tiny": _llama(2, 128, 4, 2, 344, 512, "Llama-style decoder for tests: L2/H128, GQA 4:2"),
    "llama-mini": _llama(4, 256, 8, 2, 688, 1024, "Llama-style decoder: L4/H256, GQA 8:2"),
    "llama-small": _llama(8, 512, 8, 2, 1376, 2048, "Llama-style decoder: L8/H512, GQA 8:2"),
    "tinyllama-1.1b": _llama(
        22, 2048, 32, 4, 5632, 2048, "TinyLlama-1.1B shape (Zhang et al. 2024)", 1_100_048_384
    ),
    "smollm2-135m": _smollm2(30, 576, 9, 3, 1536, 134_515_008),
    "smollm2-360m": _smollm2(32, 960, 15, 5, 2560, 361_821_120),
    "llama-3.2-1b": _llama(
        16,
        2048,
        32,
        8,
        8192,
        131072,
        "Llama-3.2-1B shape: L16/H2048, GQA 32:8, Llama-3 RoPE scaling, tied",
        1_235_814_400,
        vocabulary_size=128256,
        rope_max_wavelength=500000.0,
        layer_norm_epsilon=1e-5,
        tie_word_embeddings=True,
        rope_frequency_scaling=dict(
            factor=32.0,
            low_freq_factor=1.0,
            high_freq_factor=4.0,
            original_max_position_embeddings=8192,
        ),
    ),
}
