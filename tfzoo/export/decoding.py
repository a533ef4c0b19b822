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

The formats themselves are `tfzoo/export/formats/tflite_decoder.py` and `onnx_decoder.py`;
both go through `tfzoo.export.api.export_decoder`, the same temporary-name, UNVERIFIED and
report handling as every other format (the report is also written as `PATH.report.json`).
"""

from tfzoo.export.api import export_decoder
from tfzoo.export.formats.onnx_decoder import OnnxDecoder
from tfzoo.export.formats.tflite_decoder import QUANTIZE_MODES as TFLITE_QUANTIZE_MODES
from tfzoo.export.formats.tflite_decoder import TFLiteDecoder
from tfzoo.export.formats.tflite_decoder import constant_bytes as tflite_constant_bytes
from tfzoo.export.formats.tflite_decoder import signature_ops as tflite_signature_ops

__all__ = [
    "TFLITE_QUANTIZE_MODES",
    "OnnxDecoder",
    "TFLiteDecoder",
    "export_onnx_decoder",
    "export_tflite_decoder",
    "tflite_constant_bytes",
    "tflite_signature_ops",
]


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
        `criteria`, `ok`), `verified`, `decode_ms` (median time of one `decode` call),
        `runtime` and `seconds`; also written as `PATH.report.json`.

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
    return export_decoder(
        "tflite_decoder",
        causal_lm,
        path,
        overwrite=overwrite,
        threads=threads,
        max_length=max_length,
        prefill_length=prefill_length,
        quantize=quantize,
    )


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
        A dict: `path`, `format` (`"onnx_decoder"`), `quantize` (`None`), `file_size`,
        `weight_bytes`, `max_length`, `inputs` and `outputs` (names and shapes, `None` =
        dynamic), `ops` (op counts by type, `non_builtin`, `opset`), `verification`, `verified`,
        `decode_ms`, `runtime` and `seconds`; also written as `PATH.report.json`.

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
    return export_decoder(
        "onnx_decoder",
        causal_lm,
        path,
        overwrite=overwrite,
        threads=threads,
        max_length=max_length,
        opset=opset,
    )
