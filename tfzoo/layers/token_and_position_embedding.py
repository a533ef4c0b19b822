import keras

from tfzoo.layers import checks
from tfzoo.layers._arguments import ArgumentsConfig
from tfzoo.layers._block_config import clone_initializer
from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.reversible_embedding import ReversibleEmbedding
from tfzoo.layers.sinusoidal_position_encoding import SinusoidalPositionEncoding


@keras.saving.register_keras_serializable(package="tfzoo")
class TokenAndPositionEmbedding(ArgumentsConfig, keras.layers.Layer):
    """Token + position (+ segment) embeddings, summed: the input layer of BERT and GPT-2.

    Args:
        vocabulary_size: int. Number of token ids.
        max_sequence_length: int. Size of the position table.
        hidden_dim: int. Embedding width.
        num_segments: int. Number of segment ids (`0` for none, `2` for BERT). Defaults to `0`.
        position: string. `"learned"`, `"sinusoidal"` or `"none"` (for RoPE/ALiBi models).
            Defaults to `"learned"`.
        scale_embeddings: bool. Multiply token embeddings by `sqrt(hidden_dim)` (Vaswani et al.).
            Defaults to `False`.
        tie_weights: bool. Whether the token embedding's reverse projection is tied.
            Defaults to `True`.
        embeddings_initializer: initializer of the tables.

    Call arguments:
        token_ids: int tensor `(batch, seq)`.
        segment_ids: int tensor `(batch, seq)` (needed when `num_segments > 0`).
        start_index: int or scalar int tensor. Position of the first token.

    Example:

    >>> emb = tfzoo.layers.TokenAndPositionEmbedding(100, 32, 16, num_segments=2)
    >>> x = emb(np.array([[5, 6, 7]]), segment_ids=np.array([[0, 0, 1]]))   # (1, 3, 16)
    """

    def __init__(
        self,
        vocabulary_size,
        max_sequence_length,
        hidden_dim,
        num_segments=0,
        position="learned",
        scale_embeddings=False,
        tie_weights=True,
        embeddings_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._keep_arguments(locals())
        if position not in ("learned", "sinusoidal", "none"):
            raise ValueError(
                f"`position` must be 'learned', 'sinusoidal' or 'none'. Received: position={position!r}"
            )

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding = ReversibleEmbedding(
            self.vocabulary_size,
            self.hidden_dim,
            tie_weights=self.tie_weights,
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(token_ids_shape)
        self.position_embedding = None
        if self.position == "learned":
            self.position_embedding = PositionEmbedding(
                self.max_sequence_length,
                initializer=clone_initializer(self.embeddings_initializer),
                dtype=self.dtype_policy,
                name="position_embedding",
            )
            self.position_embedding.build((*token_ids_shape, self.hidden_dim))
        elif self.position == "sinusoidal":
            self.position_embedding = SinusoidalPositionEncoding(
                dtype=self.dtype_policy, name="position_embedding"
            )
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = keras.layers.Embedding(
                self.num_segments,
                self.hidden_dim,
                embeddings_initializer=clone_initializer(self.embeddings_initializer),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
            self.segment_embedding.build(token_ids_shape)

    def call(self, token_ids, segment_ids=None, start_index=0):
        x = self.token_embedding(token_ids)
        if self.scale_embeddings:
            x = x * (self.hidden_dim**0.5)
        if self.position_embedding is not None:
            if self.position == "sinusoidal":
                checks.check_sequence_length(
                    token_ids.shape[1], self.max_sequence_length, start_index
                )
            x = x + self.position_embedding(x, start_index=start_index)
        if self.segment_embedding is not None:
            if segment_ids is None:
                raise ValueError(
                    "This embedding has segment embeddings: pass `segment_ids` (zeros for a "
                    "single sentence)."
                )
            segment_ids = checks.check_ids(
                segment_ids,
                self.num_segments,
                "segment_ids",
                "num_segments",
                "Segment ids number the sentences of an input: 0 for the first, 1 for the second; "
                "pass segment ids below num_segments (zeros for single sentences).",
            )
            x = x + self.segment_embedding(segment_ids)
        return x

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return (*token_ids_shape, self.hidden_dim)
