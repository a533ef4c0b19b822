import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class Phi3Backbone(LlamaBackbone):
    """Phi-3 (Abdin et al., 2024): the Llama design; its checkpoints fuse the query/key/value and the
    gate/up projections, which the converter splits.

    `tfzoo.models.LlamaBackbone` with these options by default: {}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {}
