"""Hugging Face Gemma (`GemmaModel`, `GemmaForCausalLM`) <-> `tfzoo.models.GemmaBackbone`.

Llama's tensor names. The norms store `w` of the scale `1 + w`, as tfzoo's
`rms_norm_unit_offset` does, so they move as they are; the LM head is tied to the embedding.
"""

from tfzoo.models import decoder_hf

# Gemma configs name the GeGLU activation either way; "gelu" there means the tanh form.
_GELU_TANH = ("gelu_pytorch_tanh", "gelu", "gelu_new")


def gemma_converter(model_type, name, options=None, config_extra=None, **overrides):
    """The converter of a Gemma generation: Gemma's activation keys and checks."""
    options = options or (lambda config: {})
    config_extra = config_extra or (lambda b: {})

    def backbone_kwargs(config):
        key = "hidden_activation" if config.get("hidden_activation") else "hidden_act"
        decoder_hf.check_activation(config, key, name, _GELU_TANH)
        if config.get("use_bidirectional_attention"):
            raise ValueError(
                f"config.json has use_bidirectional_attention=true (an encoder); tfzoo's "
                f"{name} is a causal decoder."
            )
        tied = bool(config.get("tie_word_embeddings", True))
        return decoder_hf.backbone_kwargs(
            config, name, **{"tie_word_embeddings": tied, **options(config)}
        )

    def hf_config(model, architecture):
        extra = config_extra(decoder_hf.backbone_of(model))
        act = "gelu_pytorch_tanh"
        return decoder_hf.hf_config(model, hidden_activation=act, hidden_act=act, **extra)

    return decoder_hf.converter(
        model_type, name, backbone_kwargs=backbone_kwargs, hf_config=hf_config, **overrides
    )


CONVERTER = gemma_converter("gemma", "Gemma")
