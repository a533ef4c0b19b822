import numpy as np
import pytest

import tfzoo
from tfzoo.testing import TINY_TEXT_SIZES

SMALL = [
    "bert-tiny",
    "bert-mini",
    "bert-small",
    "bert-medium",
    "llama-tiny",
    "llama-mini",
    "bert-mini-long",
    "gpt-mini-long",
]
LARGE = ["bert-base", "gpt2", "llama-small"]
HUGE = ["bert-large", "gpt2-medium", "gpt2-large", "gpt2-xl", "tinyllama-1.1b"]


def test_every_name_is_tested_somewhere():
    assert set(tfzoo.list_models()) >= set(SMALL + LARGE + HUGE)
    assert tfzoo.list_models("gpt") == [
        "gpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
        "gpt-mini-long",
    ]


# The names of the shape arguments: (tfzoo config key, BERT and Llama `transformers` argument,
# GPT-2 `transformers` argument; GPT-2 has no intermediate size, it is 4 x hidden).
HF_NAMES = [
    ("vocabulary_size", "vocab_size", "vocab_size"),
    ("hidden_dim", "hidden_size", "n_embd"),
    ("num_layers", "num_hidden_layers", "n_layer"),
    ("num_heads", "num_attention_heads", "n_head"),
    ("intermediate_dim", "intermediate_size", None),
    ("max_sequence_length", "max_position_embeddings", "n_positions"),
]


def _hf_parameter_count(name):
    """Parameter count of the same shape built by Hugging Face transformers (independent code)."""
    import transformers

    cfg = tfzoo.get_config(name)["config"]
    family = tfzoo.get_config(name)["family"]
    column = 2 if family == "gpt" else 1
    args = {names[column]: cfg[names[0]] for names in HF_NAMES if names[column]}
    if family == "bert":
        config = transformers.BertConfig(**args, type_vocab_size=cfg["num_segments"])
        model_cls = transformers.BertModel
    elif family == "gpt":
        config = transformers.GPT2Config(**args)
        model_cls = transformers.GPT2Model
    else:
        config = transformers.LlamaConfig(
            **args, num_key_value_heads=cfg["num_key_value_heads"], tie_word_embeddings=False
        )
        model_cls = transformers.LlamaForCausalLM
    import torch

    with torch.device("meta"):  # shapes only, no memory
        model = model_cls(config)
    return sum(p.numel() for p in model.parameters())


def _check(name):
    family = tfzoo.get_config(name)["family"]
    model = tfzoo.build(name, task="causal_lm" if family == "llama" else None)
    count = model.count_params()
    published = tfzoo.get_config(name)["published_parameters"]
    if published is not None:
        assert count == published, f"{name}: {count} != published {published}"
    assert count == _hf_parameter_count(name), name


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_parameter_counts_match_published_and_hugging_face(name):
    _check(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", HUGE)
def test_large_models_build_with_published_counts(name):
    _check(name)


def test_published_headline_counts():
    assert tfzoo.get_config("bert-base")["published_parameters"] == 109_482_240  # "110M"
    assert tfzoo.get_config("gpt2")["published_parameters"] == 124_439_808  # "124M"


def test_unknown_name_lists_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'bert-mini'"):
        tfzoo.build("bert-minii")
    with pytest.raises(ValueError, match="gpt2"):
        tfzoo.get_config("gtp2")


def test_unknown_override_lists_valid_keys():
    with pytest.raises(ValueError, match=r"Unknown override\(s\) \['hiden_dim'\].*hidden_dim"):
        tfzoo.build("bert-tiny", hiden_dim=64)


@pytest.mark.parametrize(
    "key, value", [("dropout", 1.5), ("dropout", -0.1), ("attention_dropout", "0.1")]
)
def test_dropout_rates_out_of_range_are_named(key, value):
    with pytest.raises(
        ValueError, match=rf"`{key}` must be a number in \[0, 1\)\. Received: {key}="
    ):
        tfzoo.build("bert-tiny", **{key: value})


def test_unknown_task_and_missing_task_argument():
    with pytest.raises(ValueError, match="Supported: \\['causal_lm'\\]"):
        tfzoo.build("gpt2", task="classification")
    with pytest.raises(ValueError, match="num_classes"):
        tfzoo.build("bert-tiny", task="classification")


def test_hidden_not_divisible_by_heads():
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        tfzoo.build("bert-tiny", num_heads=3)


TINY = dict(TINY_TEXT_SIZES, vocabulary_size=50, max_sequence_length=8)


def _inputs(ids, **extra):
    ids = np.asarray(ids)
    base = {
        "token_ids": ids,
        "padding_mask": np.ones(ids.shape, "int32"),
        "segment_ids": np.zeros(ids.shape, "int32"),
    }
    base.update(extra)
    return base


def test_bad_inputs_are_named():
    model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
    with pytest.raises(ValueError, match="max_sequence_length=8"):
        model(_inputs(np.ones((1, 9), "int32")))
    with pytest.raises(ValueError, match=r"outside \[0, 50\)"):
        model(_inputs(np.array([[1, 2, 50]], "int32")))
    with pytest.raises(ValueError, match=r"outside \[0, 50\)"):
        model(_inputs(np.array([[1, -1, 2]], "int32")))
    with pytest.raises(ValueError, match="integer"):
        model(_inputs(np.array([[1.0, 2.0]], "float32")))
    with pytest.raises(ValueError, match="padding_mask` must have the shape"):
        model(_inputs(np.ones((1, 4), "int32"), padding_mask=np.ones((1, 3), "int32")))
    with pytest.raises(ValueError, match="segment_ids"):
        model({"token_ids": np.ones((1, 4), "int32"), "padding_mask": np.ones((1, 4), "int32")})


def test_out_of_range_ids_fail_inside_fit_too():
    import keras

    model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    with pytest.raises(Exception, match="vocabulary_size=50"):
        model.fit(_inputs(np.array([[1, 2, 77]], "int32")), np.array([1]), verbose=0)


def test_weights_of_the_same_shape_start_different():
    model = tfzoo.build("bert-tiny", **{**TINY, "num_layers": 2})
    attention = [layer.self_attention for layer in model.transformer_layers]
    q0, k0, q1 = (
        np.asarray(w.kernel)
        for w in (attention[0].query_dense, attention[0].key_dense, attention[1].query_dense)
    )
    assert not np.array_equal(q0, k0)
    assert not np.array_equal(q0, q1)
