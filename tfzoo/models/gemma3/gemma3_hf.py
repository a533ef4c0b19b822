"""Hugging Face Gemma 3 text (`Gemma3TextModel`, `Gemma3ForCausalLM`, model type `gemma3_text`)
<-> `tfzoo.models.Gemma3Backbone`.

Gemma 2's names plus `self_attn.q_norm` / `k_norm`. RoPE comes per layer type: `rope_parameters`
holds a `full_attention` and a `sliding_attention` entry (older configs: `rope_theta`,
`rope_scaling` and `rope_local_base_freq`).
"""

from tfzoo.models import decoder_hf
from tfzoo.models.gemma.gemma_hf import gemma_config, gemma_kwargs
from tfzoo.models.gemma2.gemma2_hf import LAYOUT, local_global_config, local_global_kwargs

MODEL_TYPE = "gemma3_text"
PREFIX = "model."
ARCHITECTURES = {"Gemma3TextModel": None, "Gemma3ForCausalLM": "causal_lm"}
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def _rope(config):
    params = config.get("rope_parameters") or {}
    full = dict(params.get("full_attention") or {})
    local = dict(params.get("sliding_attention") or {})
    if not full:  # the older flat layout
        full = decoder_hf.rope_params({k: v for k, v in config.items() if k != "rope_parameters"})
    full.setdefault("rope_theta", 1_000_000.0)
    local.setdefault("rope_theta", config.get("rope_local_base_freq", 10_000.0))
    if (local.get("rope_type") or "default") != "default":
        raise ValueError("config.json scales the local layers' RoPE; tfzoo's Gemma 3 cannot.")
    kwargs = decoder_hf.rope_kwargs(full, "Gemma 3")
    kwargs["local_rope_max_wavelength"] = float(local["rope_theta"])
    return kwargs


def backbone_kwargs(config):
    return gemma_kwargs(config, "Gemma 3", **local_global_kwargs(config), **_rope(config))


def hf_config(model, architecture):
    b = decoder_hf.backbone_of(model)
    local = {"rope_type": "default", "rope_theta": float(b.local_rope_max_wavelength or 10000.0)}
    rope = {"full_attention": decoder_hf.rope_config(b), "sliding_attention": local}
    return gemma_config(model, rope_parameters=rope, rope_scaling=None, **local_global_config(b))


def slots(model, prefix):
    return decoder_hf.slots(model, prefix, LAYOUT)
