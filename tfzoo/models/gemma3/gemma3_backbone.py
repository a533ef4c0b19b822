import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class Gemma3Backbone(LlamaBackbone):
    """Gemma 3's text decoder (Gemma team, 2025): Gemma 2 without soft-capping, plus query/key
    norms, and local layers with their own RoPE base.

    `tfzoo.models.LlamaBackbone` with these options by default: {"norm": "rms_norm_unit_offset", "activation": "gelu_tanh", "scale_embeddings": True, "post_norms": True, "query_key_norm": True}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {
        "norm": "rms_norm_unit_offset",
        "activation": "gelu_tanh",
        "scale_embeddings": True,
        "post_norms": True,
        "query_key_norm": True,
    }
