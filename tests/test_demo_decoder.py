"""`tfzoo demo --decoder` on a tiny chat checkpoint (a random 2-layer Llama GGUF with a BPE
tokenizer and a chat template): LoRA fine-tune on news text, int8 and int4 `.litertlm` bundles
verified in LiteRT-LM, perplexity against the float model, one chat answer each. The real run
(SmolLM2-135M-Instruct, minutes and ~8 GB) is the documented `tfzoo demo --decoder`. Slow: the
LoRA fit, two exports and their perplexities took 150-200 s on the shared 2-core machine."""

import json
import os

import litert_lm  # noqa: F401  (litertlm extra: a missing runtime must fail, not skip)
import pytest

from tests.test_cli_chat import _chat_gguf
from tfzoo.cli import main


@pytest.mark.slow
def test_decoder_demo_on_a_tiny_chat_checkpoint(tmp_path, capsys):
    gguf = _chat_gguf(tmp_path / "tiny-chat.gguf")
    out = tmp_path / "demo"
    argv = ["demo", "--decoder", "--decoder-checkpoint", gguf, "--steps", "2"]
    assert main([*argv, "--output", str(out), "--strict"]) == 0
    summary = json.loads((out / "decoder.json").read_text())
    lora = summary["lora"]
    assert lora["steps"] == 2 and lora["trainable_parameters"] > 0
    assert lora["held_out_loss_after"] != lora["held_out_loss_before"]
    assert summary["max_tokens"] == 128 and summary["prefill_lengths"] == [32]
    int8, int4 = summary["bundles"]
    assert (int8["quantize"], int4["quantize"]) == ("int8", "int4")
    for row in (int8, int4):
        assert row["verified"] and os.path.getsize(row["path"]) == round(row["size_mb"] * 1e6)
        assert row["perplexity"] > 1 and row["perplexity_tokens"] > 100
        assert row["decode_tokens_per_s"] > 0 and isinstance(row["answer"], str)
    assert int8["greedy_match"] and abs(int4["perplexity_change"]) <= 0.10
    assert int4["size_mb"] < int8["size_mb"]
    table = capsys.readouterr().out
    assert "decoder-int8.litertlm" in table and "decoder-int4.litertlm" in table
