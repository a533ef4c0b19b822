import keras

from tfzoo.layers import LayerNorm, TokenAndPositionEmbedding, TransformerEncoder, checks
from tfzoo.models.backbone import Backbone


@keras.saving.register_keras_serializable(package="tfzoo")
class BertBackbone(Backbone):
    """BERT encoder (Devlin et al., 2019): token + segment + learned position embeddings, a
    stack of post-LN Transformer encoder blocks and a tanh pooler on the first token.

    Args:
        vocabulary_size: int. Number of token ids.
        num_layers: int. Number of encoder blocks.
        num_heads: int. Attention heads per block; must divide `hidden_dim`.
        hidden_dim: int. Width of the hidden states.
        intermediate_dim: int. Width of the feed-forward hidden layer.
        dropout: float. Dropout on embeddings and residual branches. Defaults to `0.1`.
        attention_dropout: float. Dropout on attention probabilities. Defaults to `dropout`.
        max_sequence_length: int. Size of the position table. Defaults to `512`.
        num_segments: int. Number of segment ids. Defaults to `2`.
        activation: string. `"gelu"` (exact) or `"gelu_tanh"`, `"relu"`. Defaults to `"gelu"`.
        layer_norm_epsilon: float. Defaults to `1e-12`.
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
            are attended by every position (Longformer; `1` makes `[CLS]` global). Defaults to `0`.
        position_offset: int. Row of the position table used by the first token; the table
            has `max_sequence_length + position_offset` rows (RoBERTa: `padding id + 1 = 2`).
            Defaults to `0`.
        pooler: bool. Add BERT's tanh pooler (`pooled_output`); DistilBERT has none.
            Defaults to `True`.
        embedding_dim: int or `None`. Width of the embeddings when it differs from
            `hidden_dim` (ELECTRA, ALBERT: factorized embeddings); a dense layer
            `embeddings_project` maps them to `hidden_dim`. Defaults to `hidden_dim`.
        project_embeddings: bool or `None`. Force (or forbid) `embeddings_project`; `None`
            adds it when `embedding_dim != hidden_dim`. ALBERT always has it.
        share_layers: bool. One encoder block applied `num_layers` times (ALBERT's
            cross-layer sharing); `transformer_layers` then holds that one block.
            Defaults to `False`.
        dtype: string or `keras.DTypePolicy`. E.g. `"mixed_float16"`.

    Inputs: a dict with `token_ids` `(batch, seq)` int32, `padding_mask` `(batch, seq)` int32
    (1 for tokens, 0 for padding) and `segment_ids` `(batch, seq)` int32.

    Outputs: a dict with `sequence_output` `(batch, seq, hidden_dim)` and `pooled_output`
    `(batch, hidden_dim)`.

    Example:

    >>> backbone = tfzoo.build("bert-tiny")
    >>> out = backbone({"token_ids": ids, "padding_mask": mask, "segment_ids": 0 * ids})
    """

    input_names = ("token_ids", "padding_mask", "segment_ids")

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        attention_dropout=None,
        max_sequence_length=512,
        num_segments=2,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        head_dim=None,
        sliding_window=None,
        attention_implementation="dense",
        global_tokens=0,
        position_offset=0,
        pooler=True,
        embedding_dim=None,
        project_embeddings=None,
        share_layers=False,
        dtype=None,
        **kwargs,
    ):
        checks.check_positive_ints(
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            num_heads=num_heads,
            hidden_dim=hidden_dim,
            intermediate_dim=intermediate_dim,
            max_sequence_length=max_sequence_length,
        )
        checks.check_positive_ints(
            allow_none=True,
            head_dim=head_dim,
            sliding_window=sliding_window,
            embedding_dim=embedding_dim,
        )
        checks.check_positive_ints(
            minimum=0,
            num_segments=num_segments,
            global_tokens=global_tokens,
            position_offset=position_offset,
        )
        if head_dim is None and hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Pick a "
                f"hidden_dim that is a multiple of num_heads, or a num_heads that divides it, or pass "
                f"head_dim."
            )
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        initializer = keras.initializers.TruncatedNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = TokenAndPositionEmbedding(
            vocabulary_size,
            max_sequence_length + position_offset,
            embedding_dim or hidden_dim,
            num_segments=num_segments,
            embeddings_initializer=initializer,
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_norm = LayerNorm(layer_norm_epsilon, dtype=dtype, name="embeddings_norm")
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.embeddings_project = None
        if project_embeddings is None:
            project_embeddings = embedding_dim not in (None, hidden_dim)
        if not project_embeddings and embedding_dim not in (None, hidden_dim):
            raise ValueError(
                f"embedding_dim={embedding_dim} differs from hidden_dim={hidden_dim}: the "
                f"embeddings need `project_embeddings=True` (or None) to reach the hidden width."
            )
        if project_embeddings:
            self.embeddings_project = keras.layers.Dense(
                hidden_dim, kernel_initializer=initializer, dtype=dtype, name="embeddings_project"
            )
        self.transformer_layers = [
            TransformerEncoder(
                num_heads,
                intermediate_dim,
                head_dim=head_dim,
                activation=activation,
                dropout=dropout,
                attention_dropout=attention_dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=False,
                sliding_window=sliding_window,
                attention_implementation=attention_implementation,
                global_tokens=global_tokens,
                kernel_initializer=initializer,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(1 if share_layers else num_layers)
        ]
        self.pooler = None
        if pooler:
            self.pooler = keras.layers.Dense(
                hidden_dim,
                activation="tanh",
                kernel_initializer=initializer,
                dtype=dtype,
                name="pooler",
            )

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = self.embeddings(token_ids, segment_ids=segment_ids, start_index=position_offset)
        x = self.embeddings_dropout(self.embeddings_norm(x))
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        for i in range(num_layers):
            layer = self.transformer_layers[i % len(self.transformer_layers)]
            x = layer(x, padding_mask=padding_mask)
        outputs = {"sequence_output": x}
        if pooler:
            outputs["pooled_output"] = self.pooler(x[:, 0, :])  # on the first token
        super().__init__(
            inputs={
                "token_ids": token_ids,
                "padding_mask": padding_mask,
                "segment_ids": segment_ids,
            },
            outputs=outputs,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self._head_dim = head_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.sliding_window = sliding_window
        self.attention_implementation = attention_implementation
        self.global_tokens = global_tokens
        self.position_offset = position_offset
        self.use_pooler = pooler
        self.embedding_dim = embedding_dim or hidden_dim
        self.project_embeddings = bool(project_embeddings)
        self.share_layers = share_layers

    @property
    def head_dim(self):
        return self._head_dim or self.hidden_dim // self.num_heads

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "head_dim": self._head_dim,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "sliding_window": self.sliding_window,
                "attention_implementation": self.attention_implementation,
                "global_tokens": self.global_tokens,
                "position_offset": self.position_offset,
                "pooler": self.use_pooler,
                "embedding_dim": self.embedding_dim,
                "project_embeddings": self.project_embeddings,
                "share_layers": self.share_layers,
            }
        )
        return config
