import keras

from tfzoo.layers._arguments import ArgumentsConfig
from tfzoo.layers._block_config import check_block_args, make_norm
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.local_attention import LocalMultiHeadAttention
from tfzoo.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerEncoder(ArgumentsConfig, keras.layers.Layer):
    """A Transformer encoder block: bidirectional self-attention and a feed-forward network.

    Post-LN (`normalize_first=False`, BERT): `x = norm(x + attn(x))`, `x = norm(x + ffn(x))`.
    Pre-LN (`normalize_first=True`): `x = x + attn(norm(x))`, `x = x + ffn(norm(x))`.

    Args:
        num_heads: int. Number of attention heads.
        intermediate_dim: int. Width of the feed-forward hidden layer.
        activation: string. Feed-forward activation. Defaults to `"gelu"`.
        gated_ffn: bool. Gated feed-forward (SwiGLU/GeGLU). Defaults to `False`.
        dropout: float. Dropout on the residual branches. Defaults to `0.0`.
        attention_dropout: float. Dropout on the attention probabilities. Defaults to `0.0`.
        layer_norm_epsilon: float. Epsilon of the norms. Defaults to `1e-12`.
        normalize_first: bool. Pre-LN if `True`, post-LN if `False`. Defaults to `False`.
        norm: string. `"layer_norm"` or `"rms_norm"`. Defaults to `"layer_norm"`.
        num_key_value_heads: int. Grouped-query heads. Defaults to `num_heads`.
        head_dim: int. Width of a head. Defaults to `hidden_dim // num_heads`.
        use_bias: bool. Biases on the projections. Defaults to `True`.
        rotary_max_wavelength: int or `None`. Enables RoPE. Defaults to `None`.
        rotary_scaling_factor: float. Linear RoPE scaling. Defaults to `1.0`.
        use_alibi: bool. ALiBi biases. Defaults to `False`.
        sliding_window: int or `None`. Local attention window. Defaults to `None`.
        attention_implementation: string. `"dense"` computes the full score matrix (with a band
            mask when `sliding_window` is set); `"local"` uses
            `tfzoo.layers.LocalMultiHeadAttention`, whose memory grows linearly with the
            sequence (needs `sliding_window`). Defaults to `"dense"`.
        global_tokens: int. With `"local"`, the first `global_tokens` positions attend to and
            are attended by every position (Longformer). Defaults to `0`.
        attention_args: dict or `None`. More `tfzoo.layers.MultiHeadAttention` arguments for the
            self-attention (e.g. `query_key_norm`, `logit_soft_cap`, `output_bias`); they
            override the block's own. Defaults to `None`.
        kernel_initializer: initializer of all kernels.

    Call arguments:
        inputs: float tensor `(batch, seq, hidden)`.
        padding_mask: bool/int tensor `(batch, seq)`.
        attention_mask: bool/int tensor `(batch, seq, seq)`.
        position_bias: float tensor added to the attention logits.
        return_attention_scores: bool. Also return `(batch, heads, seq, seq)` probabilities.
        training: bool.

    Example:

    >>> block = tfzoo.layers.TransformerEncoder(num_heads=2, intermediate_dim=64)
    >>> y = block(np.ones((2, 7, 16), "float32"), padding_mask=np.ones((2, 7), bool))
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        activation="gelu",
        gated_ffn=False,
        dropout=0.0,
        attention_dropout=0.0,
        layer_norm_epsilon=1e-12,
        normalize_first=False,
        norm="layer_norm",
        num_key_value_heads=None,
        head_dim=None,
        use_bias=True,
        rotary_max_wavelength=None,
        rotary_scaling_factor=1.0,
        use_alibi=False,
        sliding_window=None,
        attention_implementation="dense",
        global_tokens=0,
        attention_args=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_block_args(None, num_heads, head_dim, norm, dropout, attention_dropout)
        if attention_implementation not in ("dense", "local"):
            raise ValueError(
                f"`attention_implementation` must be 'dense' or 'local'. Received: "
                f"attention_implementation={attention_implementation!r}"
            )
        if attention_implementation == "local" and not sliding_window:
            raise ValueError(
                "attention_implementation='local' needs a `sliding_window` (e.g. 256)."
            )
        if global_tokens and attention_implementation != "local":
            raise ValueError(
                f"`global_tokens` needs attention_implementation='local'. Received: "
                f"global_tokens={global_tokens!r}, "
                f"attention_implementation={attention_implementation!r}"
            )
        attention_args = dict(attention_args or {})
        self._keep_arguments(locals())

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        check_block_args(
            hidden_dim,
            self.num_heads,
            self.head_dim,
            self.norm,
            self.dropout,
            self.attention_dropout,
        )
        attention_cls, extra = MultiHeadAttention, {}
        if self.attention_implementation == "local":
            attention_cls = LocalMultiHeadAttention
            extra = {"global_tokens": self.global_tokens}
        args = dict(
            self._attention_arguments(),
            rotary_max_wavelength=self.rotary_max_wavelength,
            rotary_scaling_factor=self.rotary_scaling_factor,
            use_alibi=self.use_alibi,
            sliding_window=self.sliding_window,
            name="self_attention",
            **extra,
        )
        self.self_attention = attention_cls(**{**args, **self.attention_args})
        self.self_attention.build(input_shape)
        self.self_attention_norm = make_norm(
            self.norm, self.layer_norm_epsilon, "self_attention_norm", self.dtype_policy
        )
        self.self_attention_norm.build(input_shape)
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            gated=self.gated_ffn,
            dropout=self.dropout,
            use_bias=self.use_bias,
            name="feed_forward",
            **self._sublayer_arguments(),
        )
        self.feed_forward.build(input_shape)
        self.feed_forward_norm = make_norm(
            self.norm, self.layer_norm_epsilon, "feed_forward_norm", self.dtype_policy
        )
        self.feed_forward_norm.build(input_shape)

    def _sublayer_arguments(self):
        return dict(kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy)

    def _attention_arguments(self):
        """The arguments of the self-attention that the cross-attention shares."""
        return dict(
            num_heads=self.num_heads,
            head_dim=self.head_dim,
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.attention_dropout,
            use_bias=self.use_bias,
            **self._sublayer_arguments(),
        )

    #: Set by `TransformerDecoder` with `post_norms`.
    feed_forward_post_norm = None

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        position_bias=None,
        return_attention_scores=False,
        training=None,
    ):
        result = self._attend(
            inputs,
            training,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            position_bias=position_bias,
            return_attention_scores=return_attention_scores,
        )
        x = self._add_branch(
            inputs, result[0], self.self_attention_norm, self.self_attention_dropout, training
        )
        x = self._feed_forward_branch(x, training)
        return (x, result[-1]) if return_attention_scores else x

    # The residual wiring of every sub-layer: pre-LN `x + branch(norm(x))`, post-LN
    # `norm(x + branch(x))`.
    def _branch_input(self, x, norm):
        return norm(x) if self.normalize_first else x

    def _add_branch(self, residual, branch, norm, dropout=None, training=None, post_norm=None):
        if post_norm is not None:
            branch = post_norm(branch)
        if dropout is not None:
            branch = dropout(branch, training=training)
        x = residual + branch
        return x if self.normalize_first else norm(x)

    def _attend(self, inputs, training, **arguments):
        """The self-attention on the (pre-normalised) inputs; its results as a tuple."""
        x = self._branch_input(inputs, self.self_attention_norm)
        result = self.self_attention(x, training=training, **arguments)
        return result if isinstance(result, tuple) else (result,)

    def _feed_forward_branch(self, x, training):
        branch = self.feed_forward(self._branch_input(x, self.feed_forward_norm), training=training)
        return self._add_branch(
            x, branch, self.feed_forward_norm, post_norm=self.feed_forward_post_norm
        )
