"""Hugging Face Gemma 2 (`Gemma2Model`, `Gemma2ForCausalLM`) <-> `tfzoo.models.Gemma2Backbone`.

Four norms per block: `input_layernorm` and `pre_feedforward_layernorm` before attention and
feed-forward, `post_attention_layernorm` and `post_feedforward_layernorm` on their outputs
(in Llama, `post_attention_layernorm` is the feed-forward's input norm).
"""

from tfzoo.models import decoder_hf
from tfzoo.models.gemma.gemma_hf import gemma_converter

LAYOUT = decoder_hf.Layout(
    norms=(
        ("input_layernorm", "self_attention_norm"),
        ("post_attention_layernorm", "self_attention_post_norm"),
        ("pre_feedforward_layernorm", "feed_forward_norm"),
        ("post_feedforward_layernorm", "feed_forward_post_norm"),
    )
)


def local_global_kwargs(config):
    """Sliding window, layer types, attention scale and soft-capping of Gemma 2 and 3."""
    layers = config["num_hidden_layers"]
    types = config.get("layer_types") or [
        "sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)
    ]
    return dict(
        sliding_window=config.get("sliding_window"),
        layer_types=types if config.get("sliding_window") else None,
        query_scale_dim=config.get("query_pre_attn_scalar"),
        attention_logit_soft_cap=config.get("attn_logit_softcapping"),
        final_logit_soft_cap=config.get("final_logit_softcapping"),
    )


def local_global_config(b):
    return dict(
        sliding_window=b.sliding_window,
        layer_types=b.layer_types or ["full_attention"] * b.num_layers,
        query_pre_attn_scalar=b.query_scale_dim or b.head_dim,
        attn_logit_softcapping=b.attention_logit_soft_cap,
        final_logit_softcapping=b.final_logit_soft_cap,
    )


CONVERTER = gemma_converter(
    "gemma2",
    "Gemma2",
    options=local_global_kwargs,
    config_extra=local_global_config,
    layout=LAYOUT,
)
