"""SavedModel: a directory with one `serving_default` signature, run by TensorFlow."""

import os

from tfzoo.export.formats.base import float_only

NAME = "saved_model"
KIND = "model"
EXTENSION = ""
RUNNER_SCRIPT = "run_saved_model.py"

# Float32 only: a `quantize` mode is refused.
check_arguments = float_only("saved_model")


def write(serving, path, options):
    """Writes a SavedModel directory with one `serving_default` signature."""
    del options
    import tensorflow as tf

    tf.saved_model.save(serving.module, path, signatures={"serving_default": serving.concrete})
    return []


def runner(path, threads):
    """Returns `run(inputs) -> dict of arrays` calling the loaded `serving_default` signature."""
    import tensorflow as tf

    del threads  # TensorFlow's thread pools are process-wide and fixed once TF has run an op.
    function = tf.saved_model.load(path).signatures["serving_default"]

    def run(inputs):
        outputs = function(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}

    return run


def runtime():
    import tensorflow as tf

    return f"tensorflow {tf.__version__}"


def ops(path, serving, run):
    """Op summary of the traced graph (all TensorFlow ops, so none is non-builtin)."""
    del path, run
    skip = {"Placeholder", "NoOp", "Const", "Identity", "ReadVariableOp"}
    by_type = {k: v for k, v in sorted(serving.graph_ops.items()) if k not in skip}
    return {"count": sum(by_type.values()), "by_type": by_type, "non_builtin": []}


def sniff(path):
    """A directory with `saved_model.pb` (or `.pbtxt`)."""
    names = ("saved_model.pb", "saved_model.pbtxt")
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, n)) for n in names)
