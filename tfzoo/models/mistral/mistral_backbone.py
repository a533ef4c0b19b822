import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class MistralBackbone(LlamaBackbone):
    """Mistral (Jiang et al., 2023): the Llama design with sliding-window attention in every layer.

    `tfzoo.models.LlamaBackbone` with these options by default: {}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {}
