"""Llama-style presets: TinyLlama-1.1B (Zhang et al., 2024), SmolLM2 (Allal et al., 2025),
Llama-3.2-1B (Llama-3 RoPE scaling) and small models of the same design for tests and
experiments (their parameter counts are not published).
"""

from tfzoo.models.family import decoder_sizes, presets

_SMOLLM2 = dict(rope_max_wavelength=100000.0, tie_word_embeddings=True)


def _smollm2(dims, params):
    layers, hidden, heads, kv_heads = dims[:4]
    description = f"SmolLM2 shape (Llama design): L{layers}/H{hidden}, GQA {heads}:{kv_heads}, tied"
    return description, params, decoder_sizes(dims, **_SMOLLM2)


LLAMA_PRESETS = presets(
    {},
    {
        "llama-tiny": (
            "Llama-style decoder for tests: L2/H128, GQA 4:2",
            None,
            decoder_sizes((2, 128, 4, 2, 344, 32000, 512)),
        ),
        "llama-mini": (
            "Llama-style decoder: L4/H256, GQA 8:2",
            None,
            decoder_sizes((4, 256, 8, 2, 688, 32000, 1024)),
        ),
        "llama-small": (
            "Llama-style decoder: L8/H512, GQA 8:2",
            None,
            decoder_sizes((8, 512, 8, 2, 1376, 32000, 2048)),
        ),
        "tinyllama-1.1b": (
            "TinyLlama-1.1B shape (Zhang et al. 2024)",
            1_100_048_384,
            decoder_sizes((22, 2048, 32, 4, 5632, 32000, 2048)),
        ),
        "smollm2-135m": _smollm2((30, 576, 9, 3, 1536, 49152, 8192), 134_515_008),
        "smollm2-360m": _smollm2((32, 960, 15, 5, 2560, 49152, 8192), 361_821_120),
        "llama-3.2-1b": (
            "Llama-3.2-1B shape: L16/H2048, GQA 32:8, Llama-3 RoPE scaling, tied",
            1_235_814_400,
            decoder_sizes(
                (16, 2048, 32, 8, 8192, 128256, 131072),
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
        ),
    },
)
