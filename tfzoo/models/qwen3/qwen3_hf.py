"""Hugging Face Qwen3 (`Qwen3Model`, `Qwen3ForCausalLM`) <-> `tfzoo.models.Qwen3Backbone`: Llama's
tensor names plus `self_attn.q_norm` / `k_norm` (an RMSNorm over each head); biases only with
`attention_bias`; sliding windows as in Qwen2."""

from tfzoo.models import decoder_hf
from tfzoo.models.qwen2.qwen2_hf import window_config, window_kwargs


def _options(config):
    bias = bool(config.get("attention_bias"))
    return dict(window_kwargs(config), attention_bias=bias, attention_output_bias=bias)


def _config(b):
    return dict(window_config(b), attention_bias=decoder_hf.attention_bias(b))


CONVERTER = decoder_hf.converter("qwen3", "Qwen3", options=_options, config_extra=_config)
