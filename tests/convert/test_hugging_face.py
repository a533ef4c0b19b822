"""Parity of `tfzoo.convert.from_pretrained` / `save_pretrained` with Hugging Face transformers.

Tiny random models (hidden 32, 2 layers, vocab 150) in float32; batches with right padding;
outputs compared on the unpadded positions. Tolerance: max abs diff <= 1e-4.
"""

import json
import os
import warnings

import numpy as np
import pytest
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

from tests.convert.hf_models import (
    VOCAB,
    batch,
    bert_config,
    gpt2_config,
    hf_inputs,
    llama_config,
    max_diff_valid,
    save_hf,
)
from tfzoo.convert import from_pretrained, save_pretrained
from tfzoo.models import BertBackbone, BertMaskedLM, CausalLM, GPTBackbone
from tfzoo.testing import SMALL_TEXT_SIZES

pytestmark = pytest.mark.usefixtures("quiet_hf")
ATOL = 1e-4


def _hf(model, inputs):
    with torch.no_grad():
        return model(**hf_inputs(inputs))


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
def test_bert_model_hidden_states_and_pooler(tmp_path, act):
    hf = save_hf(transformers.BertModel, bert_config(hidden_act=act, layer_norm_eps=1e-7), tmp_path)
    model = from_pretrained(tmp_path)
    assert isinstance(model, BertBackbone)
    assert model.layer_norm_epsilon == 1e-7
    assert model.activation == {"gelu": "gelu", "gelu_new": "gelu_tanh", "relu": "relu"}[act]
    inputs = batch()
    out = model(inputs)
    ref = _hf(hf, inputs)
    seq_diff = max_diff_valid(out["sequence_output"], ref.last_hidden_state, inputs["padding_mask"])
    pool_diff = float(np.abs(out["pooled_output"].numpy() - ref.pooler_output.numpy()).max())
    print(f"BertModel hidden_act={act}: sequence {seq_diff:.2e}, pooled {pool_diff:.2e}")
    assert seq_diff <= ATOL and pool_diff <= ATOL


def test_bert_masked_lm_logits(tmp_path):
    hf = save_hf(transformers.BertForMaskedLM, bert_config(hidden_act="gelu_new"), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pooler in BertForMaskedLM: must load silently
        model = from_pretrained(tmp_path, task="masked_lm")
    inputs = batch(seed=1)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).logits, inputs["padding_mask"])
    print(f"BertForMaskedLM logits (gelu_new): {diff:.2e}")
    assert diff <= ATOL


def test_bert_sequence_classification_logits(tmp_path):
    hf = save_hf(transformers.BertForSequenceClassification, bert_config(num_labels=3), tmp_path)
    model = from_pretrained(tmp_path, task="classification")
    assert model.num_classes == 3
    inputs = batch(seed=2)
    diff = float(np.abs(model(inputs).numpy() - _hf(hf, inputs).logits.numpy()).max())
    print(f"BertForSequenceClassification logits: {diff:.2e}")
    assert diff <= ATOL


def test_bert_token_classification_logits(tmp_path):
    hf = save_hf(transformers.BertForTokenClassification, bert_config(num_labels=4), tmp_path)
    model = from_pretrained(tmp_path, task="token_classification")
    inputs = batch(seed=3)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).logits, inputs["padding_mask"])
    assert diff <= ATOL


def test_sentence_embedding_is_normalized_mean_pool(tmp_path):
    hf = save_hf(transformers.BertModel, bert_config(), tmp_path)
    model = from_pretrained(tmp_path, task="sentence_embedding", normalize=True)
    inputs = batch(seed=4)
    hidden = _hf(hf, inputs).last_hidden_state.numpy()
    mask = inputs["padding_mask"][..., None].astype("float32")
    ref = (hidden * mask).sum(1) / mask.sum(1)
    ref /= np.linalg.norm(ref, axis=-1, keepdims=True)
    assert np.abs(model(inputs).numpy() - ref).max() <= ATOL


def test_classification_head_on_bare_bert_warns_and_is_trainable_size(tmp_path):
    save_hf(transformers.BertModel, bert_config(), tmp_path)
    with pytest.warns(UserWarning, match="classifier.weight"):
        model = from_pretrained(tmp_path, task="classification", num_classes=5)
    assert model(batch()).shape == (3, 5)


def test_unused_tensors_are_reported(tmp_path):
    save_hf(transformers.BertForMaskedLM, bert_config(), tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_pretrained(tmp_path)  # backbone only: the MLM head is unused, the pooler absent
    messages = " ".join(str(w.message) for w in caught)
    assert "cls.predictions.transform.dense.weight" in messages
    assert "bert.pooler.dense.weight" in messages  # pooled_output is random: say so


def test_legacy_layernorm_gamma_beta_names(tmp_path):
    from safetensors.numpy import load_file, save_file

    hf = save_hf(transformers.BertModel, bert_config(), tmp_path)
    file = tmp_path / "model.safetensors"
    tensors = load_file(file)
    renamed = {
        k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        ): v
        for k, v in tensors.items()
    }
    assert renamed.keys() != tensors.keys()
    save_file(renamed, file, metadata={"format": "pt"})
    model = from_pretrained(tmp_path)
    inputs = batch()
    diff = max_diff_valid(
        model(inputs)["sequence_output"], _hf(hf, inputs).last_hidden_state, inputs["padding_mask"]
    )
    assert diff <= ATOL


def test_sharded_checkpoint(tmp_path):
    hf = save_hf(transformers.BertModel, bert_config(), tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    assert not (tmp_path / "model.safetensors").exists()
    model = from_pretrained(tmp_path)
    inputs = batch()
    diff = max_diff_valid(
        model(inputs)["sequence_output"], _hf(hf, inputs).last_hidden_state, inputs["padding_mask"]
    )
    assert diff <= ATOL


def test_gpt2_logits_and_greedy_generation(tmp_path):
    # initializer_range=0.3: a random GPT-2 with the default 0.02 repeats one token forever,
    # which would make the generation comparison weak.
    hf = save_hf(transformers.GPT2LMHeadModel, gpt2_config(initializer_range=0.3), tmp_path)
    model = from_pretrained(tmp_path, task="causal_lm")
    assert isinstance(model, CausalLM) and model.backbone.activation == "gelu_tanh"
    inputs = batch(seed=5, segments=False)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).logits, inputs["padding_mask"])
    print(f"GPT2LMHeadModel logits: {diff:.2e}")
    assert diff <= ATOL

    prompt = np.array([[5, 17, 42, 99, 3, 64, 11]], dtype="int32")
    ours = model.generate(prompt, max_new_tokens=20)["token_ids"]
    with torch.no_grad():
        theirs = hf.generate(
            torch.tensor(prompt, dtype=torch.long),
            attention_mask=torch.ones(prompt.shape, dtype=torch.long),
            do_sample=False,
            max_new_tokens=20,
            pad_token_id=0,
        ).numpy()
    print(f"GPT-2 greedy ids tfzoo {ours[0, 7:].tolist()} transformers {theirs[0, 7:].tolist()}")
    assert len(set(theirs[0, 7:].tolist())) >= 5  # a varied continuation, not one token repeated
    np.testing.assert_array_equal(ours, theirs)


def test_gpt2_model_gelu_exact(tmp_path):
    hf = save_hf(transformers.GPT2Model, gpt2_config(activation_function="gelu"), tmp_path)
    model = from_pretrained(tmp_path)
    assert isinstance(model, GPTBackbone) and model.activation == "gelu"
    inputs = batch(seed=6, segments=False)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).last_hidden_state, inputs["padding_mask"])
    assert diff <= ATOL


@pytest.mark.parametrize("tied", [False, True])
def test_llama_logits(tmp_path, tied):
    hf = save_hf(transformers.LlamaForCausalLM, llama_config(tie_word_embeddings=tied), tmp_path)
    model = from_pretrained(tmp_path, task="causal_lm")
    assert model.backbone.num_key_value_heads == 2
    assert model.backbone.tie_word_embeddings == tied
    inputs = batch(seed=7, segments=False)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).logits, inputs["padding_mask"])
    print(f"LlamaForCausalLM logits (GQA 4:2, tied={tied}): {diff:.2e}")
    assert diff <= ATOL


# --- tfzoo -> save_pretrained -> transformers ------------------------------------------------


def _tiny(name, task=None, **extra):
    import tfzoo

    kw = dict(SMALL_TEXT_SIZES, vocabulary_size=VOCAB, max_sequence_length=48)
    if name.startswith("llama"):
        kw.update(num_heads=4, num_key_value_heads=2)
    kw.update(extra)
    return tfzoo.build(name, task=task, **kw)


def _randomize(model, seed=0):
    """Non-trivial values everywhere (fresh norms are ones, biases zeros)."""
    rng = np.random.RandomState(seed)
    for v in model.weights:
        v.assign(
            rng.normal(0, 0.1 if len(v.shape) > 1 else 0.3, v.shape).astype("float32")
            + (1.0 if v.path.endswith("gamma") else 0.0)
        )


@pytest.mark.parametrize(
    "task, auto, extra",
    [
        ("masked_lm", "AutoModelForMaskedLM", {"activation": "gelu"}),
        ("classification", "AutoModelForSequenceClassification", {"num_classes": 3}),
        (None, "AutoModel", {"activation": "gelu_tanh"}),
    ],
)
def test_bert_round_trip_through_transformers(tmp_path, task, auto, extra):
    model = _tiny("bert-tiny", task=task, **extra)
    _randomize(model)
    out_dir = save_pretrained(model, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 32
    hf = getattr(transformers, auto).from_pretrained(out_dir).eval()
    inputs = batch(seed=8)
    ours = model(inputs)
    ref = _hf(hf, inputs)
    if task is None:
        diff = max_diff_valid(
            ours["sequence_output"], ref.last_hidden_state, inputs["padding_mask"]
        )
        diff = max(
            diff, float(np.abs(ours["pooled_output"].numpy() - ref.pooler_output.numpy()).max())
        )
    elif task == "classification":
        diff = float(np.abs(ours.numpy() - ref.logits.numpy()).max())
    else:
        diff = max_diff_valid(ours, ref.logits, inputs["padding_mask"])
    print(f"tfzoo BERT task={task} -> transformers {auto}: {diff:.2e}")
    assert diff <= ATOL
    # ... and back into tfzoo: identical weights (BertForMaskedLM has no pooler to carry).
    back = from_pretrained(out_dir, task=task)
    for a, b in zip(model.weights, back.weights):
        if not (task == "masked_lm" and a.path.startswith("pooler")):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize("name", ["roberta-base", "electra-small", "distilbert-base"])
def test_first_token_classifier_round_trip_keeps_its_classes(tmp_path, name):
    # RoBERTa's and ELECTRA's heads were once saved without `id2label`: 3 classes came back as 2.
    model = _tiny(name, task="classification", num_classes=3)
    _randomize(model)
    save_pretrained(model, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert len(config["id2label"]) == 3
    back = from_pretrained(tmp_path / "hf", task="classification")
    assert back.num_classes == 3
    for a, b in zip(model.weights, back.weights):
        if not a.path.startswith("pooler"):  # head models are saved without the pooler
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize("name", ["gpt2", "llama-tiny"])
def test_causal_lm_round_trip_through_transformers(tmp_path, name):
    model = _tiny(name, task="causal_lm")
    _randomize(model)
    save_pretrained(model, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    inputs = batch(seed=9, segments=False)
    diff = max_diff_valid(model(inputs), _hf(hf, inputs).logits, inputs["padding_mask"])
    print(f"tfzoo {name} causal_lm -> transformers: {diff:.2e}")
    assert diff <= ATOL


def test_save_refuses_non_empty_dir_and_overwrites_atomically(tmp_path):
    model = _tiny("bert-tiny")
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="overwrite=True"):
        save_pretrained(model, target)
    assert (target / "keep.txt").read_text() == "mine"
    save_pretrained(model, target, overwrite=True)
    assert sorted(os.listdir(target)) == ["config.json", "model.safetensors"]
    assert [p for p in os.listdir(tmp_path) if p != "out"] == []  # no temp dirs left behind


def test_save_empty_dir_is_allowed_and_masked_lm_has_no_pooler(tmp_path):
    from safetensors import safe_open

    model = _tiny("bert-tiny", task="masked_lm")
    (tmp_path / "empty").mkdir()
    save_pretrained(model, tmp_path / "empty")
    with safe_open(str(tmp_path / "empty" / "model.safetensors"), "np") as f:
        keys = list(f.keys())
    assert "cls.predictions.bias" in keys and not any("pooler" in k for k in keys)
    assert isinstance(from_pretrained(tmp_path / "empty", task="masked_lm"), BertMaskedLM)


def test_save_rejects_foreign_models(tmp_path):
    import keras

    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="BERT, GPT and Llama"):
        save_pretrained(model, tmp_path / "x")
