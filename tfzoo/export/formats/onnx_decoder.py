"""ONNX decoder: one graph that runs a causal LM step against a past key/value cache.

`token_ids` int32 `(batch, sequence)`, `cache` float32 `(batch, num_layers, 2, max_length,
kv_heads, head_dim)` and `cache_update_index` int32 scalar -> `logits` float32 `(batch,
sequence, vocab)` and `new_cache` (ONNX forbids an output with the name of an input). The
whole prompt at index 0 is the prefill; one token at its position is a decode step.

Written by `tfzoo.export.decoding.export_onnx_decoder`; `OnnxDecoder` runs it in ONNX Runtime.
"""

import logging
import os

import numpy as np

from tfzoo.export.formats import decoder_base, onnx
from tfzoo.export.formats.base import check_opset, median_ms

NAME = "onnx_decoder"
KIND = "decoder"
EXTENSION = ".onnx"
RUNNER_SCRIPT = None


def check_arguments(options):
    if options.quantize is not None:
        raise ValueError(f"An ONNX decoder is float32. Received: quantize={options.quantize!r}")
    check_opset(options.opset)


def write(causal_lm, path, options):
    """Traces one `call_with_cache` step and converts it with tf2onnx."""
    content = _convert(causal_lm, options.max_length, options.opset)
    with open(path, "wb") as f:
        f.write(content)
    return []


def runner(path, threads):
    return OnnxDecoder(path, threads=threads)


runtime = onnx.runtime


def ops(path, causal_lm=None, decoder=None):
    del causal_lm, decoder
    return onnx.ops(path)


def details(path, decoder, options):
    del path, options
    return {"inputs": decoder.input_shapes, "outputs": decoder.output_shapes}


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
        self.path = os.fspath(path)
        self.session = onnx.session(self.path, threads)
        inputs = {i.name: i for i in self.session.get_inputs()}
        if set(inputs) != {"token_ids", "cache", "cache_update_index"}:
            raise ValueError(
                f"{self.path} is not a tfzoo ONNX decoder: its inputs are {sorted(inputs)}, not "
                f"token_ids, cache, cache_update_index. Write one with export_onnx_decoder."
            )
        self.cache_shape = tuple(d if isinstance(d, int) else None for d in inputs["cache"].shape)
        self.max_length = self.cache_shape[3]
        self.input_shapes = {n: decoder_base.dims(i.shape) for n, i in inputs.items()}
        self.output_shapes = {
            o.name: decoder_base.dims(o.shape) for o in self.session.get_outputs()
        }

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
        prompt = decoder_base.one_prompt(token_ids)[None]
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
        decoder_base.check_room(prompt.shape[1], max_new_tokens, self.max_length)
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
        return median_ms(lambda: self.step(token, cache, 1), runs, warmup=1)


def _convert(causal_lm, max_length, opset):
    """ONNX bytes of one `call_with_cache` step with a dynamic batch and sequence."""
    import tensorflow as tf
    import tf2onnx

    from tfzoo.layers import runtime_checks

    backbone = causal_lm.backbone
    compute_dtype = backbone.compute_dtype
    specs = [
        tf.TensorSpec((None, None), tf.int32, name="token_ids"),
        tf.TensorSpec(
            decoder_base.cache_shape(backbone, None, max_length), tf.float32, name="cache"
        ),
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
