import inspect

import keras
import numpy as np
from keras import ops

from tfzoo.layers.multi_head_attention import soft_cap
from tfzoo.models.task import Task

SAMPLERS = ("greedy", "top_k", "top_p", "random")


@keras.saving.register_keras_serializable(package="tfzoo")
class CausalLM(Task):
    """A decoder-only language model: a GPT or Llama backbone and a vocabulary head.

    The head is the transposed token embedding when the backbone ties its embedding (GPT-2), or
    the embedding's separate reverse kernel otherwise (Llama). Generation runs one XLA-compiled
    while loop over a key/value cache (`generate`); the same cached step (`call_with_cache`)
    backs the TFLite prefill/decode signatures and the ONNX past-key-value graph.

    Args:
        backbone: a `tfzoo.models.GPTBackbone` or `tfzoo.models.LlamaBackbone`.
        end_token_id: int, list of ints, or `None`. Default stop ids of `generate` (a chat
            checkpoint's end-of-turn ids; set by `tfzoo.from_pretrained` for GGUF files).
            Defaults to `None` (no stop).

    Outputs logits `(batch, seq, vocabulary_size)` in float32.

    Example:

    >>> lm = tfzoo.build("gpt2", task="causal_lm", num_layers=2)
    >>> out = lm.generate(np.array([[464, 2068]]), max_new_tokens=5)
    >>> out["token_ids"].shape
    (1, 7)
    """

    def __init__(self, backbone, end_token_id=None, **kwargs):
        # === Layers ===
        self.backbone = backbone
        # === Functional Model ===
        inputs = backbone.input
        hidden = backbone(inputs)
        logits = lm_logits(backbone, hidden)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        end_ids = _end_token_ids(end_token_id, backbone.vocabulary_size)
        self.end_token_id = list(end_ids) if end_token_id is not None else None
        self._generate_functions = {}
        self._generate_traces = 0  # functions traced by `generate` (each one compiles once)

    def get_config(self):
        config = super().get_config()
        if self.end_token_id is not None:
            config["end_token_id"] = self.end_token_id
        return config

    # --- incremental decoding -------------------------------------------------------------
    def init_cache(self, batch_size, max_length=None):
        """Zeros of shape `(batch, num_layers, 2, max_length, num_key_value_heads, head_dim)`."""
        b = self.backbone
        if max_length is None:  # not `or`: a traced length is a tensor, and `or` makes a tf.cond
            max_length = b.max_sequence_length
        shape = (batch_size, b.num_layers, 2, max_length, b.num_key_value_heads, b.head_dim)
        return ops.zeros(shape, dtype=b.compute_dtype)

    def call_with_cache(self, token_ids, cache, cache_update_index, padding_mask=None):
        """Runs `token_ids` at positions `cache_update_index ...` against the cache.

        Args:
            token_ids: int tensor `(batch, step_len)`.
            cache: float tensor from `init_cache`.
            cache_update_index: int or scalar int tensor; position of `token_ids[:, 0]`.
            padding_mask: optional int/bool `(batch, max_length)` over the whole cache, for
                prompts with padding on the left.

        Returns:
            `(logits, hidden_states, cache)`: logits `(batch, step_len, vocab)` float32, hidden
            states `(batch, step_len, hidden)` and the updated cache.
        """
        b = self.backbone
        x = b.embeddings(token_ids, start_index=cache_update_index)
        new_caches = []
        for i, layer in enumerate(b.transformer_layers):
            x, layer_cache = layer(
                x,
                padding_mask=padding_mask,
                self_attention_cache=cache[:, i, ...],
                cache_update_index=cache_update_index,
            )
            new_caches.append(layer_cache)
        hidden = b.layer_norm(x)
        cache = ops.stack(new_caches, axis=1)
        logits = lm_logits(b, hidden)
        return logits, hidden, cache

    # --- generation ------------------------------------------------------------------------
    def generate(
        self,
        token_ids,
        max_new_tokens=20,
        padding_mask=None,
        sampler="greedy",
        temperature=None,
        top_k=None,
        top_p=None,
        end_token_id=None,
        pad_token_id=None,
        seed=None,
        jit_compile=True,
        stream=None,
    ):
        """Continues each prompt by `max_new_tokens` tokens with a key/value cache.

        Two compiled functions do the work: a prefill of `PREFILL_CHUNK` prompt tokens at a
        time, and the decoding loop (one cached step per token). Both are traced for the
        batch size and a cache length rounded up to a power of two (at least 256, at most
        `max_sequence_length`), not for the prompt length: a chat whose prompt grows turn
        after turn compiles again only when the conversation crosses 256, 512, 1024, ...
        tokens (`stream_generate` shares the same functions).

        Args:
            token_ids: int array `(batch, prompt_len)` (or a list of lists of different
                lengths, padded here). Prompts of different lengths are right-padded; give
                `padding_mask` then.
            max_new_tokens: int. Tokens to add after the longest prompt.
            padding_mask: int/bool `(batch, prompt_len)`, 1 for prompt tokens.
            sampler: string. `"greedy"`, `"top_k"`, `"top_p"` (nucleus) or `"random"`.
            temperature: float > 0. Logits are divided by it before sampling. Defaults to `1.0`
                for the sampling samplers; `"greedy"` takes none.
            top_k: int >= 1. Candidates kept by `"top_k"` (only). Defaults to `50`.
            top_p: float in (0, 1]. Probability mass kept by `"top_p"` (only). Defaults to
                `0.9`.
            end_token_id: int, sequence of ints, or `None`. A sequence stops after emitting
                one of them (e.g. a chat model's end-of-turn and end-of-text ids:
                `tokenizer.end_token_ids`); generation stops when every sequence has stopped.
                `None` uses the model's `end_token_id`; `()` never stops early.
            pad_token_id: int. Written after the end token. Defaults to the (first) end token
                id, or 0.
            seed: int or `None`. Seed of the sampler (sampling is deterministic given it, with
                or without `stream`).
            jit_compile: bool. Compile with XLA. Defaults to `True`.
            stream: callable or `None`. Called as each token is produced with a list holding,
                for each prompt, the list of its new token ids (empty for a prompt still
                reading its own tokens or already ended; the end token itself is included).
                The decoding loop then returns to Python after every token.

        Returns:
            A dict with `token_ids` `(batch, prompt_len + max_new_tokens)` int32 and
            `padding_mask` (1 for prompt and generated tokens, 0 after the end token).

        Raises:
            ValueError: an unknown sampler; a `temperature`, `top_k`, `top_p` or
                `max_new_tokens` out of range; or a sampling argument that the chosen sampler
                does not use (e.g. `top_p` with the default `sampler="greedy"`), which would
                otherwise be ignored without a word.
        """
        if stream is not None and not callable(stream):
            raise ValueError(f"`stream` must be a callable or None. Received: stream={stream!r}")
        steps = self._generation(
            token_ids,
            max_new_tokens,
            stream is not None,
            padding_mask=padding_mask,
            sampler=sampler,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            end_token_id=end_token_id,
            pad_token_id=pad_token_id,
            seed=seed,
            jit_compile=jit_compile,
        )
        for new in steps:
            if stream is not None:
                stream(new)
        return steps.result

    def stream_generate(self, token_ids, max_new_tokens=20, **kwargs):
        """`generate`, as an iterator of the new tokens.

        Takes `generate`'s arguments (except `stream`) and yields, as each token is produced,
        a list holding for each prompt the list of its new token ids (see `generate`'s
        `stream`). The arguments are checked on the first `next`.

        Example:

        >>> lm = tfzoo.build("gpt2", task="causal_lm", num_layers=2)
        >>> for new in lm.stream_generate(np.array([[464, 2068]]), max_new_tokens=3):
        ...     print(new[0])  # doctest: +SKIP
        [1234]
        """
        yield from self._generation(token_ids, max_new_tokens, True, **kwargs)

    def _generation(self, token_ids, max_new_tokens, streaming, **options):
        """Checks the arguments and returns a `_Generation` (an iterator of new tokens)."""
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(CausalLM.generate).parameters.items()
            if name not in ("self", "token_ids", "max_new_tokens", "stream")
        }
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise TypeError(f"Unexpected keyword arguments {unknown} (see `generate`).")
        options = {**defaults, **options}
        padding_mask, sampler = options["padding_mask"], options["sampler"]
        temperature, top_k, top_p = options["temperature"], options["top_k"], options["top_p"]
        end_token_id, pad_token_id = options["end_token_id"], options["pad_token_id"]
        seed, jit_compile = options["seed"], options["jit_compile"]
        temperature, top_k, top_p = _sampler_arguments(
            sampler, temperature, top_k, top_p, max_new_tokens
        )
        if sampler == "top_k" and top_k > self.backbone.vocabulary_size:
            raise ValueError(
                f"`top_k` must be at most the vocabulary size ({self.backbone.vocabulary_size}). "
                f"Received: top_k={top_k}"
            )
        tokens, prompt_mask = _pad_prompts(token_ids, padding_mask)
        if not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(
                f"`token_ids` must be integers (token ids), but have dtype {tokens.dtype}. "
                f"Tokenize the text first (e.g. `tokenizer(texts)`) and pass the ids."
            )
        if tokens.ndim != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
            raise ValueError(
                f"`token_ids` must hold at least one prompt of at least one token; received "
                f"shape {tokens.shape} (an empty batch or empty prompts)."
            )
        vocab = self.backbone.vocabulary_size
        if tokens.size and (tokens.min() < 0 or tokens[prompt_mask].max() >= vocab):
            raise ValueError(
                f"Prompt token ids must be in [0, {vocab}); found min {tokens.min()}, max "
                f"{tokens[prompt_mask].max()}. Use the tokenizer that matches this model."
            )
        lengths = prompt_mask.sum(axis=1)
        if lengths.min() < 1:
            raise ValueError("Every prompt needs at least one token.")
        batch, prompt_len = tokens.shape
        total = prompt_len + max_new_tokens
        max_length = self.backbone.max_sequence_length
        if total > max_length:
            raise ValueError(
                f"prompt_len + max_new_tokens = {total} exceeds max_sequence_length="
                f"{max_length}. Generate fewer tokens or shorten the prompt."
            )
        if end_token_id is None:
            end_token_id = self.end_token_id
        end_ids = _end_token_ids(end_token_id, vocab)
        pad = pad_token_id if pad_token_id is not None else (end_ids[0] if end_ids else 0)
        cache_length = _bucket(total, MIN_CACHE_LENGTH, max_length)
        buffer = np.full((batch, cache_length), pad, dtype="int32")
        buffer[:, :prompt_len] = np.where(prompt_mask, tokens, pad)
        mask = np.zeros((batch, cache_length), dtype=bool)
        mask[:, :prompt_len] = prompt_mask

        key = (sampler, float(temperature), top_k, float(top_p), end_ids, pad, jit_compile)
        fns = self._generate_functions.get(key)
        if fns is None:
            fns = self._make_generate_fns(*key)
            self._generate_functions[key] = fns
        seed = np.asarray([seed if seed is not None else np.random.randint(2**31 - 1), 0], "int32")
        return _Generation(fns, buffer, mask, lengths, total, seed, streaming)

    def _make_generate_fns(self, sampler, temperature, top_k, top_p, end_ids, pad, jit_compile):
        """`(prefill, decode)`: the two functions `generate` runs, traced per cache shape."""

        def prefill_fn(tokens, cache, index):
            # One chunk of the prompt at `index ...`. Positions after a prompt hold padding;
            # the decoding steps rewrite them before any query attends to them.
            self._generate_traces += 1
            logits, _, cache = self.call_with_cache(tokens, cache, index)
            return logits, cache

        def decode_fn(tokens, valid, prompt_mask, cache, logits, done, index, stop, seed):
            self._generate_traces += 1

            def cond(index, tokens, valid, cache, logits, done):
                return ops.logical_and(index < stop, ops.logical_not(ops.all(done)))

            def body(index, tokens, valid, cache, logits, done):
                step_seed = seed + ops.stack([0, index])
                chosen = _sample(logits, sampler, temperature, top_k, top_p, step_seed)
                in_prompt = ops.take(prompt_mask, index, axis=1)
                current = ops.take(tokens, index, axis=1)
                chosen = ops.where(in_prompt, current, chosen)
                chosen = ops.where(done, pad, chosen)
                valid = ops.slice_update(valid, (0, index), ops.logical_not(done)[:, None])
                if end_ids:
                    is_end = ops.any(
                        ops.equal(chosen[:, None], ops.convert_to_tensor(end_ids, "int32")), axis=1
                    )
                    done = ops.logical_or(done, ops.logical_and(ops.logical_not(in_prompt), is_end))
                tokens = ops.slice_update(tokens, (0, index), ops.cast(chosen, "int32")[:, None])
                step_logits, _, cache = self.call_with_cache(
                    ops.cast(chosen, "int32")[:, None], cache, index
                )
                return index + 1, tokens, valid, cache, step_logits[:, 0, :], done

            return ops.while_loop(cond, body, (index, tokens, valid, cache, logits, done))

        init = self.init_cache
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            compile = dict(jit_compile=jit_compile, reduce_retracing=False)
            return init, tf.function(prefill_fn, **compile), tf.function(decode_fn, **compile)
        return init, prefill_fn, decode_fn


MIN_CACHE_LENGTH = 256  # smallest cache `generate` compiles for (then 512, 1024, ...)
PREFILL_CHUNK = 64  # prompt tokens per prefill call


def _bucket(n, smallest, largest):
    """The power of two times `smallest` that holds `n`, at most `largest`."""
    size = smallest
    while size < n:
        size *= 2
    return min(size, largest)


class _Generation:
    """The Python side of `generate`: prefill chunks, then decoding calls; an iterator of the
    new tokens per step (or of one list per call without streaming), `result` at the end."""

    def __init__(self, fns, buffer, mask, lengths, total, seed, streaming):
        self.fns, self.buffer, self.mask, self.lengths = fns, buffer, mask, lengths
        self.total, self.seed, self.streaming = total, seed, streaming
        self.result = None

    def __iter__(self):
        init, prefill, decode = self.fns
        batch, length = self.buffer.shape
        start = int(self.lengths.min())
        chunk = min(PREFILL_CHUNK, length)
        cache = init(batch, length)
        logits = None
        # The chunks cover positions 0 .. start - 1 (the last one may overlap the one before:
        # recomputing a position gives the same keys and values).
        for begin in range(0, start, chunk):
            begin = min(begin, length - chunk)
            step_logits, cache = prefill(
                self.buffer[:, begin : begin + chunk], cache, np.int32(begin)
            )
            if begin <= start - 1 < begin + chunk:
                logits = ops.take(step_logits, start - 1 - begin, axis=1)
        tokens, valid = self.buffer, self.mask
        done = np.zeros((batch,), dtype=bool)
        index = start
        while index < self.total:
            stop = index + 1 if self.streaming else self.total
            before = index
            index, tokens, valid, cache, logits, done = decode(
                tokens, valid, self.mask, cache, logits, done, np.int32(index), np.int32(stop),
                self.seed,
            )  # fmt: skip
            index = int(index)
            if self.streaming:
                yield self._new_tokens(tokens, valid, before, index)
            if index < stop:  # every sequence has ended
                break
        self.result = {
            "token_ids": ops.convert_to_numpy(tokens)[:, : self.total],
            "padding_mask": ops.convert_to_numpy(valid)[:, : self.total].astype("int32"),
        }

    def _new_tokens(self, tokens, valid, begin, end):
        tokens, valid = ops.convert_to_numpy(tokens), ops.convert_to_numpy(valid)
        new = []
        for row, length in enumerate(self.lengths):
            first = max(begin, int(length))
            new.append([int(t) for t, v in zip(tokens[row, first:end], valid[row, first:end]) if v])
        return new


def lm_logits(backbone, hidden):
    """float32 vocabulary logits of `hidden`: the (tied or separate) head, soft-capped if the
    backbone says so (Gemma 2's `final_logit_soft_cap`)."""
    logits = ops.cast(backbone.token_embedding(hidden, reverse=True), "float32")
    cap = getattr(backbone, "final_logit_soft_cap", None)
    return logits if cap is None else soft_cap(logits, cap)


def _end_token_ids(end_token_id, vocabulary_size):
    """`end_token_id` (None, an int or a sequence of ints) as a tuple of distinct ints."""
    if end_token_id is None:
        return ()
    ids = (end_token_id,) if np.ndim(end_token_id) == 0 else tuple(np.ravel(end_token_id))
    for i in ids:
        if not np.issubdtype(np.asarray(i).dtype, np.integer) or not 0 <= i < vocabulary_size:
            raise ValueError(
                f"`end_token_id` must be ids in [0, {vocabulary_size}). Received: "
                f"end_token_id={end_token_id!r}"
            )
    return tuple(int(i) for i in dict.fromkeys(ids))


def _sampler_arguments(sampler, temperature, top_k, top_p, max_new_tokens):
    """Validates `generate`'s sampling arguments; returns `(temperature, top_k, top_p)`."""
    if sampler not in SAMPLERS:
        raise ValueError(f"Unknown sampler {sampler!r}. Supported: {SAMPLERS}.")
    number = (int, float, np.integer, np.floating)
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, number)
        or not np.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError(
            f"`temperature` must be a number > 0. Received: temperature={temperature!r}"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
    ):
        raise ValueError(f"`top_k` must be an int >= 1. Received: top_k={top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, number) or not 0.0 < top_p <= 1.0
    ):
        raise ValueError(f"`top_p` must be a number in (0, 1]. Received: top_p={top_p!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)):
        raise ValueError(
            f"`max_new_tokens` must be an int >= 1. Received: max_new_tokens={max_new_tokens!r}"
        )
    if max_new_tokens < 1:
        raise ValueError(
            f"`max_new_tokens` must be >= 1. Received: max_new_tokens={max_new_tokens}"
        )
    used = {"greedy": (), "random": ("temperature",), "top_k": ("temperature", "top_k")}
    used["top_p"] = ("temperature", "top_p")
    given = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    unused = [f"{k}={v!r}" for k, v in given.items() if v is not None and k not in used[sampler]]
    if unused:
        users = {"temperature": "'random', 'top_k' or 'top_p'", "top_k": "'top_k'"}
        users["top_p"] = "'top_p'"
        first = unused[0].split("=")[0]
        raise ValueError(
            f"sampler={sampler!r} does not use {', '.join(unused)}. Pass sampler={users[first]} "
            f"to use {first}, or leave it out."
        )
    temperature = 1.0 if temperature is None else float(temperature)
    return temperature, 50 if top_k is None else int(top_k), 0.9 if top_p is None else float(top_p)


def _pad_prompts(token_ids, padding_mask):
    if (
        isinstance(token_ids, (list, tuple))
        and token_ids
        and isinstance(token_ids[0], (list, tuple))
    ):
        longest = max(len(t) for t in token_ids)
        tokens = np.zeros((len(token_ids), longest), dtype="int32")
        mask = np.zeros((len(token_ids), longest), dtype=bool)
        for i, t in enumerate(token_ids):
            tokens[i, : len(t)] = t
            mask[i, : len(t)] = True
        return tokens, mask
    tokens = np.asarray(ops.convert_to_numpy(token_ids))
    if tokens.ndim == 1:
        tokens = tokens[None]
    if padding_mask is None:
        mask = np.ones(tokens.shape, dtype=bool)
    else:
        mask = np.asarray(ops.convert_to_numpy(padding_mask)).astype(bool).reshape(tokens.shape)
    if np.issubdtype(tokens.dtype, np.integer):
        tokens = tokens.astype("int32")
    return tokens, mask


def _uniform(shape, seed):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.random.stateless_uniform(shape, seed=seed, minval=1e-9, maxval=1.0)
    return keras.random.uniform(shape, minval=1e-9, maxval=1.0, seed=int(seed[0]))


def _sample(logits, sampler, temperature, top_k, top_p, seed):
    """Picks one token per row of `logits` `(batch, vocab)`; stateless given `seed`."""
    if sampler == "greedy":
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    logits = logits / temperature
    if sampler == "top_k":
        kth = ops.top_k(logits, top_k, sorted=True)[0][:, -1:]  # (batch, 1)
        logits = ops.where(logits < kth, -1e9, logits)
    elif sampler == "top_p":
        sorted_logits = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # descending
        probs = ops.softmax(sorted_logits, axis=-1)
        before = ops.cumsum(probs, axis=-1) - probs  # mass strictly above each candidate
        kept = ops.where(before < top_p, sorted_logits, 1e9)
        threshold = ops.min(kept, axis=-1, keepdims=True)  # smallest kept logit
        logits = ops.where(logits < threshold, -1e9, logits)
    # Gumbel-max: argmax(logits + Gumbel noise) is a sample of softmax(logits).
    gumbel = -ops.log(-ops.log(_uniform(ops.shape(logits), seed)))
    return ops.cast(ops.argmax(logits + gumbel, axis=-1), "int32")
