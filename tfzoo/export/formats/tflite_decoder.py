"""TFLite decoder: one `.tflite` file with `prefill` and `decode` signatures sharing a cache.

The signatures, as on-device LLM runtimes expect them:

- `prefill`: `token_ids` int32 `(1, prefill_length)` (the prompt, right-padded) and `length`
  int32 scalar (its real length) -> `logits` float32 `(1, vocab)` of the last real token and
  `cache` float32 `(1, num_layers, 2, max_length, kv_heads, head_dim)`;
- `decode`: `token_ids` int32 `(1, 1)`, `cache_update_index` int32 scalar (the position of
  that token) and `cache` -> `logits` `(1, vocab)` and the updated `cache`.

Written by `tfzoo.export.decoding.export_tflite_decoder`; `TFLiteDecoder` runs it in LiteRT.
"""

import collections
import os

import numpy as np

from tfzoo.export.formats import decoder_base
from tfzoo.export.formats.base import median_ms, package_version

NAME = "tflite_decoder"
KIND = "decoder"
EXTENSION = ".tflite"
RUNNER_SCRIPT = None

QUANTIZE_MODES = (None, "dynamic", "float16")


def check_arguments(options):
    """`prefill_length` (default `min(128, max_length)`) and `quantize`, set on `options`."""
    max_length = options.max_length
    if options.prefill_length is None:
        options.prefill_length = min(decoder_base.DEFAULT_PREFILL_LENGTH, max_length)
    prefill_length = options.prefill_length
    if not isinstance(prefill_length, int) or not 1 <= prefill_length <= max_length:
        raise ValueError(
            f"`prefill_length` must be an int in [1, max_length={max_length}]. Received: "
            f"prefill_length={prefill_length!r}. Longer prompts are fed to `decode` after the "
            f"first prefill_length tokens, so a smaller value always works."
        )
    if options.quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"Unsupported quantize={options.quantize!r} for a TFLite decoder. Supported: "
            f"{list(QUANTIZE_MODES)}. (Full-integer int8 needs calibration of the cache "
            f"activations, which this exporter does not do.)"
        )


def write(causal_lm, path, options):
    """Traces `prefill` and `decode`, converts them into one file with builtin ops only."""
    module, prefill, decode = _functions(causal_lm, options.max_length, options.prefill_length)
    content = _convert(module, prefill, decode, options.quantize)
    with open(path, "wb") as f:
        f.write(content)
    return []


def runner(path, threads):
    return TFLiteDecoder(path, threads=threads)


def runtime():
    return f"ai-edge-litert {package_version('ai-edge-litert')}"


def ops(path, causal_lm=None, decoder=None):
    del causal_lm, decoder
    return signature_ops(path)


def details(path, decoder, options):
    del decoder
    return {"prefill_length": options.prefill_length, "constant_bytes": constant_bytes(path)}


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

    def _start(self, token_ids, max_new_tokens):
        """Runs the whole prompt; returns `(prompt, logits of its last token, cache)`."""
        prompt = decoder_base.one_prompt(token_ids)
        decoder_base.check_room(prompt.size, max_new_tokens, self.max_length)
        logits, cache, done = self.prefill(prompt)
        for index in range(done, prompt.size):  # the part of a long prompt prefill did not take
            logits, cache = self.decode(prompt[index], index, cache)
        return prompt, logits, cache

    def step_logits(self, token_ids, max_new_tokens, forced=None):
        """Greedy continuation of one prompt; returns `(ids (1, n + new), logits (new, vocab))`.

        With `forced` (a sequence of `max_new_tokens` ids) the loop feeds those tokens instead
        of its own choices (teacher forcing), to compare logits step by step.
        """
        prompt, logits, cache = self._start(token_ids, max_new_tokens)
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
        prompt, logits, cache = self._start(token_ids, max_new_tokens)
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
        return median_ms(lambda: self.decode(1, 1, cache), runs, warmup=1)


def constant_bytes(path):
    """Bytes of the constant buffers of a TFLite file (weights; shared by all signatures)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(os.fspath(path))
    return int(sum(len(b.data) for b in model.buffers if b.data is not None))


def signature_ops(path):
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


def _functions(causal_lm, max_length, prefill_length):
    """A `tf.Module` with the weights once, and the traced `prefill` / `decode` functions."""
    import tensorflow as tf

    from tfzoo.layers import runtime_checks

    backbone = causal_lm.backbone
    shape = decoder_base.cache_shape(backbone, 1, max_length)
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


def _convert(module, prefill, decode, quantize):
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
