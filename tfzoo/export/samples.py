"""The inputs an export is calibrated and verified on, and the Keras outputs for them."""

import numpy as np

from tfzoo.export import signature

# A classifier given representative data is verified on at least this many of its rows.
VERIFY_ROWS = 64


def calibration_batches(data, serving, steps):
    """Up to `steps` validated input dicts from a data set or iterable; `None` if no data."""
    if data is None:
        return None
    if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset
        items = data.take(steps).as_numpy_iterator()
    elif isinstance(data, dict):
        items = [data]
    else:
        try:
            items = iter(data() if callable(data) else data)
        except TypeError:
            raise ValueError(
                f"`representative_data` must be a tf.data.Dataset or an iterable of input dicts. "
                f"Received a {type(data).__name__}."
            ) from None
    batches = []
    for item in items:
        batches.append(signature.check_inputs("representative_data", item, serving.specs))
        if len(batches) >= steps:
            break
    if not batches:
        raise ValueError("`representative_data` is empty: give it at least one batch of inputs.")
    return batches


def sample_inputs(model, serving, sample, sequence_length, batch_size):
    """The user's `sample`, checked, or random valid inputs of `batch_size` rows."""
    if sample is None:
        return signature.random_sample(model, serving.specs, sequence_length, batch_size=batch_size)
    return signature.check_inputs("sample", sample, serving.specs)


def verification_set(model, serving, inputs, user_sample, representative_data, calibration):
    """The rows the artifact is compared on, the Keras outputs for them, and their source.

    A classifier (a 2-D `logits` output) given `representative_data` is verified on at least
    `VERIFY_ROWS` rows of it (after the rows of a user `sample`, which are kept; a random
    sample is replaced): top-1 agreement on the 2-8 rows of a sample says little (one flip
    on 8 rows is 0.875). Token rows of different lengths are right-padded with 0 (ids,
    `padding_mask` and segments alike), so a dynamic-length data set can be stacked.
    """
    expected = keras_outputs(model, inputs)
    rows = len(next(iter(inputs.values())))
    source = f"{rows} {'sample' if user_sample else 'random sample'} rows"
    logits = expected.get("logits")
    if representative_data is None or logits is None or logits.ndim != 2 or rows >= VERIFY_ROWS:
        return inputs, expected, source
    if calibration is None:
        calibration = calibration_batches(representative_data, serving, VERIFY_ROWS)
    pieces, taken = ([inputs], rows) if user_sample else ([], 0)
    for batch in calibration:
        if taken >= VERIFY_ROWS:
            break
        batch = {k: v[: VERIFY_ROWS - taken] for k, v in batch.items()}
        pieces.append(batch)
        taken += len(next(iter(batch.values())))
    checked = stack_rows(pieces)
    extra = taken - (rows if user_sample else 0)
    source = (f"{rows} sample rows + " if user_sample else "") + (
        f"{extra} representative_data rows"
    )
    return checked, keras_outputs(model, checked), source


def keras_outputs(model, inputs):
    """The model's outputs on `inputs`, as a dict of NumPy arrays named as the artifact's."""
    outputs = signature.as_output_dict(model, model(inputs, training=False))
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in outputs.items()}


def stack_rows(pieces):
    """Concatenates input dicts along the batch, right-padding token inputs with 0."""
    stacked = {}
    for name in pieces[0]:
        arrays = [p[name] for p in pieces]
        if arrays[0].ndim == 2:
            width = max(a.shape[1] for a in arrays)
            arrays = [np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in arrays]
        stacked[name] = np.concatenate(arrays, axis=0)
    return stacked
