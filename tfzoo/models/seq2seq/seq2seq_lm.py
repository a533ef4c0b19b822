import keras
import numpy as np
from keras import ops

from tfzoo.models.task import Task

_NEG = -1e9  # log-probability of an impossible candidate (finite: no NaN in fp arithmetic)


def seq2seq_inputs(source_ids, target_ids, start_token_id, pad_token_id=0):
    """Teacher-forcing batch for `Seq2SeqLM.fit`: `(x, y, sample_weight)` from padded arrays.

    The decoder reads the target shifted right by one, starting with `start_token_id`, and
    learns to predict the target itself; padded target positions get weight 0. Put the end
    token in `target_ids` so the model learns to stop.

    Args:
        source_ids: int array `(batch, src)`, padded with `pad_token_id`.
        target_ids: int array `(batch, tgt)`, padded with `pad_token_id`.
        start_token_id: int. First decoder input (BOS / decoder start).
        pad_token_id: int. Padding id, never a real token. Defaults to `0`.

    Returns:
        `(x, y, sample_weight)`: `x` the four model inputs, `y` `(batch, tgt)` int32 and
        `sample_weight` `(batch, tgt)` float32.

    Example:

    >>> x, y, w = tfzoo.models.seq2seq.seq2seq_inputs([[5, 6, 2]], [[7, 8, 2]], start_token_id=1)
    >>> x["decoder_token_ids"].tolist()
    [[1, 7, 8]]
    """
    source = np.asarray(source_ids)
    target = np.asarray(target_ids)
    for name, array in (("source_ids", source), ("target_ids", target)):
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"`{name}` must be a 2-D integer array (batch, length) padded with "
                f"pad_token_id={pad_token_id}; received dtype {array.dtype}, shape {array.shape}."
            )
    if len(source) != len(target):
        raise ValueError(
            f"{len(source)} sources but {len(target)} targets: pass one target per source."
        )
    target_mask = target != pad_token_id
    decoder_ids = np.full_like(target, pad_token_id)
    decoder_ids[:, 0] = start_token_id
    decoder_ids[:, 1:] = target[:, :-1]
    decoder_mask = np.ones_like(target_mask)
    decoder_mask[:, 1:] = target_mask[:, :-1]
    x = {
        "encoder_token_ids": source.astype("int32"),
        "encoder_padding_mask": (source != pad_token_id).astype("int32"),
        "decoder_token_ids": decoder_ids.astype("int32"),
        "decoder_padding_mask": decoder_mask.astype("int32"),
    }
    return x, target.astype("int32"), target_mask.astype("float32")


@keras.saving.register_keras_serializable(package="tfzoo")
class Seq2SeqLM(Task):
    """Encoder-decoder language model: a `Seq2SeqBackbone` and a tied vocabulary projection.

    Training is teacher forcing (`fit` on `seq2seq_inputs(...)`: the decoder sees the shifted
    target). `generate` encodes the source once, computes every decoder block's cross-attention
    keys/values once, and decodes with a self-attention key/value cache inside one compiled
    while loop, greedily or by beam search with a length penalty.

    Args:
        backbone: a `tfzoo.models.seq2seq.Seq2SeqBackbone`.

    Outputs float32 logits `(batch, tgt, target_vocabulary_size)`.

    Example:

    >>> model = tfzoo.build("transformer-base", task="seq2seq_lm", num_layers=2,
    ...                     hidden_dim=64, num_heads=4, intermediate_dim=128, vocabulary_size=200)
    >>> out = model.generate(np.array([[5, 6, 7]]), max_new_tokens=4, start_token_id=1)
    >>> out["token_ids"].shape
    (1, 5)
    """

    def __init__(self, backbone, **kwargs):
        # === Layers ===
        self.backbone = backbone
        # === Functional Model ===
        inputs = backbone.input
        hidden = backbone(inputs)["decoder_sequence_output"]
        logits = ops.cast(backbone.token_embedding(hidden, reverse=True), "float32")
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self._generate_functions = {}

    # --- the pieces of cached decoding ----------------------------------------------------
    def encode(self, encoder_token_ids, encoder_padding_mask=None):
        """Encoder output `(batch, src, hidden)` (inference mode)."""
        b = self.backbone
        if encoder_padding_mask is None:
            encoder_padding_mask = ops.ones_like(encoder_token_ids)
        x = b.encoder_embeddings(encoder_token_ids)
        bias = None if b.encoder_position_bias is None else b.encoder_position_bias(x)
        for layer in b.encoder_layers:
            x = layer(x, padding_mask=encoder_padding_mask, position_bias=bias)
        return x if b.encoder_norm is None else b.encoder_norm(x)

    def compute_cross_attention_cache(self, encoder_outputs):
        """Keys and values of every decoder block over the encoder output, computed once.

        Returns `(batch, num_decoder_layers, 2, src, num_heads, head_dim)`.
        """
        caches = [
            layer.compute_cross_attention_cache(encoder_outputs)
            for layer in self.backbone.decoder_layers
        ]
        return ops.stack(caches, axis=1)

    def init_cache(self, batch_size, max_length):
        """Zeros `(batch, num_decoder_layers, 2, max_length, num_heads, head_dim)`."""
        b = self.backbone
        shape = (batch_size, b.num_decoder_layers, 2, max_length, b.num_heads, b.head_dim)
        return ops.zeros(shape, dtype=b.compute_dtype)

    def call_with_cache(
        self,
        decoder_token_ids,
        cache,
        cross_attention_cache,
        cache_update_index,
        encoder_padding_mask,
    ):
        """Runs target tokens at positions `cache_update_index ...` against the caches.

        Args:
            decoder_token_ids: int `(batch, step_len)`.
            cache: self-attention cache from `init_cache`.
            cross_attention_cache: from `compute_cross_attention_cache`.
            cache_update_index: int or scalar int tensor; position of `decoder_token_ids[:, 0]`.
            encoder_padding_mask: int/bool `(batch, src)`.

        Returns:
            `(logits, hidden, cache)`: float32 logits `(batch, step_len, vocab)`, hidden states
            `(batch, step_len, hidden)` and the updated self-attention cache.
        """
        b = self.backbone
        x = b.decoder_embeddings(decoder_token_ids, start_index=cache_update_index)
        bias = None
        if b.decoder_position_bias is not None:
            # Queries at cache_update_index ..., keys over the whole cache: (1, H, step, max_len).
            bias = b.decoder_position_bias(x, cache[:, 0, 0], query_start=cache_update_index)
        new_caches = []
        for i, layer in enumerate(b.decoder_layers):
            x, layer_cache, _ = layer(
                x,
                encoder_padding_mask=encoder_padding_mask,
                position_bias=bias,
                self_attention_cache=cache[:, i, ...],
                cache_update_index=cache_update_index,
                cross_attention_cache=cross_attention_cache[:, i, ...],
            )
            new_caches.append(layer_cache)
        if b.decoder_norm is not None:
            x = b.decoder_norm(x)
        logits = ops.cast(b.token_embedding(x, reverse=True), "float32")
        return logits, x, ops.stack(new_caches, axis=1)

    # --- generation -------------------------------------------------------------------------
    def generate(
        self,
        encoder_token_ids,
        max_new_tokens=32,
        start_token_id=1,
        end_token_id=None,
        pad_token_id=0,
        encoder_padding_mask=None,
        num_beams=1,
        length_penalty=1.0,
        jit_compile=True,
    ):
        """Decodes a target for each source, greedily (`num_beams=1`) or by beam search.

        Beam search keeps `num_beams` hypotheses per source; a finished hypothesis (it emitted
        `end_token_id`) stays in the beam with its score frozen. The final choice among the
        beams maximises `log_prob / ((5 + length) / 6) ** length_penalty` (Wu et al., 2016),
        `length` counting generated tokens up to and including the end token. `num_beams=1` is
        exactly greedy decoding.

        Args:
            encoder_token_ids: int array `(batch, src)`.
            max_new_tokens: int. Target tokens to generate after the start token.
            start_token_id: int. The decoder's first input.
            end_token_id: int or `None`. A hypothesis stops after it.
            pad_token_id: int. Written after the end token; also marks source padding when
                `encoder_padding_mask` is not given. Defaults to `0`.
            encoder_padding_mask: int/bool `(batch, src)`. Defaults to `ids != pad_token_id`.
            num_beams: int >= 1. Defaults to `1` (greedy).
            length_penalty: float. `0` ranks beams by total log-probability; larger values
                favour longer outputs. Defaults to `1.0`.
            jit_compile: bool. Compile the decoding loop with XLA. Defaults to `True`.

        Returns:
            A dict with `token_ids` `(batch, 1 + max_new_tokens)` int32 (starting with
            `start_token_id`), `padding_mask` (0 after the end token) and `scores` `(batch,)`
            float32, the length-penalised log-probability of each output.
        """
        b = self.backbone
        source = np.asarray(ops.convert_to_numpy(encoder_token_ids))
        if source.ndim == 1:
            source = source[None]
        if source.ndim != 2 or not np.issubdtype(source.dtype, np.integer):
            raise ValueError(
                f"`encoder_token_ids` must be a 2-D integer array (batch, src); received dtype "
                f"{source.dtype}, shape {source.shape}."
            )
        if source.shape[1] > b.max_sequence_length:
            raise ValueError(
                f"The source has {source.shape[1]} tokens but the model has max_sequence_length="
                f"{b.max_sequence_length}. Truncate the source to {b.max_sequence_length} tokens."
            )
        if not isinstance(num_beams, int) or num_beams < 1:
            raise ValueError(f"`num_beams` must be an int >= 1. Received: num_beams={num_beams}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"`max_new_tokens` must be an int >= 1. Received: {max_new_tokens}")
        if 1 + max_new_tokens > b.max_sequence_length:
            raise ValueError(
                f"1 + max_new_tokens = {1 + max_new_tokens} exceeds max_sequence_length="
                f"{b.max_sequence_length}. Generate fewer tokens."
            )
        vocab = b.target_vocabulary_size
        if num_beams > vocab:
            raise ValueError(
                f"num_beams={num_beams} exceeds the target vocabulary ({vocab}); use at most "
                f"{vocab} beams."
            )
        for name, token in (
            ("start_token_id", start_token_id),
            ("pad_token_id", pad_token_id),
            ("end_token_id", end_token_id),
        ):
            if token is not None and not 0 <= token < vocab:
                raise ValueError(f"`{name}`={token} is outside the target vocabulary [0, {vocab}).")
        if source.min() < 0 or source.max() >= b.vocabulary_size:
            raise ValueError(
                f"Source token ids must be in [0, {b.vocabulary_size}); found min {source.min()}, "
                f"max {source.max()}. Use the tokenizer that matches this model."
            )
        if encoder_padding_mask is None:
            mask = (source != pad_token_id).astype("int32")
        else:
            mask = np.asarray(ops.convert_to_numpy(encoder_padding_mask)).astype("int32")
            if mask.shape != source.shape:
                raise ValueError(
                    f"`encoder_padding_mask` has shape {mask.shape}, the source {source.shape}."
                )
        key = (
            max_new_tokens,
            start_token_id,
            end_token_id,
            pad_token_id,
            num_beams,
            float(length_penalty),
            jit_compile,
        )
        fn = self._generate_functions.get(key)
        if fn is None:
            fn = self._make_generate_fn(*key)
            self._generate_functions[key] = fn
        tokens, valid, scores = fn(source.astype("int32"), mask)
        return {
            "token_ids": ops.convert_to_numpy(tokens),
            "padding_mask": ops.convert_to_numpy(valid).astype("int32"),
            "scores": ops.convert_to_numpy(scores),
        }

    def _make_generate_fn(
        self, max_new_tokens, start, end, pad, num_beams, length_penalty, jit_compile
    ):
        total = 1 + max_new_tokens
        k = num_beams
        vocab = self.backbone.target_vocabulary_size

        def generate_fn(source, source_mask):
            batch = ops.shape(source)[0]
            rows = batch * k  # hypotheses, beam-major within each source: row = i * k + beam
            # Encoder and cross-attention keys/values: once per source, then copied per beam.
            encoded = self.encode(source, source_mask)
            cross = ops.repeat(self.compute_cross_attention_cache(encoded), k, axis=0)
            source_mask_rows = ops.repeat(source_mask, k, axis=0)  # (rows, src)
            cache = self.init_cache(rows, total)
            tokens = ops.concatenate(
                [ops.full((rows, 1), start, "int32"), ops.full((rows, total - 1), pad, "int32")], 1
            )  # (rows, total)
            # Only beam 0 is live at the start: the k beams would otherwise be identical.
            first = ops.concatenate([ops.zeros((1,)), ops.full((k - 1,), _NEG)], 0)
            scores = ops.tile(first[None, :], (batch, 1))  # (batch, k) summed log-probs
            done = ops.zeros((rows,), "bool")
            lengths = ops.zeros((rows,), "float32")
            # Next-token log-probs of a finished hypothesis: only `pad`, at no cost.
            pad_row = ops.where(ops.arange(vocab) == pad, 0.0, _NEG)[None, :]  # (1, vocab)

            def cond(index, tokens, scores, done, lengths, cache):
                return ops.logical_and(index < total - 1, ops.logical_not(ops.all(done)))

            def body(index, tokens, scores, done, lengths, cache):
                current = ops.slice(tokens, (0, index), (rows, 1))  # (rows, 1)
                logits, _, cache = self.call_with_cache(
                    current, cache, cross, index, source_mask_rows
                )
                log_probs = ops.log_softmax(logits[:, 0, :], axis=-1)  # (rows, vocab)
                log_probs = ops.where(done[:, None], pad_row, log_probs)
                candidates = ops.reshape(scores, (rows, 1)) + log_probs
                candidates = ops.reshape(candidates, (batch, k * vocab))
                scores, flat = ops.top_k(candidates, k)  # (batch, k): best k continuations
                beam = flat // vocab
                token = ops.reshape(ops.cast(flat % vocab, "int32"), (rows, 1))
                # Reorder every per-hypothesis state by the beam each winner came from.
                parent = ops.reshape(beam + ops.arange(batch)[:, None] * k, (rows,))
                tokens = ops.take(tokens, parent, axis=0)
                cache = ops.take(cache, parent, axis=0)
                done = ops.take(done, parent, axis=0)
                lengths = ops.take(lengths, parent, axis=0) + ops.cast(
                    ops.logical_not(done), "float32"
                )
                tokens = ops.slice_update(tokens, (0, index + 1), token)
                if end is not None:
                    done = ops.logical_or(done, token[:, 0] == end)
                return index + 1, tokens, scores, done, lengths, cache

            _, tokens, scores, done, lengths, _ = ops.while_loop(
                cond, body, (0, tokens, scores, done, lengths, cache)
            )
            penalty = ops.power((5.0 + ops.reshape(lengths, (batch, k))) / 6.0, length_penalty)
            normalised = scores / penalty  # (batch, k)
            best = ops.argmax(normalised, axis=-1)  # (batch,)
            chosen = ops.cast(best, "int32") + ops.arange(batch, dtype="int32") * k
            tokens = ops.take(tokens, chosen, axis=0)  # (batch, total)
            best_scores = ops.take_along_axis(normalised, best[:, None], axis=1)[:, 0]
            valid = ops.ones_like(tokens, dtype="bool")
            if end is not None:
                # Valid up to and including the first end token (position 0 is the start token).
                is_end = ops.cast(tokens[:, 1:] == end, "int32")
                after_end = ops.cumsum(is_end, axis=1) - is_end > 0
                valid = ops.concatenate(
                    [ops.ones((batch, 1), dtype="bool"), ops.logical_not(after_end)], axis=1
                )
            return tokens, valid, best_scores

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.function(generate_fn, jit_compile=jit_compile, reduce_retracing=True)
        return generate_fn
