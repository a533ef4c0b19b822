"""ONNX: an `.onnx` ModelProto converted with tf2onnx, run by ONNX Runtime (CPU provider)."""

import collections
import contextlib
import gc
import logging
import os

from tfzoo.export.formats.base import float_only

NAME = "onnx"
KIND = "model"
EXTENSION = ".onnx"
RUNNER_SCRIPT = "run_onnx.py"

# Float32 only: a `quantize` mode is refused.
check_arguments = float_only("onnx")

_STANDARD_ONNX_DOMAINS = ("", "ai.onnx")
# ONNX `ModelProto` top-level fields: number -> protobuf wire type (0 varint, 2 bytes).
_ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def write(serving, path, options):
    """Converts the serving function with tf2onnx and writes the `.onnx` file.

    Inputs keep their names; their dynamic dimensions are named `batch` and `sequence`
    (`encoder_sequence`, `decoder_sequence` for an encoder-decoder).
    """
    import tf2onnx

    from tfzoo.export.signature import sequence_group
    from tfzoo.layers import runtime_checks

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)

    def convert(lean):
        with runtime_checks(False), _lean_tf2onnx(lean):
            return tf2onnx.convert.from_function(
                serving.function,
                input_signature=list(serving.specs.values()),
                opset=options.opset,
                output_path=None,
            )[0]

    try:
        model_proto = convert(lean=True)
    except Exception:  # e.g. an ONNX graph optimizer pass failed: tf2onnx's own way skips it
        gc.collect()
        model_proto = convert(lean=False)
    gc.collect()  # the converter's graphs are reference cycles holding copies of the weights
    for graph_input in model_proto.graph.input:
        dims = graph_input.type.tensor_type.shape.dim
        # An encoder-decoder's source and target lengths get distinct names (they differ).
        sequence = sequence_group(graph_input.name) + "sequence"
        for dim, label in zip(dims, ("batch", sequence)):
            if not dim.HasField("dim_value"):
                dim.dim_param = label
    with open(path, "wb") as f:
        f.write(model_proto.SerializeToString())
    return []


@contextlib.contextmanager
def _lean_tf2onnx(enabled=True):
    """Keeps tf2onnx's ONNX graph optimizer from piling up copies of the weights.

    Two things made `tf2onnx.convert.from_function` grow by one copy of every weight per
    optimizer pass (12 passes a round, rounds repeated until nothing changes): 6.3-6.6 GB peak
    RSS for all-MiniLM-L6-v2 (22M parameters, 90 MB of weights), most of the demo's peak.

    1. After each pass `Node.update_proto` clears the node's `NodeProto` attributes and adds
       them again, a new copy of a constant's tensor each time. Under protobuf's upb backend a
       cleared sub-message stays in its parent's arena until the parent is freed, so the copies
       of every weight accumulate for the whole conversion. Here each update starts from a
       fresh `NodeProto` (same fields, no attributes): the old one is freed with its copies.
    2. With `TF2ONNX_CATCH_ERRORS` unset (tf2onnx's default) the optimizer deep-copies the whole
       graph before each pass, to skip a pass that fails; set to "FALSE" here. tf2onnx 1.17
       compares the variable's name, not its value, with "TRUE", so any value means off;
       "FALSE" means off under that reading and the intended one alike.

    `write` converts with this and, only if that raises, again without (`enabled=False`
    restores tf2onnx's behaviour for the duration).
    """
    from tf2onnx.graph import Node

    name = "TF2ONNX_CATCH_ERRORS"
    previous = os.environ.get(name)
    original = Node.update_proto

    def update_proto(self, *args, **kwargs):
        self._op = _without_attributes(self._op)
        return original(self, *args, **kwargs)

    if enabled:
        os.environ[name] = "FALSE"
        Node.update_proto = update_proto
    else:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        Node.update_proto = original
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _without_attributes(proto):
    """A new message of `proto`'s type with every field copied except `attribute`."""
    fresh = type(proto)()
    for field, value in proto.ListFields():
        if field.name == "attribute":
            continue
        repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.29; `label` before
        if repeated is None:
            repeated = field.label == field.LABEL_REPEATED
        if repeated:
            getattr(fresh, field.name).extend(value)
        elif field.message_type is not None:
            getattr(fresh, field.name).CopyFrom(value)
        else:
            setattr(fresh, field.name, value)
    return fresh


def session(path, threads):
    """An ONNX Runtime CPU session with `threads` intra-op threads (quiet logging)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def runner(path, threads):
    """Returns `run(inputs)` in an ONNX Runtime CPU session with `threads` intra-op threads."""
    onnx_session = session(path, threads)
    names = [o.name for o in onnx_session.get_outputs()]

    def run(inputs):
        return dict(zip(names, onnx_session.run(names, inputs)))

    return run


def runtime():
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


def ops(path, source=None, run=None):
    """Op counts by ONNX op type; ops outside the standard domain are listed as non-builtin."""
    del source, run
    import onnx

    model = onnx.load(path, load_external_data=False)
    nodes = list(model.graph.node)
    by_type = dict(sorted(collections.Counter(n.op_type for n in nodes).items()))
    non_builtin = sorted(
        {f"{n.domain}.{n.op_type}" for n in nodes if n.domain not in _STANDARD_ONNX_DOMAINS}
    )
    return {
        "count": len(nodes),
        "by_type": by_type,
        "non_builtin": non_builtin,
        "opset": max(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None
        ),
    }


def sniff(path):
    """A protobuf `ModelProto` whose top-level fields are all ONNX model fields, with a graph.

    Only the top-level field tags are read (lengths are skipped), so a large file is not loaded.
    """
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return _is_onnx_model(f, os.path.getsize(path))


def _is_onnx_model(f, size):
    def varint():
        value, shift = 0, 0
        while shift < 64:
            byte = f.read(1)
            if not byte:
                return None
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value
            shift += 7
        return None

    seen = set()
    while f.tell() < size:
        tag = varint()
        if tag is None or _ONNX_MODEL_FIELDS.get(tag >> 3) != tag & 7:
            return False
        seen.add(tag >> 3)
        value = varint()
        if value is None:
            return False
        if tag & 7 == 2:
            if f.tell() + value > size:
                return False
            f.seek(value, os.SEEK_CUR)
    return 7 in seen
