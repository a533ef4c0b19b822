"""Hugging Face Phi-3 (`Phi3Model`, `Phi3ForCausalLM`) <-> `tfzoo.models.Phi3Backbone`.

`self_attn.qkv_proj` stacks the query, key and value rows and `mlp.gate_up_proj` the gate and
up rows; the converter splits them into tfzoo's separate projections (and joins them back).
"""

from tfzoo.models import decoder_hf


def _options(config):
    rope = decoder_hf.rope_params(config)
    factor = rope.get("partial_rotary_factor", config.get("partial_rotary_factor", 1.0))
    return dict(sliding_window=config.get("sliding_window"), partial_rotary_factor=float(factor))


CONVERTER = decoder_hf.converter(
    "phi3",
    "Phi3",
    layout=decoder_hf.Layout(qkv="qkv_proj", ffn={"gate_up": "gate_up_proj", "down": "down_proj"}),
    options=_options,
    config_extra=lambda b: {"partial_rotary_factor": b.partial_rotary_factor},
)
