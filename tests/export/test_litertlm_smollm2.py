"""The real SmolLM2-135M-Instruct GGUF as an int8 `.litertlm` bundle, answering the France chat
prompt in LiteRT-LM with the Keras model's tokens. Slow: conversion of a 135M model with three
signatures (~8 GB peak RAM, minutes on 2 CPUs)."""

import os
import resource

import litert_lm  # noqa: F401  (litertlm extra: a missing runtime must fail, not skip)
import pytest

import tfzoo


@pytest.mark.slow
def test_smollm2_int8_bundle_answers_like_keras(tmp_path):
    path = tfzoo.text.smollm2_gguf_path()
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(path)
    out = str(tmp_path / "smollm2-int8.litertlm")
    report = tfzoo.export(
        lm,
        out,
        quantize="int8",
        prefill_lengths=(32, 128),
        max_tokens=512,
        tokenizer=tokenizer,
        verify_new_tokens=16,
    )
    v = report["verification"]
    print(
        f"SmolLM2 int8 .litertlm: {report['file_size'] / 1e6:.1f} MB, LiteRT-LM "
        f"{report['benchmark']['decode_tokens_per_s']:.2f} decode tokens/s, "
        f"{report['benchmark']['prefill_tokens_per_s']:.2f} prefill tokens/s, export peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB, "
        f"{report['seconds']:.0f} s; answer {v['runtime_text']!r}"
    )
    assert report["verified"] and v["greedy_match"] and v["tokenizer_match"]
    assert v["runtime_text"].startswith("The capital of France is Paris.")
    assert report["start_token_id"] is None and report["stop_token_ids"] == [2]
    assert os.path.getsize(out) == report["file_size"] < 0.5 * report["tflite_float_size"]
