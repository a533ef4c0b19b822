"""`ZooModel`: what tfzoo backbones and task models add to Keras' `fit`, `evaluate`, `predict`.

* Empty data (no rows) is a `ValueError`, not an empty history and an untrained model.
* A `ValueError` raised inside a layer leads with its own message: Keras' "Exception
  encountered when calling X.call()" context moves after it.
* A failed in-graph check of a tfzoo layer (an id outside the vocabulary, a sequence longer
  than the position table, a label outside the classes) is re-raised as a `ValueError` whose
  first line is the check's message, instead of TensorFlow's "Graph execution error:".
* Labels of a sparse cross-entropy loss are checked: integer dtype (a float label such as
  `0.5` would be truncated) and values in `[0, num_classes)` (or the loss's `ignore_class`).
* The plain Keras multi-device idiom works (`with strategy.scope(): build, compile`, then
  `fit`): Keras 3.15 builds the metrics from the first distributed batch reduced with
  `strategy.reduce("MEAN")`, which turns int32 token ids into float64 (`MirroredStrategy`) or
  fails on dict inputs (`MultiWorkerMirroredStrategy`); tfzoo models build from the first
  replica's batch instead, which keeps its dtypes. Under `MultiWorkerMirroredStrategy`, Keras
  reduces each scalar log along an axis it does not have; tfzoo models hand it rank-1 logs.
"""

import contextlib
import re

import keras

from tfzoo.layers import checks

_SPARSE_LOSS_NAMES = ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")


class ZooModel(keras.Model):
    """Base class of `tfzoo.models.Backbone` and `tfzoo.models.Task` (see the module doc)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except ValueError as error:
            clear = _lead_with_cause(error)
            if clear is None:
                raise
            raise clear from None

    def fit(self, x=None, y=None, *args, **kwargs):
        _check_not_empty("fit", x, y)
        with _clear_graph_errors(self):
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        _check_not_empty("evaluate", x, y)
        with _clear_graph_errors(self):
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        _check_not_empty("predict", x)
        with _clear_graph_errors(self):
            return super().predict(x, *args, **kwargs)

    def train_step(self, data):
        return self._logs_for_reduction(super().train_step(self._check_batch(data)))

    def test_step(self, data):
        return self._logs_for_reduction(super().test_step(self._check_batch(data)))

    # --- labels ------------------------------------------------------------------------------
    def _sparse_label_setup(self):
        """`(num_classes, ignore_class)` when the compiled loss takes sparse class ids, else None."""
        loss = getattr(self, "loss", None)
        if isinstance(loss, str):
            sparse, ignore_class = loss in _SPARSE_LOSS_NAMES, None
        elif isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            sparse, ignore_class = True, loss.get_config().get("ignore_class")
        else:
            sparse = loss is keras.losses.sparse_categorical_crossentropy
            ignore_class = None
        output = self.outputs[0] if getattr(self, "outputs", None) else None
        if not sparse or output is None or len(self.outputs) != 1 or output.shape[-1] is None:
            return None
        return int(output.shape[-1]), ignore_class

    def _check_batch(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        setup = self._sparse_label_setup()
        if y is None or setup is None or not hasattr(y, "dtype"):
            return data
        y = _check_labels(y, *setup)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    # --- MultiWorkerMirroredStrategy -------------------------------------------------------
    def _logs_for_reduction(self, logs):
        # Keras 3.15 reduces every log of a multi-worker step with
        # `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars ("Invalid reduction
        # dimension 0 for input with 0 dimensions"); a rank-1 log reduces to the scalar mean.
        if not _in_multi_worker_mode(self.distribute_strategy):
            return logs
        from keras import ops

        return {
            k: ops.reshape(v, (1,)) if len(getattr(v, "shape", (1,))) == 0 else v
            for k, v in logs.items()
        }

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15 (keras/src/backend/tensorflow/trainer.py) builds from the first
        # distributed batch reduced with strategy.reduce("MEAN", batch, axis=None): int32 token
        # ids become float64 (MirroredStrategy) and dict inputs fail (MultiWorkerMirrored).
        # The first replica's batch has the right dtypes and the per-replica shape.
        if iterator is not None and getattr(self, "_distribute_strategy", None) is not None:
            strategy = self._distribute_strategy
            for _, _, data in iterator:
                data_batch = keras.tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], next(data)
                )
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def _in_multi_worker_mode(strategy):
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def _check_labels(y, num_classes, ignore_class):
    import tensorflow as tf

    dtype = keras.backend.standardize_dtype(y.dtype)
    if "int" not in dtype:
        raise ValueError(
            f"Labels must be integer class ids in [0, {num_classes}), but have dtype {dtype}; "
            f"a sparse cross-entropy would truncate a float label such as 0.5 to 0. Pass the "
            f"labels as int32 (e.g. `y.astype('int32')`)."
        )
    if not tf.is_tensor(y) or tf.executing_eagerly():
        return y
    valid = tf.logical_and(y >= 0, y < num_classes)
    if ignore_class is not None:
        valid = tf.logical_or(valid, tf.equal(y, tf.cast(ignore_class, y.dtype)))
    return checks.graph_assert(
        y,
        tf.reduce_all(valid),
        f"Labels out of range: class ids must be in [0, {num_classes}) (num_classes="
        f"{num_classes}). Map the labels to 0 .. {num_classes - 1}, or build the model with more "
        f"classes.",
        ["found min", tf.reduce_min(y), "max", tf.reduce_max(y)],
    )


def _check_not_empty(method, x, y=None):
    for name, data in (("x", x), ("y", y)):
        if data is None:
            continue
        cardinality = getattr(data, "cardinality", None)
        if callable(cardinality) and hasattr(data, "element_spec"):  # a tf.data.Dataset
            if int(cardinality()) == 0:
                raise ValueError(
                    f"{method}() received an empty dataset (no batches). Check the data "
                    f"pipeline (filters, `take`, file paths) before calling {method}()."
                )
            continue
        leaves = keras.tree.flatten(data) if isinstance(data, (dict, list, tuple)) else [data]
        for leaf in leaves:
            kind = getattr(getattr(leaf, "dtype", None), "kind", None)  # NumPy arrays only
            if name == "x" and kind in ("U", "S", "O"):
                raise ValueError(
                    f"{method}() received text (a NumPy array of dtype {leaf.dtype}), but the "
                    f"model takes integer token ids. Tokenize first, e.g. "
                    f"`tfzoo.tokenizer_from_pretrained(...)(texts)`."
                )
            shape = getattr(leaf, "shape", None)
            if shape is not None and len(shape) and shape[0] == 0:
                raise ValueError(
                    f"{method}() received no examples: `{name}` has shape {tuple(shape)}. Pass "
                    f"at least one example (with none, Keras would return without running "
                    f"the model)."
                )


@contextlib.contextmanager
def _clear_graph_errors(model):
    """Re-raises a failed tfzoo in-graph check as a `ValueError` that leads with its message."""
    try:
        yield
    except Exception as error:
        # A function whose first trace failed cannot be traced again ("Creating variables on a
        # non-first call"): drop it, so that `fit` works once the user has fixed the data.
        model.train_function = model.test_function = model.predict_function = None
        if isinstance(error, ValueError):
            clear = _lead_with_cause(error)
            if clear is None:
                raise
            raise clear from None
        message = checks.graph_error_message(error) if _is_op_error(error) else None
        if message is None:
            raise
        raise ValueError(message) from None


_KERAS_CONTEXT = re.compile(
    r"Exception encountered when calling (.*?)\.\n\n\x1b\[1m(.*?)\x1b\[0m(.*)", re.DOTALL
)


def _lead_with_cause(error):
    """A copy of a `ValueError` that Keras wrapped in "Exception encountered when calling
    X.call()" and "Arguments received by ...", holding only tfzoo's own one-line message (the
    arguments Keras lists are the tensors the user passed); `None` if not wrapped."""
    text = str(error)
    match = _KERAS_CONTEXT.match(text)
    if match is None:
        return None
    while match is not None:
        text = match.group(2)
        match = _KERAS_CONTEXT.match(text)
    return error.__class__(text.strip())


def _is_op_error(error):
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(error, tf.errors.OpError)
