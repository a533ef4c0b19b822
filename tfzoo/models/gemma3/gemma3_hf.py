"""Hugging Face Gemma 3 text (`Gemma3TextModel`, `Gemma3ForCausalLM`, model type `gemma3_text`)
<-> `tfzoo.models.Gemma3Backbone`.

Gemma 2's names plus `self_attn.q_norm` / `k_norm`. RoPE comes per layer type: `rope_parameters`
holds a `full_attention` and a `sliding_attention` entry (older configs: `rope_theta`,
`rope_scaling` and `rope_local_base_freq`).
"""

from tfzoo.models import decoder_hf
from tfzoo.models.gemma.gemma_hf import gemma_converter
from tfzoo.models.gemma2.gemma2_hf import LAYOUT, local_global_config, local_global_kwargs


def _options(config):
    params = config.get("rope_parameters") or {}
    full = dict(params.get("full_attention") or {})
    local = dict(params.get("sliding_attention") or {})
    if not full:  # the older flat layout
        full = decoder_hf.rope_params({k: v for k, v in config.items() if k != "rope_parameters"})
    full.setdefault("rope_theta", 1_000_000.0)
    local.setdefault("rope_theta", config.get("rope_local_base_freq", 10_000.0))
    if (local.get("rope_type") or "default") != "default":
        raise ValueError("config.json scales the local layers' RoPE; tfzoo's Gemma 3 cannot.")
    kwargs = dict(local_global_kwargs(config), **decoder_hf.rope_kwargs(full, "Gemma 3"))
    kwargs["local_rope_max_wavelength"] = float(local["rope_theta"])
    return kwargs


def _config(b):
    local = {"rope_type": "default", "rope_theta": float(b.local_rope_max_wavelength or 10000.0)}
    rope = {"full_attention": decoder_hf.rope_config(b), "sliding_attention": local}
    return dict(local_global_config(b), rope_parameters=rope, rope_scaling=None)


CONVERTER = gemma_converter(
    "gemma3_text",
    "Gemma3",
    options=_options,
    config_extra=_config,
    ARCHITECTURES={"Gemma3TextModel": None, "Gemma3ForCausalLM": "causal_lm"},
    layout=LAYOUT,
)
