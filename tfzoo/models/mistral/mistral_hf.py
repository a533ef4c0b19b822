"""Hugging Face Mistral (`MistralModel`, `MistralForCausalLM`) <-> `tfzoo.models.MistralBackbone`.

Llama's tensor names; `sliding_window` (or `null`) in `config.json` applies to every layer.
"""

from tfzoo.models import decoder_hf

MODEL_TYPE = "mistral"
PREFIX = "model."
ARCHITECTURES = {"MistralModel": None, "MistralForCausalLM": "causal_lm"}
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def backbone_kwargs(config):
    decoder_hf.check_activation(config, "hidden_act", "Mistral", ("silu",))
    return decoder_hf.backbone_kwargs(
        config, "Mistral", sliding_window=config.get("sliding_window")
    )


def hf_config(model, architecture):
    return decoder_hf.hf_config(model)


def slots(model, prefix):
    return decoder_hf.slots(model, prefix, decoder_hf.Layout())
