"""Tiny models and tiny data for tests: one place that builds them, so test files stay short.

`tiny_model` builds any zoo family and task at test size (1 layer, hidden 16, 2 heads);
`tiny_token_data` and `tiny_classification_data` make the token batches tests feed them;
`randomize_weights` gives every kernel distinct random values (the zoo's shared initializer
gives same-shaped kernels equal initial values, which ties magnitudes and symmetric updates).
"""

import numpy as np

from tfzoo import zoo

# The sizes every tiny model starts from; any of them can be overridden.
TINY_SIZES = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
TINY_TEXT_SIZES = dict(TINY_SIZES, vocabulary_size=64, max_sequence_length=16)
TINY_IMAGE_SIZES = dict(TINY_SIZES, image_size=16, patch_size=4)
# Two layers of width 32, for tests that need depth or some capacity (training, pruning).
SMALL_TEXT_SIZES = dict(TINY_TEXT_SIZES, num_layers=2, hidden_dim=32, intermediate_dim=64)

# A family's smallest zoo entry, the one `tiny_model(family=...)` starts from.
FAMILY_MODELS = {
    "bert": "bert-tiny",
    "gpt": "gpt2",
    "llama": "llama-tiny",
    "seq2seq": "transformer-base",
    "t5": "t5-small",
    "vit": "vit-tiny",
}


def tiny_model(family="bert", task=None, **overrides):
    """Builds a test-sized zoo model of any family and task (random weights).

    Args:
        family: string. A family (`"bert"`, `"gpt"`, `"llama"`, `"seq2seq"`, `"t5"`, `"vit"`)
            or any zoo name (`"gpt2"`, `"bert-mini-long"`, ...; see `tfzoo.list_models()`).
            Defaults to `"bert"`.
        task: string or `None`. The task head, as in `tfzoo.build` (`"classification"`,
            `"masked_lm"`, `"causal_lm"`, `"seq2seq_lm"`, ...); `None` returns the backbone.
            Defaults to `None`.
        **overrides: arguments of `tfzoo.build` that replace the tiny sizes (1 layer, hidden 16,
            2 heads, intermediate 32; vocabulary 64 and sequence 16 for text, 16x16 images with
            4x4 patches for ViT) or the preset's other settings (`dropout=0.0`, ...).
            Classification tasks get `num_classes=2` unless given.

    Returns:
        A `keras.Model`, as `tfzoo.build` returns it.

    Example:

    >>> model = tfzoo.testing.tiny_model("bert", "classification", num_classes=3, dropout=0.0)
    >>> logits = model(tfzoo.testing.tiny_token_data(4, 8))  # shape (4, 3)
    """
    name = FAMILY_MODELS.get(family, family)
    if name not in zoo.list_models():
        raise ValueError(
            f"Unknown family or model {family!r}. Families: {sorted(FAMILY_MODELS)}; "
            "zoo names: tfzoo.list_models()."
        )
    image = zoo.get_config(name)["family"] == "vit"
    config = dict(TINY_IMAGE_SIZES if image else TINY_TEXT_SIZES)
    if task in ("classification", "token_classification"):
        config["num_classes"] = 2
    config.update(overrides)
    return zoo.build(name, task=task, **config)


def tiny_token_data(
    num_examples=16,
    sequence_length=8,
    vocabulary_size=64,
    seed=0,
    min_token_id=0,
    segment_ids=True,
):
    """A batch of random token ids with a full padding mask (and zero segment ids).

    Args:
        num_examples: int. Rows. Defaults to `16`.
        sequence_length: int. Columns. Defaults to `8`.
        vocabulary_size: int. Token ids are drawn from `[min_token_id, vocabulary_size)`.
            Defaults to `64`.
        seed: int or `numpy.random.Generator`. Pass a generator to keep drawing from it
            afterwards (labels, say). Defaults to `0`.
        min_token_id: int. The smallest id drawn (`1` keeps id 0, padding, out). Defaults to `0`.
        segment_ids: bool. Add `segment_ids` (zeros), as BERT inputs have. Defaults to `True`.

    Returns:
        A dict of int32 arrays `token_ids`, `padding_mask` (ones) and, if asked, `segment_ids`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> x = tfzoo.testing.tiny_token_data(32, 12, vocabulary_size=100, seed=rng)
    >>> y = rng.integers(0, 2, 32)
    """
    rng = np.random.default_rng(seed)  # returns `seed` itself when it is a Generator
    shape = (num_examples, sequence_length)
    inputs = {
        "token_ids": rng.integers(min_token_id, vocabulary_size, shape).astype("int32"),
        "padding_mask": np.ones(shape, "int32"),
    }
    if segment_ids:
        inputs["segment_ids"] = np.zeros(shape, "int32")
    return inputs


def tiny_classification_data(num_examples=128, sequence_length=16, vocabulary_size=64, seed=0):
    """Token sequences with a rule a tiny classifier learns in a few steps, and their labels.

    Class 1 sequences use ids from the lower half of the vocabulary (from 2), class 0 the upper
    half; every sequence starts with id 1 (a `[CLS]`-like token).

    Args:
        num_examples: int. Rows. Defaults to `128`.
        sequence_length: int. Columns. Defaults to `16`.
        vocabulary_size: int. Defaults to `64`.
        seed: int or `numpy.random.Generator`. Defaults to `0`.

    Returns:
        `(inputs, labels)`: `inputs` as `tiny_token_data` gives them, `labels` int32 of 0 and 1.
    """
    rng = np.random.default_rng(seed)
    shape = (num_examples, sequence_length)
    labels = rng.integers(0, 2, num_examples).astype("int32")
    low = rng.integers(2, vocabulary_size // 2, shape)
    high = rng.integers(vocabulary_size // 2, vocabulary_size, shape)
    ids = np.where(labels[:, None] == 1, low, high).astype("int32")
    ids[:, 0] = 1
    inputs = {
        "token_ids": ids,
        "padding_mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }
    return inputs, labels


def randomize_weights(model, stddev=0.05, seed=0, suffixes=("kernel",)):
    """Gives a model's kernels distinct random values, in place.

    tfzoo's backbones share one unseeded initializer instance, so same-shaped kernels start
    equal; tests of magnitudes (pruning) or of exact structure want them distinct.

    Args:
        model: a `keras.Model` (built).
        stddev: float. Standard deviation of the normal values. Defaults to `0.05`.
        seed: int or `numpy.random.Generator` (to keep drawing from it afterwards).
            Defaults to `0`.
        suffixes: tuple of strings. Variables whose path ends with one of them are set.
            Defaults to `("kernel",)`; `("kernel", "bias")` sets biases too.

    Returns:
        `model`.
    """
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        if weight.path.endswith(tuple(suffixes)):
            weight.assign(rng.normal(0.0, stddev, size=weight.shape).astype("float32"))
    return model
