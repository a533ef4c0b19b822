import inspect

import keras

from tfzoo.layers import (
    RelativePositionBias,
    TokenAndPositionEmbedding,
    TransformerDecoder,
    TransformerEncoder,
    checks,
)
from tfzoo.layers._block_config import make_norm
from tfzoo.models.backbone import BLOCK_ARGUMENTS, Backbone, check_sizes, pick, stack_blocks


@keras.saving.register_keras_serializable(package="tfzoo")
class Seq2SeqBackbone(Backbone):
    """Encoder-decoder Transformer (Vaswani et al., 2017, "Attention Is All You Need").

    Token embeddings scaled by `sqrt(hidden_dim)` plus sinusoidal positions, an encoder stack,
    and a decoder stack with causal self-attention and cross-attention over the encoder output.
    Blocks are post-LN as in the paper (`normalize_first=False`) or pre-LN
    (`normalize_first=True`, which adds a final norm after each stack and trains more stably
    at depth).

    Args:
        vocabulary_size: int. Source vocabulary (and target vocabulary when shared).
        num_layers: int. Encoder blocks.
        num_heads: int. Attention heads; must divide `hidden_dim`.
        hidden_dim: int. Model width (`d_model`).
        intermediate_dim: int. Feed-forward width (`d_ff`).
        num_decoder_layers: int or `None`. Decoder blocks. Defaults to `num_layers`.
        target_vocabulary_size: int or `None`. Target vocabulary when embeddings are not shared.
            Defaults to `vocabulary_size`.
        share_embeddings: bool. One table for source tokens, target tokens and the output
            projection (the paper's shared BPE vocabulary). Defaults to `True`.
        dropout: float. Dropout on embeddings and residual branches. Defaults to `0.1`.
        attention_dropout: float. Dropout on attention probabilities. Defaults to `0.0`.
        max_sequence_length: int. Longest source and target. Defaults to `512`.
        activation: string. Feed-forward activation. Defaults to `"relu"`.
        layer_norm_epsilon: float. Defaults to `1e-6`.
        normalize_first: bool. Pre-LN blocks. Defaults to `False` (post-LN, as in the paper).
        position: string. `"sinusoidal"` (Vaswani et al.: scaled embeddings plus sinusoids) or
            `"relative"` (T5, Raffel et al., 2020: unscaled embeddings and a learned relative
            position bias on the self-attention logits, one table for the encoder shared by its
            blocks and one causal table for the decoder). Defaults to `"sinusoidal"`.
        norm: string. `"layer_norm"` or `"rms_norm"` (T5). Defaults to `"layer_norm"`.
        use_bias: bool. Biases in the attention and feed-forward projections (T5 has none).
            Defaults to `True`.
        num_buckets: int. Relative position buckets (with `position="relative"`). Defaults to `32`.
        max_distance: int. Distance of the last bucket (with `position="relative"`). Defaults
            to `128`.
        dtype: string or `keras.DTypePolicy`.

    Inputs: a dict of int32 tensors `encoder_token_ids`, `encoder_padding_mask` `(batch, src)`
    and `decoder_token_ids`, `decoder_padding_mask` `(batch, tgt)`.

    Outputs: a dict with `encoder_sequence_output` `(batch, src, hidden_dim)` and
    `decoder_sequence_output` `(batch, tgt, hidden_dim)`.

    Example:

    >>> backbone = tfzoo.build("transformer-base", num_layers=2, vocabulary_size=1000)
    """

    input_names = (
        "encoder_token_ids",
        "encoder_padding_mask",
        "decoder_token_ids",
        "decoder_padding_mask",
    )

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        num_decoder_layers=None,
        target_vocabulary_size=None,
        share_embeddings=True,
        dropout=0.1,
        attention_dropout=0.0,
        max_sequence_length=512,
        activation="relu",
        layer_norm_epsilon=1e-6,
        normalize_first=False,
        position="sinusoidal",
        norm="layer_norm",
        use_bias=True,
        num_buckets=32,
        max_distance=128,
        dtype=None,
        **kwargs,
    ):
        check_sizes(locals(), takes_head_dim=False)
        checks.check_positive_ints(num_buckets=num_buckets, max_distance=max_distance)
        checks.check_positive_ints(
            allow_none=True,
            num_decoder_layers=num_decoder_layers,
            target_vocabulary_size=target_vocabulary_size,
        )
        if position not in ("sinusoidal", "relative"):
            raise ValueError(
                f"`position` must be 'sinusoidal' or 'relative'. Received: position={position!r}"
            )
        if norm not in ("layer_norm", "rms_norm"):
            raise ValueError(f"`norm` must be 'layer_norm' or 'rms_norm'. Received: norm={norm!r}")
        if position == "sinusoidal" and hidden_dim % 2:
            raise ValueError(
                f"Sinusoidal positions need an even hidden_dim. Received: hidden_dim={hidden_dim}"
            )
        num_decoder_layers = num_layers if num_decoder_layers is None else num_decoder_layers
        target_vocabulary_size = target_vocabulary_size or vocabulary_size
        if share_embeddings and target_vocabulary_size != vocabulary_size:
            raise ValueError(
                f"Shared embeddings need one vocabulary, but vocabulary_size={vocabulary_size} "
                f"and target_vocabulary_size={target_vocabulary_size}. Use a joint vocabulary or "
                f"set share_embeddings=False."
            )
        relative = position == "relative"
        # Sinusoidal: embeddings are multiplied by sqrt(d), so start them at std d**-0.5 (unit
        # scale after). Relative (T5): unscaled embeddings of unit scale.
        embedding_init = keras.initializers.RandomNormal(
            stddev=1.0 if relative else hidden_dim**-0.5
        )
        block_args = pick(locals(), f"{BLOCK_ARGUMENTS} normalize_first norm use_bias")

        # === Layers ===
        def embedding(vocab, name):
            return TokenAndPositionEmbedding(
                vocab,
                max_sequence_length,
                hidden_dim,
                position="none" if relative else "sinusoidal",
                scale_embeddings=not relative,
                embeddings_initializer=embedding_init,
                dtype=dtype,
                name=name,
            )

        self.encoder_embeddings = embedding(vocabulary_size, "encoder_embeddings")
        self.decoder_embeddings = (
            self.encoder_embeddings
            if share_embeddings
            else embedding(target_vocabulary_size, "decoder_embeddings")
        )
        self.encoder_embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="encoder_embeddings_dropout"
        )
        self.decoder_embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="decoder_embeddings_dropout"
        )
        self.encoder_layers = stack_blocks(
            TransformerEncoder, num_layers, dtype, prefix="encoder_layer", **block_args
        )
        self.decoder_layers = stack_blocks(
            TransformerDecoder,
            num_decoder_layers,
            dtype,
            prefix="decoder_layer",
            use_cross_attention=True,
            **block_args,
        )
        self.encoder_norm = self.decoder_norm = None
        if normalize_first:
            self.encoder_norm = make_norm(norm, layer_norm_epsilon, "encoder_norm", dtype)
            self.decoder_norm = make_norm(norm, layer_norm_epsilon, "decoder_norm", dtype)
        self.encoder_position_bias = self.decoder_position_bias = None
        if relative:
            self.encoder_position_bias = RelativePositionBias(
                num_heads,
                num_buckets,
                max_distance,
                bidirectional=True,
                dtype=dtype,
                name="encoder_position_bias",
            )
            self.decoder_position_bias = RelativePositionBias(
                num_heads,
                num_buckets,
                max_distance,
                bidirectional=False,
                dtype=dtype,
                name="decoder_position_bias",
            )

        # === Functional Model ===
        inputs = self._token_inputs()
        x = self.encoder_embeddings(inputs["encoder_token_ids"])
        x = self.encoder_embeddings_dropout(x)  # (B, src, D)
        encoder_bias = decoder_bias = None
        if relative:
            encoder_bias = self.encoder_position_bias(x)  # (1, H, src, src), shared by blocks
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=inputs["encoder_padding_mask"], position_bias=encoder_bias)
        if self.encoder_norm is not None:
            x = self.encoder_norm(x)
        y = self.decoder_embeddings(inputs["decoder_token_ids"])
        y = self.decoder_embeddings_dropout(y)  # (B, tgt, D)
        if relative:
            decoder_bias = self.decoder_position_bias(y)  # (1, H, tgt, tgt)
        for layer in self.decoder_layers:
            y = layer(
                y,
                encoder_outputs=x,
                position_bias=decoder_bias,
                padding_mask=inputs["decoder_padding_mask"],
                encoder_padding_mask=inputs["encoder_padding_mask"],
            )
        if self.decoder_norm is not None:
            y = self.decoder_norm(y)
        outputs = {"encoder_sequence_output": x, "decoder_sequence_output": y}
        self._build_graph(inputs, outputs, dtype, kwargs)

        # === Config ===
        self._keep_arguments(locals())
        self.num_key_value_heads = num_heads

    @property
    def token_embedding(self):
        """The target `ReversibleEmbedding` (the output projection is tied to it)."""
        return self.decoder_embeddings.token_embedding

    def _check_inputs(self, inputs):
        self._check_input_names(inputs)
        checked = dict(inputs)
        for side in ("encoder", "decoder"):
            ids = inputs[f"{side}_token_ids"]
            checks.check_integer_ids(ids, f"{side}_token_ids")
            checks.check_mask_shape(ids, inputs[f"{side}_padding_mask"], f"{side}_padding_mask")
            length = ids.shape[1] if len(ids.shape) > 1 else None
            if isinstance(length, int) and length > self.max_sequence_length:
                which = "source" if side == "encoder" else "target"
                raise ValueError(
                    f"The {which} has {length} tokens but the model has max_sequence_length="
                    f"{self.max_sequence_length}. Truncate `{side}_token_ids` to "
                    f"{self.max_sequence_length} tokens or build the model with a larger "
                    f"max_sequence_length."
                )
            vocabulary = self.vocabulary_size if side == "encoder" else self.target_vocabulary_size
            ids = checks.check_token_ids(ids, vocabulary, f"{side}_token_ids")
            checked[f"{side}_token_ids"] = checks.check_sequence_shape(
                ids, self.max_sequence_length, f"{side}_token_ids"
            )
        return checked


def seq2seq_parameter_count(vocabulary_size, num_layers, hidden_dim, intermediate_dim, **config):
    """Parameters of a `Seq2SeqBackbone` (= its `Seq2SeqLM`: the output head is tied), by formula.

    Example:

    >>> tfzoo.models.seq2seq.seq2seq_parameter_count(37000, 6, 512, 2048)
    63082496
    """
    config = {**_DEFAULTS, **config}  # the other arguments, with the backbone's defaults
    d, f = hidden_dim, intermediate_dim
    num_decoder_layers = config["num_decoder_layers"]
    num_decoder_layers = num_layers if num_decoder_layers is None else num_decoder_layers
    bias = 1 if config["use_bias"] else 0
    attention = 4 * (d * d + bias * d)
    feed_forward = d * f + bias * f + f * d + bias * d
    norm = d if config["norm"] == "rms_norm" else 2 * d
    embeddings = vocabulary_size * d
    if not config["share_embeddings"]:
        embeddings += (config["target_vocabulary_size"] or vocabulary_size) * d
    encoder = num_layers * (attention + feed_forward + 2 * norm)
    decoder = num_decoder_layers * (2 * attention + feed_forward + 3 * norm)
    final_norms = 2 * norm if config["normalize_first"] else 0
    relative = 0
    if config["position"] == "relative":
        relative = 2 * config["num_buckets"] * config["num_heads"]
    return embeddings + encoder + decoder + final_norms + relative


# `Seq2SeqBackbone`'s default arguments, which `seq2seq_parameter_count` assumes too.
_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(Seq2SeqBackbone).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}
