import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class Gemma2Backbone(LlamaBackbone):
    """Gemma 2 (Gemma team, 2024): Gemma plus norms after attention and feed-forward, attention and
    final logit soft-capping, alternating local (sliding) and global layers, and the attention
    scale `query_scale_dim**-0.5`.

    `tfzoo.models.LlamaBackbone` with these options by default: {"norm": "rms_norm_unit_offset", "activation": "gelu_tanh", "scale_embeddings": True, "post_norms": True}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {
        "norm": "rms_norm_unit_offset",
        "activation": "gelu_tanh",
        "scale_embeddings": True,
        "post_norms": True,
    }
