"""Gemma 2 presets (Gemma team, 2024). `dims`: `family.DECODER_DIMS`."""

from tfzoo.models.family import decoder_preset

GEMMA2_PRESETS = {
    "gemma-2-2b": decoder_preset(
        "Gemma-2-2B shape: L26/H2304, GQA 8:4, head_dim 256, local/global layers, soft-capping",
        2_614_341_888,
        (26, 2304, 8, 4, 9216, 256000, 8192),
        head_dim=256,
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=True,
        sliding_window=4096,
        layer_types=["sliding_attention", "full_attention"] * 13,
        attention_logit_soft_cap=50.0,
        final_logit_soft_cap=30.0,
        query_scale_dim=256,
    ),
}
