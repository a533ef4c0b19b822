import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class Qwen2Backbone(LlamaBackbone):
    """Qwen2 and Qwen2.5 (Qwen team, 2024): the Llama design with biases on the query, key and value
    projections.

    `tfzoo.models.LlamaBackbone` with these options by default: {"attention_bias": True, "attention_output_bias": False}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {"attention_bias": True, "attention_output_bias": False}
