"""Hugging Face Gemma (`GemmaModel`, `GemmaForCausalLM`) <-> `tfzoo.models.GemmaBackbone`.

Llama's tensor names. The norms store `w` of the scale `1 + w`, as tfzoo's
`rms_norm_unit_offset` does, so they move as they are; the LM head is tied to the embedding.
"""

from tfzoo.models import decoder_hf

MODEL_TYPE = "gemma"
PREFIX = "model."
ARCHITECTURES = {"GemmaModel": None, "GemmaForCausalLM": "causal_lm"}
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
# Gemma configs name the GeGLU activation either way; "gelu" there means the tanh form.
_GELU_TANH = ("gelu_pytorch_tanh", "gelu", "gelu_new")


def gemma_kwargs(config, model_type, **options):
    """The `LlamaBackbone` arguments of any Gemma generation (Gemma's options plus `options`)."""
    key = "hidden_activation" if config.get("hidden_activation") else "hidden_act"
    decoder_hf.check_activation(config, key, model_type, _GELU_TANH)
    if config.get("use_bidirectional_attention"):
        raise ValueError(
            f"config.json has use_bidirectional_attention=true (an encoder); tfzoo's "
            f"{model_type} is a causal decoder."
        )
    options.setdefault("tie_word_embeddings", bool(config.get("tie_word_embeddings", True)))
    return decoder_hf.backbone_kwargs(config, model_type, **options)


def gemma_config(model, **extra):
    return decoder_hf.hf_config(
        model, hidden_activation="gelu_pytorch_tanh", hidden_act="gelu_pytorch_tanh", **extra
    )


def backbone_kwargs(config):
    return gemma_kwargs(config, "Gemma")


def hf_config(model, architecture):
    return gemma_config(model)


def slots(model, prefix):
    return decoder_hf.slots(model, prefix, decoder_hf.Layout())
