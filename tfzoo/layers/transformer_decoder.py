import keras
from keras import ops

from tfzoo.layers._block_config import make_norm
from tfzoo.layers.multi_head_attention import MultiHeadAttention
from tfzoo.layers.transformer_encoder import TransformerEncoder


@keras.saving.register_keras_serializable(package="tfzoo")
class TransformerDecoder(TransformerEncoder):
    """A Transformer decoder block: causal self-attention, optional cross-attention, feed-forward.

    Takes every argument of `tfzoo.layers.TransformerEncoder`, plus `use_cross_attention`,
    `post_norms` and `parallel_residual`. With a
    key/value cache it decodes incrementally: the cache holds the keys and values of every
    position so far, and `cache_update_index` says where the new ones go. The cache is a plain
    tensor updated with `slice_update`, so decoding runs inside an XLA-compiled while loop and in
    exported graphs (TFLite `DYNAMIC_UPDATE_SLICE`).

    Args:
        use_cross_attention: bool. Add attention over `encoder_outputs` (encoder-decoder models).
            Defaults to `False`.
        post_norms: bool. With `normalize_first`, also normalize the output of the
            self-attention and of the feed-forward before adding it to the residual stream
            (Gemma 2 and 3: `x + norm(attn(norm(x)))`). Defaults to `False`.
        parallel_residual: bool. With `normalize_first`, the feed-forward reads the block's
            input, not the attention's output: `x + attn(norm1(x)) + ffn(norm2(x))` (GPT-J,
            GPT-NeoX/Pythia). Defaults to `False`.
        **kwargs: the arguments of `TransformerEncoder`.

    Call arguments:
        inputs: float tensor `(batch, seq, hidden)`.
        encoder_outputs: float tensor `(batch, src_seq, hidden)`; needed with cross-attention
            unless `cross_attention_cache` is given.
        padding_mask: bool/int `(batch, seq)`, or `(batch, max_len)` with a cache.
        encoder_padding_mask: bool/int `(batch, src_seq)`.
        attention_mask: bool/int `(batch, seq, key_len)`, combined with the causal mask.
        position_bias: float tensor added to the self-attention logits.
        self_attention_cache: float `(batch, 2, max_len, kv_heads, head_dim)`.
        cache_update_index: int or scalar int tensor.
        cross_attention_cache: float `(batch, 2, src_seq, kv_heads, head_dim)`, from
            `compute_cross_attention_cache`.
        training: bool.

    Returns:
        `outputs`; with a self-attention cache `(outputs, self_attention_cache)`; with
        cross-attention and caches `(outputs, self_attention_cache, cross_attention_cache)`.

    Example:

    >>> block = tfzoo.layers.TransformerDecoder(num_heads=2, intermediate_dim=64, normalize_first=True)
    >>> y = block(np.ones((2, 7, 16), "float32"))
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        use_cross_attention=False,
        post_norms=False,
        parallel_residual=False,
        **kwargs,
    ):
        super().__init__(num_heads, intermediate_dim, **kwargs)
        if (post_norms or parallel_residual) and not self.normalize_first:
            raise ValueError(
                "`post_norms` and `parallel_residual` need pre-norm blocks: pass "
                "normalize_first=True."
            )
        if parallel_residual and use_cross_attention:
            raise ValueError("`parallel_residual` does not combine with cross-attention.")
        self._keep_arguments(locals())

    def build(self, input_shape):
        super().build(input_shape)
        self.self_attention_post_norm = self.feed_forward_post_norm = None
        if self.post_norms:
            self.self_attention_post_norm, self.feed_forward_post_norm = (
                make_norm(self.norm, self.layer_norm_epsilon, name, self.dtype_policy)
                for name in ("self_attention_post_norm", "feed_forward_post_norm")
            )
            self.self_attention_post_norm.build(input_shape)
            self.feed_forward_post_norm.build(input_shape)
        if self.use_cross_attention:
            self.cross_attention = MultiHeadAttention(
                name="cross_attention", **self._attention_arguments()
            )
            self.cross_attention.build(input_shape, input_shape)
            self.cross_attention_norm = make_norm(
                self.norm, self.layer_norm_epsilon, "cross_attention_norm", self.dtype_policy
            )
            self.cross_attention_norm.build(input_shape)
            self.cross_attention_dropout = keras.layers.Dropout(
                self.dropout, dtype=self.dtype_policy
            )

    def compute_cross_attention_cache(self, encoder_outputs):
        """Keys and values of the encoder output, `(batch, 2, src_seq, kv_heads, head_dim)`.

        Computed once per source and reused at every decoding step.
        """
        attention = self.cross_attention
        return ops.stack(
            [attention.key_dense(encoder_outputs), attention.value_dense(encoder_outputs)], axis=1
        )

    def call(
        self,
        inputs,
        encoder_outputs=None,
        padding_mask=None,
        encoder_padding_mask=None,
        attention_mask=None,
        position_bias=None,
        self_attention_cache=None,
        cache_update_index=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        training=None,
    ):
        if self.use_cross_attention and encoder_outputs is None and cross_attention_cache is None:
            raise ValueError(
                "This decoder block has cross-attention: pass `encoder_outputs` (or a "
                "`cross_attention_cache`)."
            )
        result = self._attend(
            inputs,
            training,
            use_causal_mask=True,
            cache=self_attention_cache,
            cache_update_index=cache_update_index if self_attention_cache is not None else None,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            position_bias=position_bias,
            return_attention_scores=return_attention_scores,
        )
        attended = result[0]
        if self_attention_cache is not None:
            self_attention_cache = result[1]
        scores = result[-1] if return_attention_scores else None
        if self.parallel_residual:
            if self.self_attention_post_norm is not None:
                attended = self.self_attention_post_norm(attended)
            branch = self.feed_forward(self.feed_forward_norm(inputs), training=training)
            x = inputs + self.self_attention_dropout(attended, training=training) + branch
            return self._outputs(x, self_attention_cache, None, scores)
        x = self._add_branch(
            inputs,
            attended,
            self.self_attention_norm,
            self.self_attention_dropout,
            training,
            post_norm=self.self_attention_post_norm,
        )

        if self.use_cross_attention:
            if cross_attention_cache is None and self_attention_cache is not None:
                cross_attention_cache = self.compute_cross_attention_cache(encoder_outputs)
            query = self._branch_input(x, self.cross_attention_norm)
            crossed = self.cross_attention(
                query,
                value=encoder_outputs if encoder_outputs is not None else query,
                padding_mask=encoder_padding_mask,
                cache=cross_attention_cache,
                training=training,
            )
            if cross_attention_cache is not None:
                crossed = crossed[0]
            x = self._add_branch(
                x, crossed, self.cross_attention_norm, self.cross_attention_dropout, training
            )

        x = self._feed_forward_branch(x, training)
        return self._outputs(x, self_attention_cache, cross_attention_cache, scores)

    def _outputs(self, x, self_attention_cache, cross_attention_cache, scores):
        outputs = (x,)
        if self_attention_cache is not None:
            outputs += (self_attention_cache,)
            if self.use_cross_attention:
                outputs += (cross_attention_cache,)
        if scores is not None:
            outputs += (scores,)
        return outputs[0] if len(outputs) == 1 else outputs
