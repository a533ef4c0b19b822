import keras

from tfzoo.layers import checks
from tfzoo.models.decoder_backbone import DecoderBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class GPTBackbone(DecoderBackbone):
    """GPT-2 decoder (Radford et al., 2019): token + learned position embeddings, pre-LN causal
    Transformer blocks and a final layer norm.

    Args:
        vocabulary_size: int. Number of token ids.
        num_layers: int. Number of decoder blocks.
        num_heads: int. Attention heads; must divide `hidden_dim`.
        hidden_dim: int. Width of the hidden states.
        intermediate_dim: int. Width of the feed-forward hidden layer.
        dropout: float. Defaults to `0.1`.
        max_sequence_length: int. Size of the position table. Defaults to `1024`.
        activation: string. Defaults to `"gelu_tanh"` (GPT-2's `gelu_new`).
        layer_norm_epsilon: float. Defaults to `1e-5`.
        head_dim: int or `None`. Width of each attention head. Defaults to
            `hidden_dim // num_heads`; set by `tfzoo.compress.prune_structured`, which removes
            heads and keeps their width.
        sliding_window: int or `None`. If set, each token attends only to tokens less than
            `sliding_window` positions away (local attention, for long sequences). Defaults to
            `None` (full attention).
        attention_implementation: string. `"dense"` builds the `(seq, seq)` logits (masked to
            the band when `sliding_window` is set); `"local"` computes the band chunk by chunk
            with `tfzoo.layers.LocalMultiHeadAttention`, memory linear in the sequence (needs
            `sliding_window`, and a sequence at least `sliding_window` long). Defaults to
            `"dense"`.
        global_tokens: int. With `"local"`, the first `global_tokens` positions attend to and
            are attended by every position (Longformer; `1` makes the first token global). Defaults to `0`.
        dtype: string or `keras.DTypePolicy`.

    Inputs: a dict with `token_ids` and `padding_mask`, both int32 `(batch, seq)`.
    Output: the final hidden states `(batch, seq, hidden_dim)`.

    Example:

    >>> backbone = tfzoo.build("gpt2", num_layers=2)
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=1024,
        activation="gelu_tanh",
        layer_norm_epsilon=1e-5,
        head_dim=None,
        sliding_window=None,
        attention_implementation="dense",
        global_tokens=0,
        dtype=None,
        **kwargs,
    ):
        checks.check_positive_ints(allow_none=True, sliding_window=sliding_window)
        checks.check_positive_ints(minimum=0, global_tokens=global_tokens)
        super().__init__(
            locals(),
            position="learned",
            norm="layer_norm",
            use_bias=True,
            block_args=dict(
                activation=activation,
                sliding_window=sliding_window,
                attention_implementation=attention_implementation,
                global_tokens=global_tokens,
            ),
            **kwargs,
        )

        # === Config ===
        self._keep_arguments(locals())
