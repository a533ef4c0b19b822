"""Input checks shared by the embedding layers.

Out-of-range token ids are silently turned into zero vectors by an embedding lookup on GPU, and a
float id is silently truncated, so the embedding layers check their inputs:

* statically (shapes, dtypes) whenever a shape or dtype is known, with a `ValueError`;
* on concrete values (eager calls, `predict` on NumPy arrays) with a `ValueError`;
* inside a traced TensorFlow graph (`fit`, `tf.function`) with `tf.debugging` assertions, which
  `runtime_checks(False)` removes, as the exporters do: TFLite and ONNX have no assert op.
"""

import contextlib
import threading

import keras
from keras import ops

_state = threading.local()


def runtime_checks_enabled():
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def runtime_checks(enabled):
    """Turns the in-graph value checks of tfzoo layers on or off inside a `with` block."""
    previous = runtime_checks_enabled()
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = previous


def _is_concrete(x):
    if isinstance(x, keras.KerasTensor):
        return False
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly()
    return True


def check_integer_ids(token_ids, name="token_ids"):
    dtype = keras.backend.standardize_dtype(token_ids.dtype)
    if "int" not in dtype:
        raise ValueError(
            f"`{name}` must be an integer tensor, but has dtype {dtype}. Token ids are indices "
            f"into the vocabulary: pass them as int32 (e.g. `np.asarray(ids, 'int32')`)."
        )


def check_token_ids(token_ids, vocabulary_size, name="token_ids"):
    """Raises if `token_ids` has a float dtype or values outside `[0, vocabulary_size)`."""
    check_integer_ids(token_ids, name)
    if _is_concrete(token_ids):
        values = ops.convert_to_numpy(token_ids)
        if values.size and (values.min() < 0 or values.max() >= vocabulary_size):
            bad = values[(values < 0) | (values >= vocabulary_size)]
            raise ValueError(
                f"`{name}` holds ids outside [0, {vocabulary_size}): found {bad.ravel()[:5].tolist()}. "
                f"The tokenizer and the model disagree on the vocabulary; use the tokenizer that "
                f"matches the model, or build the model with vocabulary_size >= {int(values.max()) + 1}."
            )
        return token_ids
    if runtime_checks_enabled() and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        asserts = [
            tf.debugging.assert_non_negative(token_ids, message=f"{name} must be >= 0"),
            tf.debugging.assert_less(
                token_ids,
                tf.cast(vocabulary_size, token_ids.dtype),
                message=f"{name} must be < vocabulary_size={vocabulary_size}",
            ),
        ]
        with tf.control_dependencies(asserts):
            token_ids = tf.identity(token_ids)
    return token_ids


def check_sequence_length(sequence_length, max_sequence_length, start_index=0):
    """Raises if a static sequence length (plus a static start index) exceeds the table."""
    if isinstance(sequence_length, int) and isinstance(start_index, int):
        if start_index + sequence_length > max_sequence_length:
            raise ValueError(
                f"The sequence has {start_index + sequence_length} positions but the model's "
                f"position table has max_sequence_length={max_sequence_length}. Truncate the input "
                f"to {max_sequence_length} tokens, or build the model with a larger "
                f"max_sequence_length."
            )


def check_mask_shape(token_ids, mask, name):
    """Raises if `mask` does not have the (static) shape of `token_ids`."""
    if mask is None:
        return
    a, b = tuple(token_ids.shape), tuple(mask.shape)
    same_rank = len(a) == len(b)
    if not same_rank or any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        raise ValueError(
            f"`{name}` must have the shape of `token_ids` {a}, but has shape {b}. Pass one "
            f"{name} entry per token (1 for a real token, 0 for padding)."
        )
