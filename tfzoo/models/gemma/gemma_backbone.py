import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class GemmaBackbone(LlamaBackbone):
    """Gemma (Gemma team, 2024): RMSNorm scaled by `1 + w`, embeddings scaled by `sqrt(hidden_dim)`,
    GeGLU with tanh GELU, head width 256, tied embeddings.

    `tfzoo.models.LlamaBackbone` with these options by default: {"norm": "rms_norm_unit_offset", "activation": "gelu_tanh", "scale_embeddings": True}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {
        "norm": "rms_norm_unit_offset",
        "activation": "gelu_tanh",
        "scale_embeddings": True,
    }
