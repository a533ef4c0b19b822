"""What a user gets wrong, for every family: bad sizes, empty data, float or out-of-range labels,
out-of-range ids under `fit`/`evaluate`/`predict`. Each is a `ValueError` whose first line names
the problem (not TensorFlow's "Graph execution error:", not an empty history)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfzoo
from tfzoo.models import (
    BertBackbone,
    GPTBackbone,
    LlamaBackbone,
    Seq2SeqBackbone,
    ViTBackbone,
)
from tfzoo.testing import TINY_IMAGE_SIZES, TINY_TEXT_SIZES

TEXT = dict(TINY_TEXT_SIZES, vocabulary_size=50, max_sequence_length=8)
# name -> (backbone class, arguments that build it directly and override the preset, task)
FAMILIES = {
    "bert-tiny": (BertBackbone, TEXT, "classification"),
    "gpt2": (GPTBackbone, TEXT, "causal_lm"),
    "gpt-mini-long": (
        GPTBackbone,
        dict(TEXT, sliding_window=4, attention_implementation="local"),
        "causal_lm",
    ),
    "llama-tiny": (LlamaBackbone, dict(TEXT, num_key_value_heads=1), "causal_lm"),
    "transformer-base": (Seq2SeqBackbone, TEXT, "seq2seq_lm"),
    "vit-tiny": (
        ViTBackbone,
        dict(TINY_IMAGE_SIZES, patch_size=8),
        "classification",
    ),
}
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _first_line(error):
    return str(error.value).splitlines()[0]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_degenerate_sizes_name_the_argument(name):
    backbone_cls, config, _ = FAMILIES[name]
    bad = [("num_heads", 0), ("num_layers", 0), ("hidden_dim", -16), ("intermediate_dim", 0)]
    if name == "vit-tiny":
        bad += [("image_size", 0), ("patch_size", 0), ("num_channels", 0)]
    else:
        bad += [("vocabulary_size", 0), ("max_sequence_length", 0), ("num_layers", 2.0)]
    for argument, value in bad:
        match = rf"^`{argument}` must be an int >= 1\. Received: {argument}={value}$"
        with pytest.raises(ValueError, match=match):
            tfzoo.build(name, **{**config, argument: value})
        with pytest.raises(ValueError, match=match):
            backbone_cls(**{**config, argument: value})


def _task(name):
    _, config, task = FAMILIES[name]
    extra = {"num_classes": 3} if task == "classification" else {}
    model = tfzoo.build(name, task=task, **config, **extra)
    model.compile(optimizer="sgd", loss=SCE)
    return model


def _data(name, batch=4, length=6, rng=None):
    """Inputs and sparse labels for the task model of `name`."""
    rng = rng or np.random.default_rng(0)
    if name == "vit-tiny":
        return {"images": rng.normal(size=(batch, 16, 16, 3)).astype("float32")}, np.arange(
            batch
        ) % 3
    ids = rng.integers(1, 50, (batch, length)).astype("int32")
    mask = np.ones_like(ids)
    if name == "transformer-base":
        x = {
            "encoder_token_ids": ids,
            "encoder_padding_mask": mask,
            "decoder_token_ids": ids,
            "decoder_padding_mask": mask,
        }
        return x, ids
    x = {"token_ids": ids, "padding_mask": mask}
    if name == "bert-tiny":
        x["segment_ids"] = np.zeros_like(ids)
        return x, np.arange(batch) % 3
    return x, ids


def _rows(x, stop):
    return {k: v[:stop] for k, v in x.items()}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_empty_data_and_float_labels_are_errors(name):
    model = _task(name)
    x, y = _data(name)
    with pytest.raises(ValueError, match=r"^fit\(\) received no examples: `x` has shape \(0,"):
        model.fit(_rows(x, 0), y[:0], verbose=0)
    with pytest.raises(ValueError, match=r"^predict\(\) received no examples"):
        model.predict(_rows(x, 0), verbose=0)
    with pytest.raises(ValueError, match=r"^evaluate\(\) received an empty dataset"):
        model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).take(0).batch(2), verbose=0)
    with pytest.raises(ValueError, match="holds an empty batch"):
        model(_rows(x, 0))
    with pytest.raises(ValueError, match=r"^Labels must be integer class ids in \[0, \d+\), but "):
        model.fit(x, y + 0.5, verbose=0)
    # Fixed data then trains: the failed first trace does not break later calls.
    history = model.fit(x, y, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if name != "vit-tiny":
        empty = {k: v[:, :0] for k, v in x.items()}
        for run in (lambda: model(empty), lambda: model.predict(empty, verbose=0)):
            with pytest.raises(ValueError, match="token_ids` holds sequences of length 0"):
                run()


def _ragged_dataset(x, y, batch=2):
    """A dataset whose sequence length is unknown when the graph is traced (as from a tokenizer)."""
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch)
        .map(lambda a, b: ({k: tf.reshape(v, [tf.shape(v)[0], -1]) for k, v in a.items()}, b))
    )


def _attempts(model, inputs, labels, predict):
    runs = [
        lambda: model.fit(inputs, labels, verbose=0),
        lambda: model.evaluate(inputs, labels, verbose=0),
        lambda: model.fit(_ragged_dataset(inputs, labels), verbose=0),  # in-graph checks
    ]
    if predict:
        runs += [
            lambda: model.predict(inputs, verbose=0),
            lambda: model.predict(_ragged_dataset(inputs, labels), verbose=0),
            lambda: model(inputs),
        ]
    return runs


def test_bad_values_under_fit_evaluate_predict_lead_with_the_message():
    model = _task("bert-tiny")
    x, y = _data("bert-tiny")
    oov = dict(x, token_ids=np.where(x["token_ids"] == x["token_ids"][0, 0], 77, x["token_ids"]))
    negative = dict(x, token_ids=-x["token_ids"])
    segments = dict(x, segment_ids=np.full_like(x["segment_ids"], 2))
    too_long = {k: np.concatenate([v, v], axis=1) for k, v in x.items()}  # 12 > 8 positions
    vocabulary = r"^`token_ids` holds ids outside \[0, 50\) \(the model has vocabulary_size=50\)"
    cases = [
        (oov, y, vocabulary),
        (negative, y, vocabulary),
        (segments, y, r"^`segment_ids` holds ids outside \[0, 2\) \(the model has num_segments"),
        (too_long, y, r"^The sequence has .*max_sequence_length=8\)?\. Truncate the input to 8"),
        (x, y + 3, r"^Labels out of range: class ids must be in \[0, 3\) \(num_classes=3\)"),
    ]
    for inputs, labels, match in cases:
        for run in _attempts(model, inputs, labels, predict=labels is y):
            with pytest.raises(ValueError, match=match) as error:
                run()
            assert "Graph execution error" not in _first_line(error)
    assert np.isfinite(model.fit(_ragged_dataset(x, y), verbose=0).history["loss"][0])


@pytest.mark.parametrize("name", ["gpt2", "transformer-base"])
def test_language_model_labels_and_ids_under_fit(name):
    model = _task(name)
    x, y = _data(name)
    with pytest.raises(ValueError, match=r"^Labels out of range: class ids must be in \[0, 50\)"):
        model.fit(_ragged_dataset(x, y + 50), verbose=0)
    key = "token_ids" if name == "gpt2" else "decoder_token_ids"
    bad = dict(x, **{key: x[key] + 50})
    with pytest.raises(ValueError, match=rf"^`{key}` holds ids outside \[0, 50\)"):
        model.fit(_ragged_dataset(bad, y), verbose=0)


def test_ignore_class_labels_train():
    model = _task("gpt2")
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-100),
    )
    x, y = _data("gpt2")
    y = np.where(np.arange(y.shape[1]) < 2, -100, y)  # unlabeled first positions
    assert np.isfinite(model.fit(x, y, verbose=0).history["loss"][0])


def test_in_graph_checks_stay_out_of_exported_graphs():
    model = _task("bert-tiny")
    x, _ = _data("bert-tiny")
    spec = {k: tf.TensorSpec((None, None), tf.int32) for k in x}

    def asserts(function):
        graph = tf.function(function).get_concrete_function(spec).graph
        return [op.type for op in graph.get_operations() if op.type == "Assert"]

    assert asserts(model)  # fit/predict graphs check ids, segments and lengths ...
    with tfzoo.layers.runtime_checks(False):  # ... exporters trace without them
        assert not asserts(model)
