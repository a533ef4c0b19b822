"""Input checks shared by the embedding layers.

Out-of-range token ids are silently turned into zero vectors by an embedding lookup on GPU, and a
float id is silently truncated, so the embedding layers check their inputs:

* statically (shapes, dtypes) whenever a shape or dtype is known, with a `ValueError`;
* on concrete values (eager calls, `predict` on NumPy arrays) with a `ValueError`;
* inside a traced TensorFlow graph (`fit`, `tf.function`) with `tf.debugging` assertions, which
  `runtime_checks(False)` removes, as the exporters do: TFLite and ONNX have no assert op.
  tfzoo models turn a failed assertion under `fit`/`evaluate`/`predict` back into a `ValueError`
  whose first line is the check's message (`graph_error_message`).
"""

import contextlib
import numbers
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


def check_positive_ints(minimum=1, allow_none=False, **values):
    """Raises a `ValueError` naming the argument unless each value is an int >= `minimum`.

    Example:

    >>> check_positive_ints(num_heads=0)   # ValueError: ... Received: num_heads=0
    """
    for name, value in values.items():
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            hint = " (or None)" if allow_none else ""
            raise ValueError(
                f"`{name}` must be an int >= {minimum}{hint}. Received: {name}={value!r}"
            )


# Messages of the value checks that run inside traced graphs; `graph_error_message` finds them
# in the text of the error TensorFlow raises ("Graph execution error: ...").
_GRAPH_MESSAGES = set()


def _in_traced_graph(x):
    if not runtime_checks_enabled() or keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.is_tensor(x) and not isinstance(x, keras.KerasTensor) and not tf.executing_eagerly()


def graph_assert(x, condition, message, data=()):
    """Returns `x` after an in-graph assertion that `condition` holds, failing with `message`.

    Only inside a traced TensorFlow graph with runtime checks on (see `runtime_checks`);
    otherwise returns `x` unchanged.
    """
    if not _in_traced_graph(x):
        return x
    import tensorflow as tf

    _GRAPH_MESSAGES.add(message)
    check = tf.debugging.Assert(condition, [message, *data], summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(x)


def graph_error_message(error):
    """The clear message of a tfzoo in-graph check found in a TensorFlow `error`, else `None`.

    The result's first line is the check's message; the next line holds what TensorFlow
    printed (the offending values).
    """
    text = str(error).replace("\\'", "'")  # TensorFlow escapes quotes in the message
    found = [m for m in _GRAPH_MESSAGES if m in text]
    if not found:
        return None
    message = max(found, key=len)
    detail = next((line for line in text.splitlines() if message in line), "")
    detail = detail.split("assertion failed:", 1)[-1].replace(message, "", 1).strip(" []")
    detail = detail.replace("] [", " ")  # "[found min] [-1] [max] [77]" -> "found min -1 max 77"
    return f"{message}\nFound while running the compiled model: {detail}" if detail else message


def check_ids(ids, upper, name, size_name, hint):
    """Raises if `ids` has a float dtype or values outside `[0, upper)`.

    Concrete values are checked here (`ValueError` naming the bad ids); inside a traced graph an
    assertion with the same message is added (see `graph_error_message`). Returns `ids`.
    """
    check_integer_ids(ids, name)
    head = f"`{name}` holds ids outside [0, {upper}) (the model has {size_name}={upper})"
    if _is_concrete(ids):
        values = ops.convert_to_numpy(ids)
        if values.size and (values.min() < 0 or values.max() >= upper):
            bad = values[(values < 0) | (values >= upper)]
            raise ValueError(f"{head}: found {bad.ravel()[:5].tolist()}. {hint}")
        return ids
    if _in_traced_graph(ids):
        import tensorflow as tf

        inside = tf.logical_and(
            tf.reduce_all(ids >= 0), tf.reduce_all(ids < tf.cast(upper, ids.dtype))
        )
        # Fixed-size data (no boolean_mask), so the check also traces under XLA.
        found = ["found min", tf.reduce_min(ids), "max", tf.reduce_max(ids)]
        ids = graph_assert(ids, inside, f"{head}. {hint}", found)
    return ids


def check_token_ids(token_ids, vocabulary_size, name="token_ids"):
    """Raises if `token_ids` has a float dtype or values outside `[0, vocabulary_size)`."""
    return check_ids(
        token_ids,
        vocabulary_size,
        name,
        "vocabulary_size",
        "The tokenizer and the model disagree on the vocabulary; use the tokenizer that matches "
        "the model, or build the model with a larger vocabulary_size.",
    )


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


def check_sequence_shape(token_ids, max_sequence_length=None, name="token_ids"):
    """Checks that `token_ids` `(batch, seq)` is not empty and fits the position table.

    Static sizes raise a `ValueError`; a sequence length only known when the graph runs gets an
    in-graph assertion with the same advice. Returns `token_ids`.
    """
    shape = tuple(token_ids.shape)
    if len(shape) != 2:
        raise ValueError(
            f"`{name}` must have rank 2 (batch, sequence); received shape {shape}. Add a batch "
            f"axis for a single sequence (`ids[None]`)."
        )
    if shape[0] == 0:
        raise ValueError(
            f"`{name}` holds an empty batch (shape {shape}). Pass at least one sequence."
        )
    if shape[1] == 0:
        raise ValueError(
            f"`{name}` holds sequences of length 0 (shape {shape}). Pass at least one token per "
            f"sequence."
        )
    if max_sequence_length is not None:
        check_sequence_length(shape[1], max_sequence_length)
    if shape[1] is None and _in_traced_graph(token_ids):
        import tensorflow as tf

        length = tf.shape(token_ids)[1]
        token_ids = graph_assert(
            token_ids,
            length > 0,
            f"`{name}` holds sequences of length 0. Pass at least one token per sequence.",
        )
        if max_sequence_length is not None:
            token_ids = graph_assert(
                token_ids,
                length <= max_sequence_length,
                f"The sequence has more positions than the model's position table "
                f"(max_sequence_length={max_sequence_length}). Truncate the input to "
                f"{max_sequence_length} tokens, or build the model with a larger "
                f"max_sequence_length.",
                ["sequence length:", length],
            )
    return token_ids


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
