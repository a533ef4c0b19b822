import keras

from tfzoo.models.llama.llama_backbone import LlamaBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class GPTNeoXBackbone(LlamaBackbone):
    """GPT-NeoX and Pythia (Black et al., 2022; Biderman et al., 2023): LayerNorm with bias, biases
    everywhere, a plain GELU MLP, parallel residual and RoPE on a fraction of each head.

    `tfzoo.models.LlamaBackbone` with these options by default: {"norm": "layer_norm", "activation": "gelu", "gated_ffn": False, "use_bias": True, "parallel_residual": True, "partial_rotary_factor": 0.25}. Takes the
    same arguments.

    Example:

    >>> lm = tfzoo.from_pretrained("path/to/hf-model", task="causal_lm")
    """

    FAMILY_DEFAULTS = {
        "norm": "layer_norm",
        "activation": "gelu",
        "gated_ffn": False,
        "use_bias": True,
        "parallel_residual": True,
        "partial_rotary_factor": 0.25,
    }
