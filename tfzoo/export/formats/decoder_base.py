"""What the decoder formats (`tflite_decoder`, `onnx_decoder`) share: argument checks, the
cache layout and the prompt handling of their runtime classes."""

import os
import time

import numpy as np

from tfzoo.export.staging import check_new_path

DEFAULT_PREFILL_LENGTH = 128


def check_path(path, suffix, overwrite):
    """A decoder's `path`: a `suffix` file name, not an existing file unless `overwrite`."""
    path = os.fspath(path)
    if not path.lower().endswith(suffix):
        raise ValueError(f"The decoder path must end in {suffix}. Received: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give a {suffix} file path.")
    check_new_path(path, overwrite)
    return path


def check_causal_lm(causal_lm):
    backbone = getattr(causal_lm, "backbone", None)
    if not hasattr(causal_lm, "call_with_cache") or not hasattr(backbone, "num_key_value_heads"):
        raise ValueError(
            f"A decoder export needs a causal language model with a key/value cache, such as "
            f"tfzoo.build('gpt2', task='causal_lm'). Received a {type(causal_lm).__name__}."
        )
    return backbone


def check_max_length(max_length, backbone):
    limit = backbone.max_sequence_length
    if max_length is None:
        return int(limit)
    if not isinstance(max_length, int) or not 2 <= max_length <= limit:
        raise ValueError(
            f"`max_length` must be an int in [2, max_sequence_length={limit}]. Received: "
            f"max_length={max_length!r}."
        )
    return max_length


def check_room(prompt_length, max_new_tokens, max_length):
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise ValueError(f"`max_new_tokens` must be an int >= 1. Received: {max_new_tokens!r}")
    if prompt_length + max_new_tokens > max_length:
        raise ValueError(
            f"prompt length {prompt_length} + max_new_tokens {max_new_tokens} exceeds the "
            f"decoder's cache of max_length={max_length}. Generate fewer tokens, or export with "
            f"a larger max_length."
        )


def one_prompt(token_ids):
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


def cache_shape(backbone, batch, max_length):
    # (batch, num_layers, 2 [keys, values], max_length, kv_heads, head_dim), as CausalLM.init_cache
    return (
        batch,
        backbone.num_layers,
        2,
        max_length,
        backbone.num_key_value_heads,
        backbone.head_dim,
    )


def dims(shape):
    return [d if isinstance(d, int) else None for d in shape]


def weight_bytes(model):
    return int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.variables))


def decoder_report(fmt, path, quantize, file_size, fields, ops, verification, start):
    """The report dict of a decoder export: the keys every decoder format has, its own `fields`
    between them. `start` is the export's `time.perf_counter()` at its beginning."""
    return {
        "path": path,
        "format": fmt.name,
        "quantize": quantize,
        "file_size": file_size,
        **fields,
        "ops": ops,
        "verification": verification,
        "verified": verification["ok"],
        "runtime": fmt.runtime(),
        "seconds": time.perf_counter() - start,
    }
