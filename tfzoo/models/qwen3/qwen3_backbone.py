import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class Qwen3Backbone(LlamaBackbone):
    """Qwen3 (Qwen team, 2025): the Llama design with an RMSNorm on each query and key head and a
    head width independent of `hidden_dim // num_heads`.

    `tfzoo.models.LlamaBackbone` with these options by default: {"query_key_norm": True}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {"query_key_norm": True}
