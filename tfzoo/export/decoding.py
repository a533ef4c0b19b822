"""Key/value-cache decoding exports: a two-signature TFLite model and a past-key-value ONNX graph.

A language model on a device does not run its full forward pass once per new token: it keeps
the keys and values of every position so far (the cache) and runs one token at a time against
it. This module exports that loop from a `tfzoo.models.CausalLM`:

* `export_tflite_decoder` writes one `.tflite` file with two signatures that pass the cache
  between them, as on-device LLM runtimes expect:

  - `prefill`: `token_ids` int32 `(1, prefill_length)` (the prompt, right-padded) and `length`
    int32 scalar (its real length) -> `logits` float32 `(1, vocab)` of the last real token and
    `cache` float32 `(1, num_layers, 2, max_length, kv_heads, head_dim)`;
  - `decode`: `token_ids` int32 `(1, 1)`, `cache_update_index` int32 scalar (the position of
    that token) and `cache` -> `logits` `(1, vocab)` and the updated `cache`.

* `export_onnx_decoder` writes one ONNX graph used for both phases: `token_ids` int32
  `(batch, sequence)`, `cache` float32 `(batch, num_layers, 2, max_length, kv_heads, head_dim)`
  and `cache_update_index` int32 scalar -> `logits` float32 `(batch, sequence, vocab)` and
  `new_cache` (ONNX forbids an output with the name of an input).

Both call `CausalLM.call_with_cache`, the step that `CausalLM.generate` runs in its compiled
loop, so an exported decoder continues a prompt with exactly the tokens `generate` picks. Each
export proves it before it returns: it greedily continues a sample prompt in the artifact's
runtime (LiteRT, ONNX Runtime) and compares the token ids with `generate` and the step logits
with the Keras forward pass. The artifact is written under a temporary name and moved onto
`path` only once it agrees; otherwise it is kept as `NAME.UNVERIFIED.EXT` and
`tfzoo.export.ExportVerificationError` is raised.

`TFLiteDecoder` and `OnnxDecoder` run the exported files (greedy decoding, with or without
tfzoo's models) and are what the verification uses.
"""

import collections
import logging
import os
import shutil
import tempfile
import time

import numpy as np

from tfzoo.export.verification import COSINE_MIN, FLOAT32_RTOL, ExportVerificationError

TFLITE_QUANTIZE_MODES = (None, "dynamic", "float16")
DEFAULT_PREFILL_LENGTH = 128
VERIFY_PROMPT_LENGTH = 5
VERIFY_NEW_TOKENS = 8


# --- public API ------------------------------------------------------------------------------


def export_tflite_decoder(
    causal_lm,
    path,
    max_length=None,
    prefill_length=None,
    quantize=None,
    overwrite=False,
    threads=2,
):
    """Writes a TFLite model with `prefill` and `decode` signatures sharing a key/value cache.

    The cache goes in and out of each signature as a float32 tensor (state in, state out), so
    the file runs in any LiteRT interpreter with builtin ops only (`DYNAMIC_UPDATE_SLICE`
    writes the new keys and values). Batch size is 1, the usual on-device setting.

    The decoding loop a runtime runs::

        logits, cache = prefill(token_ids=prompt_padded, length=n)
        for index in range(n, n + new_tokens):
            token = argmax(logits)
            logits, cache = decode(token_ids=[[token]], cache_update_index=index, cache=cache)

    A prompt longer than `prefill_length` is prefilled in part and the rest fed through
    `decode` one token at a time (`TFLiteDecoder.generate` does this).

    Args:
        causal_lm: a `tfzoo.models.CausalLM` (from `tfzoo.build(..., task="causal_lm")`).
        path: str. The `.tflite` file to write.
        max_length: int. Positions in the cache (prompt plus generated tokens). Defaults to
            the backbone's `max_sequence_length`.
        prefill_length: int. Tokens the `prefill` signature takes at once. Defaults to
            `min(128, max_length)`.
        quantize: `None` (float32), `"dynamic"` (int8 weights, float activations) or
            `"float16"` (float16 weights). Defaults to `None`.
        overwrite: bool. Replace an existing file at `path`. Defaults to `False`.
        threads: int. LiteRT threads for the verification. Defaults to `2`.

    Returns:
        A dict: `path`, `format` (`"tflite_decoder"`), `quantize`, `file_size` (bytes),
        `constant_bytes` (weights and other constants, stored once for both signatures),
        `weight_bytes` (of the Keras model), `max_length`, `prefill_length`, `ops` (per
        signature: op counts by builtin name, and `non_builtin`), `verification` (the sample
        prompt, Keras and runtime ids, `greedy_match`, `max_abs_diff`, `cosine`, `top1`,
        `criteria`, `ok`), `verified`, `decode_ms` (median time of one `decode` call) and
        `seconds`.

    Raises:
        ValueError: `causal_lm` is not a causal LM, bad lengths or quantize mode, a path that
            exists without `overwrite=True`, or a model that needs non-builtin (Flex) ops.
        ExportVerificationError: the file disagrees with the Keras model; it is kept at
            `NAME.UNVERIFIED.tflite`.

    Example:

    >>> lm = tfzoo.build("gpt2", task="causal_lm", num_layers=2, hidden_dim=32, num_heads=4,
    ...                  intermediate_dim=64, vocabulary_size=97, max_sequence_length=48)
    >>> report = tfzoo.export.decoding.export_tflite_decoder(lm, "out/gpt.tflite")
    >>> decoder = tfzoo.export.decoding.TFLiteDecoder("out/gpt.tflite")
    >>> decoder.generate([5, 6, 7], max_new_tokens=8)     # the ids lm.generate gives
    """
    start = time.perf_counter()
    path = _check_path(path, ".tflite", overwrite)
    backbone = _check_causal_lm(causal_lm)
    max_length = _check_max_length(max_length, backbone)
    if prefill_length is None:
        prefill_length = min(DEFAULT_PREFILL_LENGTH, max_length)
    if not isinstance(prefill_length, int) or not 1 <= prefill_length <= max_length:
        raise ValueError(
            f"`prefill_length` must be an int in [1, max_length={max_length}]. Received: "
            f"prefill_length={prefill_length!r}. Longer prompts are fed to `decode` after the "
            f"first prefill_length tokens, so a smaller value always works."
        )
    if quantize not in TFLITE_QUANTIZE_MODES:
        raise ValueError(
            f"Unsupported quantize={quantize!r} for a TFLite decoder. Supported: "
            f"{list(TFLITE_QUANTIZE_MODES)}. (Full-integer int8 needs calibration of the cache "
            f"activations, which this exporter does not do.)"
        )
    _check_threads(threads)

    module, prefill, decode = _tflite_functions(causal_lm, max_length, prefill_length)
    content = _convert_tflite(module, prefill, decode, quantize)

    def check(artifact):
        decoder = TFLiteDecoder(artifact, threads=threads)
        verification = _verify(causal_lm, decoder, quantize, max_length)
        timing = decoder.decode_latency_ms()
        return decoder, verification, timing

    report = _write_and_verify(path, content, check, overwrite)
    report.update(
        format="tflite_decoder",
        quantize=quantize,
        weight_bytes=_weight_bytes(causal_lm),
        max_length=max_length,
        prefill_length=prefill_length,
        ops=tflite_signature_ops(report["path"]),
        constant_bytes=tflite_constant_bytes(report["path"]),
        seconds=time.perf_counter() - start,
    )
    _raise_if_unverified(report, path)
    return report


def export_onnx_decoder(causal_lm, path, max_length=None, opset=17, overwrite=False, threads=2):
    """Writes an ONNX graph that runs a causal LM step against a past key/value cache.

    One graph serves both phases: give it the whole prompt at `cache_update_index=0` (prefill)
    and then one token at a time at its position (decode). Batch and sequence are dynamic; the
    cache has a fixed `max_length`.

    Args:
        causal_lm: a `tfzoo.models.CausalLM`.
        path: str. The `.onnx` file to write.
        max_length: int. Positions in the cache. Defaults to the backbone's
            `max_sequence_length`.
        opset: int. ONNX opset, in [13, 18]. Defaults to `17`.
        overwrite: bool. Replace an existing file at `path`. Defaults to `False`.
        threads: int. ONNX Runtime intra-op threads for the verification. Defaults to `2`.

    Returns:
        A dict: `path`, `format` (`"onnx_decoder"`), `file_size`, `weight_bytes`, `inputs`
        and `outputs` (names and shapes, `None` = dynamic), `ops` (op counts by type,
        `non_builtin`, `opset`), `verification`, `decode_ms` and `seconds`.

    Raises:
        ValueError: `causal_lm` is not a causal LM, bad `max_length` or `opset`, or a path
            that exists without `overwrite=True`.
        ExportVerificationError: the graph disagrees with the Keras model; it is kept at
            `NAME.UNVERIFIED.onnx`.

    Example:

    >>> lm = tfzoo.build("llama-tiny", task="causal_lm", num_layers=2, hidden_dim=32,
    ...                  num_heads=4, num_key_value_heads=2, intermediate_dim=64,
    ...                  vocabulary_size=97, max_sequence_length=48)
    >>> tfzoo.export.decoding.export_onnx_decoder(lm, "out/llama-decoder.onnx")["verification"]
    """
    start = time.perf_counter()
    path = _check_path(path, ".onnx", overwrite)
    backbone = _check_causal_lm(causal_lm)
    max_length = _check_max_length(max_length, backbone)
    if not isinstance(opset, int) or not 13 <= opset <= 18:
        raise ValueError(f"`opset` must be an int in [13, 18] (tf2onnx 1.17). Received: {opset!r}")
    _check_threads(threads)

    content = _convert_onnx(causal_lm, max_length, opset)

    def check(artifact):
        decoder = OnnxDecoder(artifact, threads=threads)
        verification = _verify(causal_lm, decoder, None, max_length)
        timing = decoder.decode_latency_ms()
        return decoder, verification, timing

    report = _write_and_verify(path, content, check, overwrite)
    from tfzoo.export import formats

    decoder = OnnxDecoder(report["path"], threads=1)
    report.update(
        format="onnx_decoder",
        weight_bytes=_weight_bytes(causal_lm),
        max_length=max_length,
        inputs=decoder.input_shapes,
        outputs=decoder.output_shapes,
        ops=formats.onnx_ops(report["path"]),
        seconds=time.perf_counter() - start,
    )
    _raise_if_unverified(report, path)
    return report


class TFLiteDecoder:
    """Greedy decoding with a file written by `export_tflite_decoder`, in LiteRT.

    Needs only NumPy and `ai_edge_litert`; the model's shapes are read from the file.

    Args:
        path: str. The `.tflite` decoder file.
        threads: int. Interpreter threads. Defaults to `2`.

    Example:

    >>> decoder = tfzoo.export.decoding.TFLiteDecoder("out/gpt.tflite")
    >>> decoder.generate([5, 6, 7], max_new_tokens=8)   # int32 array (1, 11)
    """

    def __init__(self, path, threads=2):
        from ai_edge_litert.interpreter import Interpreter

        self.path = os.fspath(path)
        self.interpreter = Interpreter(model_path=self.path, num_threads=threads)
        found = self.interpreter.get_signature_list()
        if set(found) != {"prefill", "decode"}:
            raise ValueError(
                f"{self.path} is not a tfzoo TFLite decoder: it has signatures {sorted(found)}, "
                f"not 'prefill' and 'decode'. Write one with export_tflite_decoder."
            )
        self._prefill = self.interpreter.get_signature_runner("prefill")
        self._decode = self.interpreter.get_signature_runner("decode")
        prefill_inputs = self._prefill.get_input_details()
        decode_inputs = self._decode.get_input_details()
        self.prefill_length = int(prefill_inputs["token_ids"]["shape"][1])
        self.cache_shape = tuple(int(d) for d in decode_inputs["cache"]["shape"])
        self.max_length = self.cache_shape[3]

    def prefill(self, token_ids):
        """Runs the prompt's first `prefill_length` tokens; returns `(logits (vocab,), cache, n)`."""
        ids = np.asarray(token_ids, dtype="int32").reshape(-1)[: self.prefill_length]
        padded = np.zeros((1, self.prefill_length), dtype="int32")
        padded[0, : ids.size] = ids
        out = self._prefill(token_ids=padded, length=np.asarray(ids.size, dtype="int32"))
        return out["logits"][0], out["cache"], ids.size

    def decode(self, token_id, index, cache):
        """Runs one token at position `index`; returns `(logits (vocab,), cache)`."""
        out = self._decode(
            token_ids=np.full((1, 1), token_id, dtype="int32"),
            cache_update_index=np.asarray(index, dtype="int32"),
            cache=cache,
        )
        return out["logits"][0], out["cache"]

    def step_logits(self, token_ids, max_new_tokens, forced=None):
        """Greedy continuation of one prompt; returns `(ids (1, n + new), logits (new, vocab))`.

        With `forced` (a sequence of `max_new_tokens` ids) the loop feeds those tokens instead
        of its own choices (teacher forcing), to compare logits step by step.
        """
        prompt = _one_prompt(token_ids)
        _check_room(prompt.size, max_new_tokens, self.max_length)
        logits, cache, done = self.prefill(prompt)
        for index in range(done, prompt.size):  # the part of a long prompt prefill did not take
            logits, cache = self.decode(prompt[index], index, cache)
        ids, steps = list(prompt), []
        for step in range(max_new_tokens):
            steps.append(logits)
            token = int(np.argmax(logits)) if forced is None else int(forced[step])
            ids.append(token)
            if step + 1 < max_new_tokens:
                logits, cache = self.decode(token, len(ids) - 1, cache)
        return np.asarray([ids], dtype="int32"), np.stack(steps)

    def generate(self, token_ids, max_new_tokens=20, end_token_id=None):
        """Greedy continuation of one prompt by `max_new_tokens` tokens.

        Args:
            token_ids: a list or 1-D / `(1, n)` int array, the prompt.
            max_new_tokens: int. Tokens to add.
            end_token_id: int or `None`. Stop after this token; the rest is filled with it.

        Returns:
            int32 array `(1, n + max_new_tokens)`.
        """
        prompt = _one_prompt(token_ids)
        _check_room(prompt.size, max_new_tokens, self.max_length)
        logits, cache, done = self.prefill(prompt)
        for index in range(done, prompt.size):
            logits, cache = self.decode(prompt[index], index, cache)
        ids = list(prompt)
        for step in range(max_new_tokens):
            token = int(np.argmax(logits))
            ids.append(token)
            if token == end_token_id:
                ids += [end_token_id] * (max_new_tokens - step - 1)
                break
            if step + 1 < max_new_tokens:
                logits, cache = self.decode(token, len(ids) - 1, cache)
        return np.asarray([ids], dtype="int32")

    def decode_latency_ms(self, runs=10):
        """Median milliseconds of one `decode` call (cache copy in and out included)."""
        cache = np.zeros(self.cache_shape, dtype="float32")
        return _median_ms(lambda: self.decode(1, 1, cache), runs)


class OnnxDecoder:
    """Greedy decoding with a graph written by `export_onnx_decoder`, in ONNX Runtime.

    Args:
        path: str. The `.onnx` decoder file.
        threads: int. Intra-op threads. Defaults to `2`.

    Example:

    >>> decoder = tfzoo.export.decoding.OnnxDecoder("out/llama-decoder.onnx")
    >>> decoder.generate(np.array([[5, 6, 7], [8, 9, 10]]), max_new_tokens=8)   # (2, 11)
    """

    def __init__(self, path, threads=2):
        import onnxruntime as ort

        self.path = os.fspath(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            self.path, sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs = {i.name: i for i in self.session.get_inputs()}
        if set(inputs) != {"token_ids", "cache", "cache_update_index"}:
            raise ValueError(
                f"{self.path} is not a tfzoo ONNX decoder: its inputs are {sorted(inputs)}, not "
                f"token_ids, cache, cache_update_index. Write one with export_onnx_decoder."
            )
        self.cache_shape = tuple(d if isinstance(d, int) else None for d in inputs["cache"].shape)
        self.max_length = self.cache_shape[3]
        self.input_shapes = {n: _dims(i.shape) for n, i in inputs.items()}
        self.output_shapes = {o.name: _dims(o.shape) for o in self.session.get_outputs()}

    def init_cache(self, batch_size):
        """Zeros `(batch, num_layers, 2, max_length, kv_heads, head_dim)` float32."""
        return np.zeros((batch_size,) + self.cache_shape[1:], dtype="float32")

    def step(self, token_ids, cache, cache_update_index):
        """Runs `token_ids` `(batch, seq)` from position `cache_update_index`.

        Returns:
            `(logits (batch, seq, vocab), new_cache)`.
        """
        return self.session.run(
            ["logits", "new_cache"],
            {
                "token_ids": np.asarray(token_ids, dtype="int32"),
                "cache": cache,
                "cache_update_index": np.asarray(cache_update_index, dtype="int32"),
            },
        )

    def step_logits(self, token_ids, max_new_tokens, forced=None):
        """Greedy (or, with `forced`, teacher-forced) continuation of one prompt.

        Returns:
            `(ids (1, n + new), logits (new, vocab))`, as `TFLiteDecoder.step_logits`.
        """
        prompt = _one_prompt(token_ids)[None]
        ids, logits = self._loop(prompt, max_new_tokens, None, forced)
        return ids, logits[0]

    def generate(self, token_ids, max_new_tokens=20, end_token_id=None):
        """Greedy continuation of a batch of equal-length prompts `(batch, n)`.

        Returns:
            int32 array `(batch, n + max_new_tokens)`; after `end_token_id` a row is filled
            with it.
        """
        prompt = np.asarray(token_ids, dtype="int32")
        if prompt.ndim == 1:
            prompt = prompt[None]
        if prompt.ndim != 2 or prompt.shape[1] < 1:
            raise ValueError(
                f"`token_ids` must be (batch, prompt_len) with prompt_len >= 1. Received shape "
                f"{prompt.shape}."
            )
        return self._loop(prompt, max_new_tokens, end_token_id, None)[0]

    def _loop(self, prompt, max_new_tokens, end_token_id, forced):
        _check_room(prompt.shape[1], max_new_tokens, self.max_length)
        cache = self.init_cache(prompt.shape[0])
        logits, cache = self.step(prompt, cache, 0)  # prefill: (batch, n, vocab)
        logits = logits[:, -1]
        ids, steps = [prompt], []
        done = np.zeros(prompt.shape[0], dtype=bool)
        for step in range(max_new_tokens):
            steps.append(logits)
            if forced is None:
                token = np.argmax(logits, axis=-1).astype("int32")
            else:
                token = np.full(prompt.shape[0], forced[step], dtype="int32")
            if end_token_id is not None:
                token = np.where(done, end_token_id, token).astype("int32")
                done |= token == end_token_id
            ids.append(token[:, None])
            if step + 1 < max_new_tokens and not done.all():
                position = prompt.shape[1] + step
                logits, cache = self.step(token[:, None], cache, position)
                logits = logits[:, 0]
        return np.concatenate(ids, axis=1), np.stack(steps, axis=1)

    def decode_latency_ms(self, runs=10):
        """Median milliseconds of one single-token step at batch 1."""
        cache = self.init_cache(1)
        token = np.ones((1, 1), dtype="int32")
        return _median_ms(lambda: self.step(token, cache, 1), runs)


def tflite_constant_bytes(path):
    """Bytes of the constant buffers of a TFLite file (weights; shared by all signatures)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(os.fspath(path))
    return int(sum(len(b.data) for b in model.buffers if b.data is not None))


def tflite_signature_ops(path):
    """Op counts by builtin name for each signature of a TFLite file.

    Returns:
        A dict `{signature: {"count", "by_type", "non_builtin"}}`; `non_builtin` lists Flex
        and custom ops (none in a file that runs on stock LiteRT).
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(os.fspath(path))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def op_name(code):
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.customCode
            return custom.decode() if isinstance(custom, bytes) else str(custom)
        return names.get(builtin, str(builtin))

    summary = {}
    for signature in model.signatureDefs:
        key = signature.signatureKey
        key = key.decode() if isinstance(key, bytes) else key
        graph = model.subgraphs[signature.subgraphIndex]
        counts = collections.Counter(
            op_name(model.operatorCodes[op.opcodeIndex]) for op in graph.operators
        )
        summary[key] = {
            "count": sum(counts.values()),
            "by_type": dict(sorted(counts.items())),
            "non_builtin": sorted(n for n in counts if not n.replace("_", "").isupper()),
        }
    return summary


# --- tracing and conversion ------------------------------------------------------------------


def _tflite_functions(causal_lm, max_length, prefill_length):
    """A `tf.Module` with the weights once, and the traced `prefill` / `decode` functions."""
    import tensorflow as tf

    from tfzoo.layers import runtime_checks

    backbone = causal_lm.backbone
    shape = _cache_shape(backbone, 1, max_length)
    compute_dtype = backbone.compute_dtype

    @tf.function(
        input_signature=[
            tf.TensorSpec((1, prefill_length), tf.int32, name="token_ids"),
            tf.TensorSpec((), tf.int32, name="length"),
        ]
    )
    def prefill(token_ids, length):
        # Positions after `length` hold padding: their keys/values land in the cache but sit
        # after every real query (causal mask), and `decode` overwrites each one before any
        # query can see it.
        cache = tf.zeros(shape, dtype=compute_dtype)
        logits, _, cache = causal_lm.call_with_cache(token_ids, cache, 0)
        last = tf.gather(logits, length - 1, axis=1)  # (1, vocab)
        return {"logits": last, "cache": tf.cast(cache, tf.float32)}

    @tf.function(
        input_signature=[
            tf.TensorSpec((1, 1), tf.int32, name="token_ids"),
            tf.TensorSpec((), tf.int32, name="cache_update_index"),
            tf.TensorSpec(shape, tf.float32, name="cache"),
        ]
    )
    def decode(token_ids, cache_update_index, cache):
        cache = tf.cast(cache, compute_dtype)  # a no-op for float32 models
        logits, _, cache = causal_lm.call_with_cache(token_ids, cache, cache_update_index)
        return {"logits": logits[:, 0, :], "cache": tf.cast(cache, tf.float32)}  # (1, vocab)

    with runtime_checks(False):  # TFLite has no assert op
        prefill_fn = prefill.get_concrete_function()
        decode_fn = decode.get_concrete_function()
    module = tf.Module()
    # Keras variables wrap a tf.Variable (`.value`). The converter only finds the initial values
    # of variables the module tracks; untracked ones become uninitialized READ_VARIABLE ops.
    module.weights = [getattr(v, "value", v) for v in causal_lm.variables]
    module.prefill = prefill
    module.decode = decode
    return module, prefill_fn, decode_fn


def _convert_tflite(module, prefill, decode, quantize):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([prefill, decode], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    # The zero cache of `prefill` is a splat constant: stored densely it would put
    # num_layers * 2 * max_length * kv_heads * head_dim zeros in the file (92 MB for a 1B
    # model at 2048 positions). Unfolded, it is a FILL op.
    converter._experimental_unfold_large_splat_constant = True
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as e:  # ConverterError
        text = str(e)
        if "TF Select ops" in text or "Flex" in text:
            raise ValueError(
                "This model needs TensorFlow ops that are not TFLite builtins, which LiteRT on "
                f"devices cannot run: {text.strip().splitlines()[-1][:300]}. Rewrite the layer "
                "that emits them."
            ) from None
        raise


def _convert_onnx(causal_lm, max_length, opset):
    """ONNX bytes of one `call_with_cache` step with a dynamic batch and sequence."""
    import tensorflow as tf
    import tf2onnx

    from tfzoo.layers import runtime_checks

    backbone = causal_lm.backbone
    compute_dtype = backbone.compute_dtype
    specs = [
        tf.TensorSpec((None, None), tf.int32, name="token_ids"),
        tf.TensorSpec(_cache_shape(backbone, None, max_length), tf.float32, name="cache"),
        tf.TensorSpec((), tf.int32, name="cache_update_index"),
    ]

    @tf.function(input_signature=specs)
    def step(token_ids, cache, cache_update_index):
        cache = tf.cast(cache, compute_dtype)
        logits, _, cache = causal_lm.call_with_cache(token_ids, cache, cache_update_index)
        return {"logits": logits, "new_cache": tf.cast(cache, tf.float32)}

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    with runtime_checks(False):
        model_proto, _ = tf2onnx.convert.from_function(
            step,
            input_signature=specs,
            opset=opset,
            custom_op_handlers={"XlaDynamicUpdateSlice": (_dynamic_update_slice_to_onnx, [])},
        )
    labels = {"token_ids": ("batch", "sequence"), "cache": ("batch",)}
    labels.update(logits=("batch", "sequence"), new_cache=("batch",))
    for value in list(model_proto.graph.input) + list(model_proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, label in zip(dims, labels.get(value.name, ())):
            dim.ClearField("dim_value")
            dim.dim_param = label
    return model_proto.SerializeToString()


def _dynamic_update_slice_to_onnx(ctx, node, name, args):
    """tf2onnx handler: `XlaDynamicUpdateSlice(data, update, starts)` as ONNX `ScatterND`.

    Keras' `ops.slice_update` (the cache write) lowers to this XLA op, which tf2onnx 1.17 does
    not map. ONNX has no dynamic-update-slice, so we build the index of every element of
    `update` -- `starts[d] + arange(update.shape[d])` broadcast over the other axes, stacked on
    a last axis `(…update.shape, rank)` -- and scatter. Starts are clamped to
    `[0, data.shape[d] - update.shape[d]]`, as XLA does, so a step past the cache end rewrites
    the last slot instead of failing.
    """
    del args
    from onnx import TensorProto
    from tf2onnx import utils
    from tf2onnx.graph_builder import GraphBuilder

    data, update, starts = node.input
    rank = ctx.get_rank(update)
    if rank is None:
        raise ValueError(f"{name}: the rank of the update of a dynamic-update-slice must be known.")

    def const(value):
        return ctx.make_const(utils.make_name(f"{name}_const"), np.array(value, np.int64)).output[0]

    def make(op, inputs, **attr):
        return ctx.make_node(op, inputs, attr=attr or None).output[0]

    starts = make("Cast", [starts], to=TensorProto.INT64)
    update_shape = make("Shape", [update])  # (rank,) int64
    data_shape = make("Shape", [data])
    columns = []
    for d in range(rank):
        size = make("Gather", [update_shape, const(d)])  # scalar
        limit = make("Sub", [make("Gather", [data_shape, const(d)]), size])
        first = make("Min", [make("Max", [make("Gather", [starts, const(d)]), const(0)]), limit])
        positions = make("Range", [first, make("Add", [first, size]), const(1)])  # (size,)
        target = [1] * rank
        target[d] = -1
        positions = make("Reshape", [positions, const(target)])  # size on axis d, 1 elsewhere
        positions = make("Expand", [positions, update_shape])  # update.shape
        columns.append(GraphBuilder(ctx).make_unsqueeze({"data": positions, "axes": [-1]}))
    indices = make("Concat", columns, axis=-1)  # (*update.shape, rank)
    node.type = "ScatterND"
    ctx.replace_inputs(node, [data, indices, update])
    return node


# --- verification ----------------------------------------------------------------------------


def _verify(causal_lm, decoder, quantize, max_length):
    """Greedy ids and step logits of the artifact against `generate` and the Keras forward pass.

    A float32 artifact must give exactly the token ids of `causal_lm.generate` and logits within
    `1e-4 * scale`; a quantized one must keep cosine >= 0.999 on teacher-forced logits (greedy
    ids of random-weight models flip on near-ties under any rounding; they are reported).
    """
    vocab = causal_lm.backbone.vocabulary_size
    prompt_length = min(VERIFY_PROMPT_LENGTH, max_length - 1)
    new_tokens = max(1, min(VERIFY_NEW_TOKENS, max_length - prompt_length))
    prompt = np.random.default_rng(0).integers(0, vocab, (1, prompt_length)).astype("int32")
    expected_ids = np.asarray(causal_lm.generate(prompt, max_new_tokens=new_tokens)["token_ids"])
    full = expected_ids[:, :-1]
    expected_logits = np.asarray(
        causal_lm({"token_ids": full, "padding_mask": np.ones_like(full)}, training=False)
    )[0, prompt_length - 1 :]  # (new_tokens, vocab): logits that chose each new token

    greedy_ids, _ = decoder.step_logits(prompt, new_tokens)
    _, forced_logits = decoder.step_logits(
        prompt, new_tokens, forced=expected_ids[0, prompt_length:]
    )
    diff = float(np.max(np.abs(forced_logits - expected_logits)))
    scale = max(1.0, float(np.max(np.abs(expected_logits))))
    a, b = forced_logits.ravel().astype("float64"), expected_logits.ravel().astype("float64")
    cosine = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
    top1 = float(np.mean(forced_logits.argmax(-1) == expected_logits.argmax(-1)))
    greedy_match = bool(np.array_equal(greedy_ids, expected_ids))
    if quantize is None:
        criteria = {"greedy_match": True, "max_abs_diff": FLOAT32_RTOL * scale}
        ok = greedy_match and diff <= FLOAT32_RTOL * scale
    else:
        criteria = {"cosine_min": COSINE_MIN[quantize]}
        ok = cosine >= COSINE_MIN[quantize]
    return {
        "prompt": prompt[0].tolist(),
        "new_tokens": int(new_tokens),
        "expected_ids": expected_ids[0].tolist(),
        "runtime_ids": greedy_ids[0].tolist(),
        "greedy_match": greedy_match,
        "max_abs_diff": diff,
        "cosine": cosine,
        "top1": top1,
        "criteria": criteria,
        "ok": bool(ok),
    }


# --- files -----------------------------------------------------------------------------------


def _write_and_verify(path, content, check, overwrite):
    """Writes `content` under a temporary name, runs `check` on it, then moves it into place.

    A verified file goes onto `path` with `os.replace` (atomic); one that fails goes to
    `NAME.UNVERIFIED.EXT`, so `path` never holds an unchecked decoder.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        artifact = os.path.join(temp, os.path.basename(path))
        with open(artifact, "wb") as f:
            f.write(content)
        decoder, verification, decode_ms = check(artifact)
        del decoder  # release the runtime's hold on the file before moving it
        final = path if verification["ok"] else _unverified_path(path, overwrite)
        if os.path.lexists(final) and not overwrite and final == path:
            raise ValueError(
                f"{path} appeared while exporting; it was not replaced. Pass overwrite=True or "
                f"choose another path."
            )
        os.replace(artifact, final)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return {
        "path": final,
        "file_size": os.path.getsize(final),
        "verification": verification,
        "verified": verification["ok"],
        "decode_ms": decode_ms,
    }


def _raise_if_unverified(report, path):
    if not report["verified"]:
        v = report["verification"]
        raise ExportVerificationError(
            f"The decoder disagrees with the Keras model (greedy_match={v['greedy_match']}, "
            f"max_abs_diff={v['max_abs_diff']:.3g}, cosine={v['cosine']:.6f}; criteria "
            f"{v['criteria']}). It was kept at {report['path']} for inspection, not at {path}.",
            report=report,
            path=report["path"],
        )


def _unverified_path(path, overwrite):
    stem, ext = os.path.splitext(path)
    candidate, index = f"{stem}.UNVERIFIED{ext}", 0
    while os.path.lexists(candidate) and not overwrite:
        index += 1
        candidate = f"{stem}.UNVERIFIED-{index}{ext}"
    return candidate


# --- checks and small helpers ----------------------------------------------------------------


def _check_path(path, suffix, overwrite):
    path = os.fspath(path)
    if not path.lower().endswith(suffix):
        raise ValueError(f"The decoder path must end in {suffix}. Received: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give a {suffix} file path.")
    if os.path.lexists(path) and not overwrite:
        raise ValueError(
            f"{path} already exists; the decoder export never replaces a file silently. Pass "
            f"overwrite=True to replace it, or choose another path."
        )
    return path


def _check_causal_lm(causal_lm):
    backbone = getattr(causal_lm, "backbone", None)
    if not hasattr(causal_lm, "call_with_cache") or not hasattr(backbone, "num_key_value_heads"):
        raise ValueError(
            f"A decoder export needs a causal language model with a key/value cache, such as "
            f"tfzoo.build('gpt2', task='causal_lm'). Received a {type(causal_lm).__name__}."
        )
    return backbone


def _check_max_length(max_length, backbone):
    limit = backbone.max_sequence_length
    if max_length is None:
        return int(limit)
    if not isinstance(max_length, int) or not 2 <= max_length <= limit:
        raise ValueError(
            f"`max_length` must be an int in [2, max_sequence_length={limit}]. Received: "
            f"max_length={max_length!r}."
        )
    return max_length


def _check_threads(threads):
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"`threads` must be an int >= 1. Received: threads={threads!r}")


def _check_room(prompt_length, max_new_tokens, max_length):
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise ValueError(f"`max_new_tokens` must be an int >= 1. Received: {max_new_tokens!r}")
    if prompt_length + max_new_tokens > max_length:
        raise ValueError(
            f"prompt length {prompt_length} + max_new_tokens {max_new_tokens} exceeds the "
            f"decoder's cache of max_length={max_length}. Generate fewer tokens, or export with "
            f"a larger max_length."
        )


def _one_prompt(token_ids):
    prompt = np.asarray(token_ids)
    if prompt.ndim == 2 and prompt.shape[0] == 1:
        prompt = prompt[0]
    if prompt.ndim != 1 or prompt.size < 1:
        raise ValueError(
            f"Give one prompt: a list or a (1, n) array of token ids with n >= 1. Received shape "
            f"{prompt.shape}."
        )
    if not np.issubdtype(prompt.dtype, np.integer):
        raise ValueError(f"Token ids must be integers; received dtype {prompt.dtype}.")
    return prompt.astype("int32")


def _cache_shape(backbone, batch, max_length):
    # (batch, num_layers, 2 [keys, values], max_length, kv_heads, head_dim), as CausalLM.init_cache
    return (
        batch,
        backbone.num_layers,
        2,
        max_length,
        backbone.num_key_value_heads,
        backbone.head_dim,
    )


def _dims(shape):
    return [d if isinstance(d, int) else None for d in shape]


def _weight_bytes(model):
    return int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.variables))


def _median_ms(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))
