"""keras-hub <-> tfzoo weight transfer: equal outputs in both directions (atol 1e-5).

keras-hub models are built from configs with random weights (no preset is downloaded).
"""

import keras_hub  # noqa: E402  (test extra: a missing reference must fail, not skip)
import numpy as np
import pytest

from tests.convert.hf_models import batch
from tfzoo.convert import from_keras_hub, to_keras_hub
from tfzoo.models import BertBackbone, GPTBackbone
from tfzoo.testing import SMALL_TEXT_SIZES

ATOL = 1e-5
# The same argument names build the keras-hub and the tfzoo models.
SIZES = dict(SMALL_TEXT_SIZES, vocabulary_size=150, max_sequence_length=48)


def _randomize(model, seed=0):
    rng = np.random.RandomState(seed)
    for v in model.weights:
        base = 1.0 if v.path.endswith("gamma") else 0.0
        v.assign(base + rng.normal(0, 0.1, v.shape).astype("float32"))


def _diff(a, b, mask):
    """Max |a - b|: BERT's pooled output and unpadded hidden states, or GPT's hidden states."""
    if isinstance(a, dict):
        pooled = np.abs(np.asarray(a["pooled_output"]) - np.asarray(b["pooled_output"])).max()
        return max(float(pooled), _diff(a["sequence_output"], b["sequence_output"], mask))
    return float(np.abs(np.asarray(a) - np.asarray(b))[mask.astype(bool)].max())


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_from_keras_hub(kind):
    hub_cls = keras_hub.models.BertBackbone if kind == "bert" else keras_hub.models.GPT2Backbone
    hub = hub_cls(**SIZES)
    _randomize(hub)
    zoo = from_keras_hub(hub)
    assert isinstance(zoo, BertBackbone if kind == "bert" else GPTBackbone)
    inputs = batch(seed=11, segments=kind == "bert")
    diff = _diff(hub(inputs), zoo(inputs), inputs["padding_mask"])
    print(f"keras-hub {kind} -> tfzoo: {diff:.2e}")
    assert diff <= ATOL


@pytest.mark.parametrize("name", ["bert-tiny", "gpt2"])
def test_to_keras_hub(name):
    import tfzoo

    zoo = tfzoo.build(name, activation="gelu_tanh", **SIZES)
    _randomize(zoo, seed=1)
    hub = to_keras_hub(zoo)
    inputs = batch(seed=12, segments=name == "bert-tiny")
    diff = _diff(zoo(inputs), hub(inputs), inputs["padding_mask"])
    print(f"tfzoo {name} -> keras-hub: {diff:.2e}")
    assert diff <= ATOL
    back = from_keras_hub(hub)
    for a, b in zip(zoo.weights, back.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_to_keras_hub_of_task_uses_backbone():
    import tfzoo

    model = tfzoo.build("gpt2", task="causal_lm", **SIZES)
    assert isinstance(to_keras_hub(model), keras_hub.models.GPT2Backbone)


def test_to_keras_hub_refuses_exact_gelu_unless_not_strict():
    import tfzoo

    zoo = tfzoo.build("bert-tiny", **SIZES)  # exact GELU, as Hugging Face BERT
    with pytest.raises(ValueError, match="activation='gelu'.*strict=False"):
        to_keras_hub(zoo)
    with pytest.warns(UserWarning, match="tanh GELU"):
        hub = to_keras_hub(zoo, strict=False)
    assert isinstance(hub, keras_hub.models.BertBackbone)


def test_wrong_types_are_refused():
    import tfzoo

    with pytest.raises(ValueError, match="BertBackbone and GPT2Backbone"):
        from_keras_hub(tfzoo.build("gpt2", **SIZES))
    with pytest.raises(ValueError, match="tfzoo BERT and GPT"):
        to_keras_hub(
            tfzoo.build(
                "llama-tiny", **dict(SIZES, num_layers=1, num_heads=4, num_key_value_heads=2)
            )
        )


def test_from_keras_hub_refuses_non_finite_weights():
    hub = keras_hub.models.BertBackbone(**SIZES)
    variable = next(v for v in hub.weights if v.path.endswith("query/kernel"))
    variable.assign(np.full(variable.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match=r"query/kernel.*keras-hub BertBackbone.*corrupted"):
        from_keras_hub(hub)
