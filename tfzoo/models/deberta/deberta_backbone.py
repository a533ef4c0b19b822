import keras
from keras import ops

from tfzoo.layers import LayerNorm, TokenAndPositionEmbedding, checks
from tfzoo.models.backbone import BLOCK_ARGUMENTS, Backbone, check_sizes, pick, stack_blocks
from tfzoo.models.deberta.deberta_layers import DebertaEncoderBlock, RelativePositionEmbeddings

# The arguments of the relative-position terms DeBERTa passes on to its blocks.
POSITION_ARGUMENTS = "attention_terms share_position_projections"


@keras.saving.register_keras_serializable(package="tfzoo")
class DebertaBackbone(Backbone):
    """DeBERTa-v2 / v3 encoder (He et al., 2021; 2023): disentangled attention over content and
    log-bucketed relative positions, post-LN blocks, no absolute positions by default.

    Args:
        vocabulary_size: int. Number of token ids.
        num_layers: int. Encoder blocks.
        num_heads: int. Attention heads; must divide `hidden_dim`.
        hidden_dim: int. Width of the hidden states.
        intermediate_dim: int. Feed-forward width.
        max_sequence_length: int. Longest trained distance (`max_position_embeddings`); the
            relative buckets reach it. Defaults to `512`.
        position_buckets: int. Relative-position buckets per direction (`256` in v3); `0`
            keeps every distance up to `max_sequence_length`. Defaults to `256`.
        attention_terms: tuple of `"c2p"`, `"p2c"`. Defaults to both.
        share_position_projections: bool. v3 projects the relative embeddings with the content
            query / key projections. Defaults to `True`.
        normalize_relative_embeddings: bool. LayerNorm on the relative embeddings (v3).
            Defaults to `True`.
        absolute_positions: bool. Add learned absolute positions to the input
            (`position_biased_input`, v2-xlarge style). Defaults to `False`.
        num_segments: int. Segment ids (`type_vocab_size`; `0` in v3). Defaults to `0`.
        embedding_dim: int or `None`. Embedding width; projected (no bias) when it differs.
        activation: string. Defaults to `"gelu"`.
        dropout, attention_dropout: floats. Defaults to `0.1`.
        layer_norm_epsilon: float. Defaults to `1e-7`.
        dtype: string or `keras.DTypePolicy`.

    Inputs and outputs as `tfzoo.models.BertBackbone` (`segment_ids` ignored when
    `num_segments=0`); outputs hold `sequence_output` only.

    Example:

    >>> backbone = tfzoo.build("deberta-v3-small")
    """

    input_names = ("token_ids", "padding_mask", "segment_ids")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        max_sequence_length=512,
        position_buckets=256,
        attention_terms=("c2p", "p2c"),
        share_position_projections=True,
        normalize_relative_embeddings=True,
        absolute_positions=False,
        num_segments=0,
        embedding_dim=None,
        activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-7,
        dtype=None,
        **kwargs,
    ):
        check_sizes(locals(), takes_head_dim=False)
        checks.check_positive_ints(
            minimum=0, position_buckets=position_buckets, num_segments=num_segments
        )
        unknown = sorted(set(attention_terms) - {"c2p", "p2c"})
        if unknown:
            raise ValueError(
                f"Unknown attention_terms {unknown}: DeBERTa's position terms are 'c2p' "
                f"(content to position) and 'p2c' (position to content)."
            )
        attention_terms = tuple(attention_terms)
        span = position_buckets or max_sequence_length
        embedding_dim = embedding_dim or hidden_dim  # the value saved in the config
        initializer = keras.initializers.TruncatedNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length,
            embedding_dim,
            num_segments=num_segments,
            position="learned" if absolute_positions else "none",
            embeddings_initializer=initializer,
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_project = None
        if embedding_dim != hidden_dim:
            self.embeddings_project = keras.layers.Dense(
                hidden_dim, use_bias=False, dtype=dtype, name="embeddings_project"
            )
        self.embeddings_norm = LayerNorm(layer_norm_epsilon, dtype=dtype, name="embeddings_norm")
        self.embeddings_dropout = keras.layers.Dropout(dropout, dtype=dtype)
        self.relative_embeddings = RelativePositionEmbeddings(
            span,
            hidden_dim,
            normalize=normalize_relative_embeddings,
            epsilon=layer_norm_epsilon,
            dtype=dtype,
            name="rel_embeddings",
        )
        self.transformer_layers = stack_blocks(
            DebertaEncoderBlock,
            num_layers,
            dtype,
            max_position=max_sequence_length,
            **pick(locals(), f"{BLOCK_ARGUMENTS} position_buckets {POSITION_ARGUMENTS}"),
        )

        # === Functional Model ===
        inputs = self._token_inputs()
        padding_mask = inputs["padding_mask"]
        x = self.embeddings(
            inputs["token_ids"], segment_ids=inputs["segment_ids"] if num_segments else None
        )
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        x = self.embeddings_norm(x)
        x = x * ops.expand_dims(ops.cast(padding_mask, x.dtype), -1)
        x = self.embeddings_dropout(x)
        rel = self.relative_embeddings(x)
        for layer in self.transformer_layers:
            x = layer(x, rel, padding_mask)
        self._build_graph(inputs, {"sequence_output": x}, dtype, kwargs)

        # === Config ===
        self._has_position_table = absolute_positions  # relative positions need no table
        self._keep_arguments(locals())
