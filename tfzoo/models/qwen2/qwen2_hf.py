"""Hugging Face Qwen2 / Qwen2.5 (`Qwen2Model`, `Qwen2ForCausalLM`) <-> `tfzoo.models.Qwen2Backbone`:
Llama's tensor names plus `q_proj`/`k_proj`/`v_proj` biases. With `use_sliding_window`, the
layers `layer_types` marks `sliding_attention` use the window."""

from tfzoo.models import decoder_hf


def window_kwargs(config):
    """`sliding_window` and `layer_types` of a Qwen config (`use_sliding_window` gates both)."""
    if not config.get("use_sliding_window"):
        return {}
    return dict(sliding_window=config["sliding_window"], layer_types=config.get("layer_types"))


def window_config(b):
    if not b.layer_types and not b.sliding_window:
        return dict(use_sliding_window=False, sliding_window=None)
    types = b.layer_types or ["sliding_attention"] * b.num_layers
    return dict(use_sliding_window=True, sliding_window=b.sliding_window, layer_types=types)


CONVERTER = decoder_hf.converter(
    "qwen2", "Qwen2", options=window_kwargs, config_extra=window_config
)
