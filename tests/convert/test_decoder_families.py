"""Every decoder family against Hugging Face `transformers` (PyTorch CPU) on identical weights.

One entry of `FAMILIES` per architecture: a tiny random config made with `transformers`' own
config class (nothing downloaded). Each is checked for: logits within 1e-4 on a right-padded
batch, identical greedy tokens for 16 steps with the key/value cache, `save_pretrained` output
loading back into `transformers` with the same logits, and a config/weights shape mismatch
naming the tensor.
"""

import json

import numpy as np
import pytest
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

from tests.convert.hf_models import batch, hf_inputs, max_diff_valid, save_hf
from tfzoo.convert import from_pretrained, save_pretrained

ATOL = 1e-4
VOCAB = 128
MAX_LEN = 64
NEW_TOKENS = 16

# Shared by every tiny config: 2 layers, hidden 32, GQA 4:2, no special tokens.
COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=64,
    max_position_embeddings=MAX_LEN,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=None,
)
LLAMA3_ROPE = dict(
    rope_type="llama3",
    rope_theta=500000.0,
    factor=8.0,
    low_freq_factor=1.0,
    high_freq_factor=4.0,
    original_max_position_embeddings=8,
)

# name -> (config class, model class, config arguments beyond COMMON)
FAMILIES = {
    "llama-untied": ("LlamaConfig", "LlamaForCausalLM", dict(tie_word_embeddings=False)),
    "llama3-rope": (
        "LlamaConfig",
        "LlamaForCausalLM",
        dict(tie_word_embeddings=True, rope_parameters=LLAMA3_ROPE),
    ),
    "llama-linear-rope": (
        "LlamaConfig",
        "LlamaForCausalLM",
        dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0)),
    ),
    "mistral": ("MistralConfig", "MistralForCausalLM", dict(sliding_window=5)),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(tie_word_embeddings=True)),
    "qwen2-sliding": (
        "Qwen2Config",
        "Qwen2ForCausalLM",
        dict(use_sliding_window=True, sliding_window=4, max_window_layers=1),
    ),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(head_dim=16, tie_word_embeddings=True)),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", dict(sliding_window=6, tie_word_embeddings=False)),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", dict(head_dim=16)),
    "gemma2": (
        "Gemma2Config",
        "Gemma2ForCausalLM",
        dict(
            head_dim=16,
            sliding_window=4,
            query_pre_attn_scalar=12,
            attn_logit_softcapping=2.0,
            final_logit_softcapping=3.0,
        ),
    ),
    "gemma3": (
        "Gemma3TextConfig",
        "Gemma3ForCausalLM",
        dict(
            head_dim=16,
            num_hidden_layers=3,
            sliding_window=4,
            layer_types=["sliding_attention", "full_attention", "sliding_attention"],
            query_pre_attn_scalar=12,
            rope_parameters={
                "full_attention": dict(rope_type="linear", factor=2.0, rope_theta=50000.0),
                "sliding_attention": dict(rope_type="default", rope_theta=100.0),
            },
        ),
    ),
    "gpt_neox": (
        "GPTNeoXConfig",
        "GPTNeoXForCausalLM",
        dict(num_key_value_heads=None, rotary_pct=0.5, hidden_act="gelu"),
    ),
    "gpt_neox-sequential": (
        "GPTNeoXConfig",
        "GPTNeoXForCausalLM",
        dict(num_key_value_heads=None, rotary_pct=0.25, use_parallel_residual=False),
    ),
}


def _config(name, **overrides):
    config_cls, _, extra = FAMILIES[name]
    args = {k: v for k, v in {**COMMON, **extra, **overrides}.items() if v is not None}
    return getattr(transformers, config_cls)(**args)


def _hf_logits(hf, inputs):
    with torch.no_grad():
        return hf(**hf_inputs(inputs)).logits.numpy()


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def converted(request, tmp_path_factory):
    """(name, transformers model, tfzoo CausalLM, its folder) for one family."""
    name = request.param
    path = tmp_path_factory.mktemp(name)
    hf = save_hf(getattr(transformers, FAMILIES[name][1]), _config(name), path / "hf")
    model = from_pretrained(path / "hf", task="causal_lm")
    return name, hf, model, path


def test_logits_match_on_padded_batch(converted):
    name, hf, model, _ = converted
    inputs = batch(seed=1, seq=12, vocab=VOCAB, segments=False)
    diff = max_diff_valid(model(inputs), _hf_logits(hf, inputs), inputs["padding_mask"])
    print(f"{name}: logits max |diff| {diff:.2e}")
    assert diff <= ATOL


def test_greedy_tokens_match_with_cache(converted):
    name, hf, model, _ = converted
    prompts = np.random.RandomState(2).randint(1, VOCAB, (2, 7)).astype("int32")
    ours = model.generate(prompts, max_new_tokens=NEW_TOKENS, end_token_id=(), jit_compile=False)[
        "token_ids"
    ]
    with torch.no_grad():
        ref = hf.generate(
            torch.tensor(prompts, dtype=torch.long),
            attention_mask=torch.ones(prompts.shape, dtype=torch.long),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
        ).numpy()
    np.testing.assert_array_equal(ours, ref)


def test_save_pretrained_loads_in_transformers(converted):
    name, _, model, path = converted
    save_pretrained(model, path / "back")
    config = json.loads((path / "back" / "config.json").read_text())
    assert config["architectures"] == [FAMILIES[name][1]]
    hf = transformers.AutoModelForCausalLM.from_pretrained(path / "back").eval()
    inputs = batch(seed=3, seq=10, vocab=VOCAB, segments=False)
    diff = max_diff_valid(model(inputs), _hf_logits(hf, inputs), inputs["padding_mask"])
    print(f"{name}: tfzoo -> save_pretrained -> transformers logits max |diff| {diff:.2e}")
    assert diff <= ATOL


def test_shape_mismatch_names_the_tensor(converted):
    _, _, _, path = converted
    config = json.loads((path / "hf" / "config.json").read_text())
    config["intermediate_size"] += 8
    (path / "hf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"Tensor '[\w.]*mlp[\w.]*' in .* has shape"):
        from_pretrained(path / "hf", task="causal_lm")
