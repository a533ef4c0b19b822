import keras
import numpy as np
import pytest

import tfzoo
from tfzoo.testing import (
    SMALL_TEXT_SIZES,
    assert_close,
    greedy_without_cache,
    run_model_test,
    tiny_inputs,
)

GPT = dict(SMALL_TEXT_SIZES, num_heads=4, vocabulary_size=97, max_sequence_length=40)
LLAMA = dict(GPT, num_key_value_heads=2)
SCE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(params=["gpt2", "llama-tiny"])
def lm(request):
    config = GPT if request.param == "gpt2" else LLAMA
    return tfzoo.build(request.param, task="causal_lm", **config)


def test_save_load_fit_mixed_precision(lm, tmp_path):
    inputs = tiny_inputs(lm, pad=0)
    y = np.roll(inputs["token_ids"], -1, axis=1)
    run_model_test(lm, tmp_path, loss=SCE, y=y)


def test_cached_decoding_equals_full_forward(lm):
    ids = np.random.default_rng(0).integers(0, 97, (2, 10)).astype("int32")
    full = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    cache = lm.init_cache(2, 10)
    logits, _, cache = lm.call_with_cache(ids[:, :4], cache, 0)
    steps = [np.asarray(logits)]
    for i in range(4, 10):
        logits, _, cache = lm.call_with_cache(ids[:, i : i + 1], cache, i)
        steps.append(np.asarray(logits))
    assert_close(np.concatenate(steps, 1), full, atol=1e-4)


def test_greedy_generate_equals_argmax_loop(lm):
    prompt = np.array([[5, 6, 7], [8, 9, 10]], "int32")
    out = lm.generate(prompt, max_new_tokens=6)["token_ids"]
    np.testing.assert_array_equal(out, greedy_without_cache(lm, prompt, 6))


def test_generate_with_ragged_prompts_and_end_token(lm):
    prompts = [[5, 6, 7, 8], [9, 10]]
    greedy = lm.generate(prompts, max_new_tokens=5)["token_ids"]
    alone = lm.generate(np.array([[9, 10]], "int32"), max_new_tokens=7)["token_ids"]
    np.testing.assert_array_equal(greedy[1], alone[0][:9])
    end = int(greedy[0, 4])  # the first generated token of row 0 becomes the end token
    out = lm.generate(prompts, max_new_tokens=5, end_token_id=end, pad_token_id=0)
    assert out["token_ids"][0, 4] == end
    assert np.all(out["token_ids"][0, 5:] == 0) and np.all(out["padding_mask"][0, 5:] == 0)


@pytest.mark.parametrize(
    "sampler, options", [("top_k", {"top_k": 5}), ("top_p", {"top_p": 0.8}), ("random", {})]
)
def test_sampling_is_seeded_and_valid(lm, sampler, options):
    # Each sampler gets only the arguments it uses (another one is an error, tested below).
    prompt = np.array([[1, 2, 3]], "int32")
    a = lm.generate(prompt, max_new_tokens=8, sampler=sampler, temperature=0.7, seed=3, **options)
    b = lm.generate(prompt, max_new_tokens=8, sampler=sampler, temperature=0.7, seed=3, **options)
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    assert a["token_ids"].min() >= 0 and a["token_ids"].max() < 97


def test_top_k_one_is_greedy(lm):
    prompt = np.array([[1, 2, 3]], "int32")
    greedy = lm.generate(prompt, max_new_tokens=5)["token_ids"]
    top1 = lm.generate(prompt, max_new_tokens=5, sampler="top_k", top_k=1, seed=0)["token_ids"]
    np.testing.assert_array_equal(greedy, top1)


def test_generate_bad_input(lm):
    with pytest.raises(ValueError, match="max_sequence_length"):
        lm.generate(np.ones((1, 30), "int32"), max_new_tokens=20)
    with pytest.raises(ValueError, match="sampler"):
        lm.generate(np.ones((1, 3), "int32"), sampler="beam")
    with pytest.raises(ValueError, match=r"\[0, 97\)"):
        lm.generate(np.array([[1, 200]], "int32"))
    with pytest.raises(ValueError, match="integers"):
        lm.generate(np.array([[1.0, 2.0]]))


@pytest.mark.parametrize(
    "options, match",
    [
        (
            {"sampler": "top_p", "top_p": 1.5},
            r"`top_p` must be a number in \(0, 1\]\. Received: top_p=1\.5",
        ),
        ({"sampler": "top_p", "top_p": 0.0}, r"Received: top_p=0\.0"),
        ({"sampler": "top_p", "top_p": -0.1}, r"Received: top_p=-0\.1"),
        ({"sampler": "top_k", "top_k": 0}, r"`top_k` must be an int >= 1\. Received: top_k=0"),
        ({"sampler": "top_k", "top_k": 2.5}, r"Received: top_k=2\.5"),
        ({"sampler": "top_k", "top_k": 98}, r"at most the vocabulary size \(97\)"),
        ({"sampler": "random", "temperature": 0}, r"Received: temperature=0"),
        ({"sampler": "random", "temperature": -1.0}, r"Received: temperature=-1\.0"),
        ({"sampler": "random", "temperature": float("nan")}, r"temperature=nan"),
        ({"max_new_tokens": 0}, r"Received: max_new_tokens=0"),
        ({"max_new_tokens": 2.0}, r"max_new_tokens=2\.0"),
        ({"sampler": "nucleus"}, r"Unknown sampler 'nucleus'"),
        # A sampling argument the sampler does not use is an error, not silently ignored.
        ({"top_p": 0.5}, r"sampler='greedy' does not use top_p=0\.5\. Pass sampler='top_p'"),
        ({"temperature": 0.7}, r"sampler='greedy' does not use temperature=0\.7"),
        ({"sampler": "top_k", "top_p": 0.5}, r"sampler='top_k' does not use top_p=0\.5"),
        ({"sampler": "random", "top_k": 5}, r"sampler='random' does not use top_k=5"),
    ],
)
def test_generate_rejects_bad_sampling_arguments(lm, options, match):
    with pytest.raises(ValueError, match=match):
        lm.generate(np.array([[1, 2, 3]], "int32"), **{"max_new_tokens": 2, **options})


def test_generate_compiles_per_cache_length_not_per_prompt(lm):
    # A chat whose prompt grows turn after turn: two compiled functions (prefill, decoding) for
    # every prompt length that fits the same cache, and the tokens of the uncompiled model.
    traces = lm._generate_traces
    for length in (3, 8, 17, 30):
        prompt = (np.arange(length)[None] * 7 % 97).astype("int32")
        out = lm.generate(prompt, max_new_tokens=4)["token_ids"]
        ids = prompt
        for _ in range(4):
            logits = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
            ids = np.concatenate([ids, logits[:, -1].argmax(-1)[:, None].astype("int32")], 1)
        np.testing.assert_array_equal(out, ids)
    assert lm._generate_traces - traces == 2


def test_generate_prefills_long_prompts_in_overlapping_chunks():
    # 90 prompt tokens in a 100-token cache: prefill chunks of 64 at 0 and 36 (overlapping).
    lm = tfzoo.build("llama-tiny", task="causal_lm", **dict(LLAMA, max_sequence_length=100))
    prompt = (np.arange(90)[None] * 5 % 97).astype("int32")
    out = lm.generate(prompt, max_new_tokens=3)["token_ids"]
    ids = prompt
    for _ in range(3):
        logits = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
        ids = np.concatenate([ids, logits[:, -1].argmax(-1)[:, None].astype("int32")], 1)
    np.testing.assert_array_equal(out, ids)


def test_streaming_gives_the_tokens_of_generate_as_they_come(lm):
    prompts = [[5, 6, 7, 8], [9, 10]]
    options = dict(max_new_tokens=6, sampler="top_k", top_k=5, seed=7)
    full = lm.generate(prompts, **options)
    end = int(full["token_ids"][1, 4])  # row 1 ends at its third generated token
    full = lm.generate(prompts, end_token_id=end, **options)
    calls = []
    streamed = lm.generate(prompts, end_token_id=end, stream=calls.append, **options)
    for key in ("token_ids", "padding_mask"):
        np.testing.assert_array_equal(streamed[key], full[key])
    # One call per decoding step; the first step (position 2) is new for row 1 only, while
    # row 0 still reads its prompt.
    assert calls[0] == [[], [int(full["token_ids"][1, 2])]]
    for row, length in enumerate((4, 2)):
        got = [t for step in calls for t in step[row]]
        mask = full["padding_mask"][row, length:].astype(bool)
        assert got == full["token_ids"][row, length:][mask].tolist()
    assert [t for step in calls for t in step[1]][-1] == end
    iterated = list(lm.stream_generate(prompts, end_token_id=end, **options))
    assert iterated == calls
    with pytest.raises(ValueError, match="`stream` must be a callable"):
        lm.generate(prompts, stream="yes")
