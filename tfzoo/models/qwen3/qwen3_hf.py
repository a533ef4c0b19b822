"""Hugging Face Qwen3 (`Qwen3Model`, `Qwen3ForCausalLM`) <-> `tfzoo.models.Qwen3Backbone`.

Llama's tensor names plus `self_attn.q_norm` / `k_norm` (an RMSNorm over each head); biases only
with `attention_bias`. Sliding windows as in Qwen2.
"""

from tfzoo.models import decoder_hf
from tfzoo.models.qwen2.qwen2_hf import window_config, window_kwargs

MODEL_TYPE = "qwen3"
PREFIX = "model."
ARCHITECTURES = {"Qwen3Model": None, "Qwen3ForCausalLM": "causal_lm"}
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def backbone_kwargs(config):
    decoder_hf.check_activation(config, "hidden_act", "Qwen3", ("silu",))
    bias = bool(config.get("attention_bias"))
    return decoder_hf.backbone_kwargs(
        config, "Qwen3", attention_bias=bias, attention_output_bias=bias, **window_kwargs(config)
    )


def hf_config(model, architecture):
    b = decoder_hf.backbone_of(model)
    return decoder_hf.hf_config(
        model, attention_bias=decoder_hf.attention_bias(b), **window_config(b)
    )


def slots(model, prefix):
    return decoder_hf.slots(model, prefix, decoder_hf.Layout())
