"""The TFLite model inside a `.litertlm` bundle, with the tensor conventions LiteRT-LM reads.

LiteRT-LM's executor drives a prefill/decode model by tensor names:

* signatures named `prefill_<S>` (one per prefill length `S`, read from the token input) and
  `decode`;
* inputs `tokens` int32 `(1, S)` and `input_pos` int32 `(S,)` (the position of each token;
  the runtime fills the unused tail of a prefill chunk with token 0 at position 0);
* per layer `i` the caches `kv_cache_k_<i>` float32 `(1, kv_heads, T, head_dim)` and
  `kv_cache_v_<i>` float32 `(1, kv_heads, head_dim, T)`, each an input and an output of the same
  name (the runtime swaps the buffers after each call);
* output `logits` float32 `(1, S, vocab)`.

`T` is `max_tokens`, the context the runtime can fill. The model runs the Keras model's own
layers (`TransformerDecoder` blocks with their key/value-cache path, as `CausalLM.generate`
does) and the task's head, so every option of the decoder families built on
`tfzoo.models.DecoderBackbone` (GPT-2, GPT-NeoX and the Llama-derived families: q/k norm,
attention and final-logit soft-capping, sliding-window layers, partial rotary, post-norms,
parallel residual, scaled embeddings, Gemma's `1 + w` norm, tied or separate heads) is the
Keras model's own.

The caches stay in the runtime's layout: each layer writes its new keys and values into them
(`DYNAMIC_UPDATE_SLICE`) and attends against them as stored (`_native_attention`), so a
`decode` step copies no cache (transposing them into the layers' `(T, kv_heads, head_dim)`
layout and back made LiteRT-LM decode 3.5x slower).

Prefill chunks near the end of the cache: the layers write a chunk of `S` keys with
`DYNAMIC_UPDATE_SLICE` at the chunk's first position, and that op clamps its start so that the
whole chunk fits. A chunk that starts at `p > T - S` (real tokens up to `T`, padding after)
would be written at `T - S`, shifting the real keys. The prefill signatures therefore run on a
cache `S` positions longer than `T` and drop the extra positions afterwards: the start is never
clamped, and only the padding tail (positions `>= T`, which no real query sees) is dropped.
Learned position tables are read with a clipped gather for the same reason.
"""

import numpy as np

DEFAULT_PREFILL_LENGTHS = (32, 128, 512)


def cache_names(num_layers):
    """The cache tensor names, in order: `kv_cache_k_0, kv_cache_v_0, kv_cache_k_1, ...`."""
    names = []
    for i in range(num_layers):
        names += [f"kv_cache_k_{i}", f"kv_cache_v_{i}"]
    return names


def cache_shapes(backbone, max_tokens):
    """`{name: shape}` of the runtime's cache tensors for `backbone` at `max_tokens`."""
    kv, d, t = backbone.num_key_value_heads, backbone.head_dim, max_tokens
    shapes = {}
    for i in range(backbone.num_layers):
        shapes[f"kv_cache_k_{i}"] = (1, kv, t, d)
        shapes[f"kv_cache_v_{i}"] = (1, kv, d, t)
    return shapes


def quantize_rows(table):
    """Symmetric int8 with one float32 scale per row: `(int8 (V, H), float32 scales (V, 1))`,
    `table ~= int8 * scales` (a row of zeros gets scale 1)."""
    table = np.asarray(table, np.float32)
    scales = np.abs(table).max(axis=1, keepdims=True) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    return np.clip(np.round(table / scales), -127, 127).astype(np.int8), scales


def _embed(backbone, tokens, start, int8_table=None):
    """Token (+ position) embeddings of `tokens` at positions `start, start + 1, ...`.

    With `int8_table` (`(int8 rows, float32 row scales)`) the token rows are gathered as int8
    and scaled, so the file holds the table at one byte per value.
    """
    import tensorflow as tf

    from tfzoo.layers.position_embedding import PositionEmbedding

    emb = backbone.embeddings
    if int8_table is None:
        x = emb.token_embedding(tokens)
    else:
        rows, scales = int8_table
        x = tf.cast(tf.gather(rows, tokens), tf.float32) * tf.gather(scales, tokens)
        x = tf.cast(x, emb.token_embedding.compute_dtype)
    if emb.scale_embeddings:
        x = x * (emb.hidden_dim**0.5)
    position = getattr(emb, "position_embedding", None)
    if position is None:  # RoPE in the attention
        return x
    if not isinstance(position, PositionEmbedding):  # a fixed encoding
        return x + position(x, start_index=start)
    table = tf.convert_to_tensor(position.position_embeddings)
    rows = start + tf.range(tf.shape(tokens)[1])
    # Padding past the table's end reads its last row instead of clamping the whole slice.
    rows = tf.minimum(rows, tf.shape(table)[0] - 1)
    return x + tf.cast(tf.gather(table, rows), x.dtype)[tf.newaxis]


def _step(causal_lm, tokens, input_pos, caches, max_tokens, int8_table=None):
    """Runs `tokens` at positions `input_pos[0] ...` against the runtime-layout caches."""
    import tensorflow as tf

    from tfzoo.models.causal_lm import lm_logits

    b = causal_lm.backbone
    steps = tokens.shape[1]
    start = input_pos[0]
    x = _embed(b, tokens, start, int8_table)
    outputs = {}
    for i, layer in enumerate(b.transformer_layers):
        k, v = caches[f"kv_cache_k_{i}"], caches[f"kv_cache_v_{i}"]
        if steps > 1:  # room for a chunk that starts near the end (see the module docstring)
            k = tf.pad(k, [[0, 0], [0, 0], [0, steps], [0, 0]])
            v = tf.pad(v, [[0, 0], [0, 0], [0, 0], [0, steps]])
        if _attends_natively(layer.self_attention):
            x, k, v = _native_layer(layer, x, k, v, start)
        else:
            x, k, v = _transposed_layer(layer, x, k, v, start, b.compute_dtype)
        outputs[f"kv_cache_k_{i}"] = k[:, :, :max_tokens] if steps > 1 else k
        outputs[f"kv_cache_v_{i}"] = v[..., :max_tokens] if steps > 1 else v
    outputs["logits"] = lm_logits(b, b.layer_norm(x))  # soft-capped if the family is
    return outputs


def _attends_natively(attention):
    """Whether `_native_attention` reproduces `attention` (tfzoo's own attention, no ALiBi)."""
    from tfzoo.layers.multi_head_attention import MultiHeadAttention

    return type(attention) is MultiHeadAttention and attention.alibi is None


def _native_layer(layer, x, k_cache, v_cache, start):
    """Runs the decoder block `layer` with its self-attention computed by `_native_attention`
    on the runtime-layout caches (the block's own code for norms, residuals and MLP)."""
    from unittest import mock

    import tensorflow as tf

    attention = layer.self_attention
    state = {}

    def call(query, cache=None, **kwargs):  # `_step` passes no padding/attention mask or bias
        out, state["k"], state["v"] = _native_attention(attention, query, k_cache, v_cache, start)
        return out, cache

    marker = tf.zeros((1,), x.dtype)  # makes the block take its cache path; passed through
    with mock.patch.object(attention, "call", call):
        x, _ = layer(x, self_attention_cache=marker, cache_update_index=start)
    return x, state["k"], state["v"]


def _native_attention(attention, query, k_cache, v_cache, start):
    """`MultiHeadAttention.call` with a cache (causal self-attention, inference) on the runtime's
    layout: keys `(1, kv, T, D)`, values `(1, kv, D, T)`.

    The new keys and values are written in place (`DYNAMIC_UPDATE_SLICE`), and attention runs
    against the whole caches as they are stored: the query heads are grouped per key/value head
    (`(1, kv, groups * S, D)`, head `h` uses key/value head `h // groups` as `ops.repeat` does),
    so neither the caches are transposed nor the key/value heads repeated.

    Returns:
        `(output, k_cache, v_cache)`.
    """
    import math

    import tensorflow as tf

    from tfzoo.layers.multi_head_attention import mask_logits, soft_cap

    a = attention
    dtype = a.compute_dtype
    q = a.query_dense(query)  # (1, S, H, D)
    k = a.key_dense(query)  # (1, S, kv, D)
    v = a.value_dense(query)
    if a.query_norm is not None:
        q, k = a.query_norm(q), a.key_norm(k)
    if a.rotary is not None:
        q, k = a.rotary(q, start_index=start), a.rotary(k, start_index=start)
    k_cache = _update(k_cache, tf.transpose(k, (0, 2, 1, 3)), (0, 0, start, 0))
    v_cache = _update(v_cache, tf.transpose(v, (0, 2, 3, 1)), (0, 0, 0, start))
    steps, total = tf.shape(q)[1], k_cache.shape[2]
    heads, kv, d = a.num_heads, a.num_key_value_heads, a.head_dim
    scale = 1.0 / math.sqrt(a.query_scale_dim or a.head_dim)
    q = tf.transpose(q * tf.cast(scale, q.dtype), (0, 2, 1, 3))  # (1, H, S, D)
    q = tf.reshape(q, (1, kv, -1, d))  # (1, kv, groups * S, D)
    keys, values = tf.cast(k_cache, dtype), tf.cast(v_cache, dtype)
    logits = tf.cast(tf.matmul(q, keys, transpose_b=True), tf.float32)  # (1, kv, G*S, T)
    logits = tf.reshape(logits, (1, heads, steps, total))
    if a.logit_soft_cap is not None:
        logits = soft_cap(logits, a.logit_soft_cap)
    mask = a._compute_mask(steps, total, start, None, None, use_causal_mask=True)
    probs = tf.nn.softmax(mask_logits(logits, mask), axis=-1)
    probs = tf.reshape(tf.cast(probs, dtype), (1, kv, -1, total))
    out = tf.matmul(probs, values, transpose_b=True)  # (1, kv, G*S, D)
    out = tf.transpose(tf.reshape(out, (1, heads, steps, d)), (0, 2, 1, 3))  # (1, S, H, D)
    return a.output_dense(out), k_cache, v_cache


def _update(cache, new, index):
    """Writes `new` (compute dtype) into the float32 `cache` at `index` (DYNAMIC_UPDATE_SLICE)."""
    from keras import ops

    return ops.slice_update(cache, index, ops.cast(new, cache.dtype))


def _transposed_layer(layer, x, k, v, start, dtype):
    """Any other attention: the block's own cache path on its `(1, 2, T, kv, D)` layout, the
    caches transposed into it and back (a copy of the cache per call)."""
    import tensorflow as tf

    k = tf.transpose(k, (0, 2, 1, 3))  # (1, T, kv, d)
    v = tf.transpose(v, (0, 3, 1, 2))  # (1, T, kv, d)
    cache = tf.cast(tf.stack([k, v], axis=1), dtype)
    x, cache = layer(x, self_attention_cache=cache, cache_update_index=start)
    cache = tf.cast(cache, tf.float32)
    return x, tf.transpose(cache[:, 0], (0, 2, 1, 3)), tf.transpose(cache[:, 1], (0, 2, 3, 1))


def build_module(causal_lm, max_tokens, prefill_lengths, int8_embedding=False):
    """A `tf.Module` holding the weights once and the traced `prefill_<S>` / `decode` functions.

    `int8_embedding`: the token embedding is read from an int8 copy of the table with per-row
    scales (`quantize_rows`); a tied LM head still multiplies by the model's float table (the
    weight quantizer makes that one int8).

    Returns:
        `(module, {signature_name: concrete_function})`.
    """
    import tensorflow as tf

    from tfzoo.layers import runtime_checks

    shapes = cache_shapes(causal_lm.backbone, max_tokens)
    int8_table = None
    if int8_embedding:
        rows, scales = quantize_rows(causal_lm.backbone.token_embedding.embeddings)
        int8_table = (tf.Variable(rows, trainable=False), tf.Variable(scales, trainable=False))

    def make(name, steps):
        specs = [
            tf.TensorSpec((1, steps), tf.int32, name="tokens"),
            tf.TensorSpec((steps,), tf.int32, name="input_pos"),
        ] + [tf.TensorSpec(shape, tf.float32, name=name) for name, shape in shapes.items()]

        def fn(tokens, input_pos, *caches):
            caches = dict(zip(shapes, caches))
            return _step(causal_lm, tokens, input_pos, caches, max_tokens, int8_table)

        fn.__name__ = name  # the converter keys each signature by its function's name
        return tf.function(fn, input_signature=specs)

    functions = {f"prefill_{s}": make(f"prefill_{s}", s) for s in prefill_lengths}
    functions["decode"] = make("decode", 1)
    with runtime_checks(False):  # TFLite has no assert op
        concrete = {name: fn.get_concrete_function() for name, fn in functions.items()}
    module = tf.Module()
    # The converter finds the initial values only of variables the module tracks.
    module.weights = [getattr(v, "value", v) for v in causal_lm.variables]
    module.weights += list(int8_table or ())
    for name, fn in functions.items():
        setattr(module, name, fn)
    return module, concrete


def convert(causal_lm, max_tokens, prefill_lengths, int8_embedding=False):
    """The TFLite flatbuffer (bytes) of `causal_lm` with LiteRT-LM's conventions: float32
    weights, the token embedding table int8 with `int8_embedding` (see `build_module`)."""
    import tensorflow as tf

    module, concrete = build_module(causal_lm, max_tokens, prefill_lengths, int8_embedding)
    names = list(concrete)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [concrete[n] for n in names], module
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter._experimental_unfold_large_splat_constant = True
    content = converter.convert()
    return _rename_signatures(content, names)


def _rename_signatures(content, names):
    """Checks that the file's signatures are `names` (the converter keys them by function)."""
    from ai_edge_litert.interpreter import Interpreter

    found = sorted(Interpreter(model_content=content).get_signature_list())
    if found != sorted(names):
        raise RuntimeError(f"The converter wrote signatures {found}, expected {sorted(names)}.")
    return content


def step_reference(causal_lm, tokens, start, max_tokens):
    """Logits of `tokens` (a list of ids) at positions `start ...` after `start` cached tokens
    of zeros: a Keras reference for a single call (used in tests)."""
    cache = causal_lm.init_cache(1, max_tokens)
    logits, _, _ = causal_lm.call_with_cache(np.array([tokens], "int32"), cache, start)
    return np.asarray(logits)
