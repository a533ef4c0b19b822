import keras

from tfzoo.layers import LayerNorm, TokenAndPositionEmbedding, TransformerEncoder, checks
from tfzoo.models.backbone import BLOCK_ARGUMENTS, Backbone, check_sizes, pick, stack_blocks

# The local-attention arguments BERT passes on to `tfzoo.layers.TransformerEncoder`.
LOCAL_ATTENTION_ARGUMENTS = "sliding_window attention_implementation global_tokens"


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
        sliding_window, attention_implementation, global_tokens: local attention for long
            sequences, as in `tfzoo.layers.TransformerEncoder`, whose arguments they are.
            Defaults to `None`, `"dense"` and `0` (full attention); `global_tokens=1` with
            `"local"` makes `[CLS]` attend to and be attended by every position.
        position_offset: int. Row of the position table used by the first token; the table
            has `max_sequence_length + position_offset` rows (RoBERTa: `padding id + 1 = 2`).
            Defaults to `0`.
        use_pooler: bool. Add BERT's tanh pooler (`pooled_output`); DistilBERT has none.
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
        use_pooler=True,
        embedding_dim=None,
        project_embeddings=None,
        share_layers=False,
        dtype=None,
        **kwargs,
    ):
        check_sizes(locals())
        checks.check_positive_ints(
            allow_none=True, sliding_window=sliding_window, embedding_dim=embedding_dim
        )
        checks.check_positive_ints(
            minimum=0,
            num_segments=num_segments,
            global_tokens=global_tokens,
            position_offset=position_offset,
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
        embedding_dim = embedding_dim or hidden_dim  # the value saved in the config
        project_embeddings = bool(project_embeddings)
        if project_embeddings:
            self.embeddings_project = keras.layers.Dense(
                hidden_dim, kernel_initializer=initializer, dtype=dtype, name="embeddings_project"
            )
        self.transformer_layers = stack_blocks(
            TransformerEncoder,
            1 if share_layers else num_layers,
            dtype,
            normalize_first=False,
            kernel_initializer=initializer,
            **pick(locals(), f"{BLOCK_ARGUMENTS} head_dim {LOCAL_ATTENTION_ARGUMENTS}"),
        )
        self.pooler = None
        if use_pooler:
            self.pooler = keras.layers.Dense(
                hidden_dim,
                activation="tanh",
                kernel_initializer=initializer,
                dtype=dtype,
                name="pooler",
            )

        # === Functional Model ===
        inputs = self._token_inputs()
        x = self.embeddings(
            inputs["token_ids"], segment_ids=inputs["segment_ids"], start_index=position_offset
        )
        x = self.embeddings_dropout(self.embeddings_norm(x))
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        for i in range(num_layers):
            layer = self.transformer_layers[i % len(self.transformer_layers)]
            x = layer(x, padding_mask=inputs["padding_mask"])
        outputs = {"sequence_output": x}
        if use_pooler:
            outputs["pooled_output"] = self.pooler(x[:, 0, :])  # on the first token
        self._build_graph(inputs, outputs, dtype, kwargs)

        # === Config ===
        self._keep_arguments(locals())


def variant_backbone(name, doc, **defaults):
    """A registered `BertBackbone` subclass called `name` whose arguments default to `defaults`.

    The BERT-layout encoders (RoBERTa, DistilBERT, ELECTRA, ALBERT) are BERT's code with other
    defaults; each is its own class so that `save_pretrained` knows its checkpoint format.
    """

    def __init__(self, *args, **kwargs):
        BertBackbone.__init__(self, *args, **{**defaults, **kwargs})

    fixed = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
    attributes = {
        "__init__": __init__,
        "__doc__": f"{doc}\n\n    `tfzoo.models.BertBackbone` (same arguments) with the defaults: {fixed}.",
        "__module__": BertBackbone.__module__,
        "VARIANT_DEFAULTS": defaults,
    }
    cls = type(name, (BertBackbone,), attributes)
    return keras.saving.register_keras_serializable(package="tfzoo")(cls)
