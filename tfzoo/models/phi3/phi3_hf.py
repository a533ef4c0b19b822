"""Hugging Face Phi-3 (`Phi3Model`, `Phi3ForCausalLM`) <-> `tfzoo.models.Phi3Backbone`.

`self_attn.qkv_proj` stacks the query, key and value rows and `mlp.gate_up_proj` the gate and
up rows; the converter splits them into tfzoo's separate projections (and joins them back).
"""

from tfzoo.models import decoder_hf

MODEL_TYPE = "phi3"
PREFIX = "model."
ARCHITECTURES = {"Phi3Model": None, "Phi3ForCausalLM": "causal_lm"}
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
LAYOUT = decoder_hf.Layout(qkv="qkv_proj", ffn={"gate_up": "gate_up_proj", "down": "down_proj"})


def backbone_kwargs(config):
    decoder_hf.check_activation(config, "hidden_act", "Phi-3", ("silu",))
    rope = decoder_hf.rope_params(config)
    return decoder_hf.backbone_kwargs(
        config,
        "Phi-3",
        sliding_window=config.get("sliding_window"),
        partial_rotary_factor=float(
            rope.get("partial_rotary_factor", config.get("partial_rotary_factor", 1.0))
        ),
    )


def hf_config(model, architecture):
    b = decoder_hf.backbone_of(model)
    return decoder_hf.hf_config(model, partial_rotary_factor=b.partial_rotary_factor)


def slots(model, prefix):
    return decoder_hf.slots(model, prefix, LAYOUT)
