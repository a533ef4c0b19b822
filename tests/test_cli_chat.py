"""`tfzoo chat`: a tiny chat checkpoint (GGUF: a BPE tokenizer with a chat template and a random
2-layer Llama) answers like the library's own `generate`, streams, and keeps the conversation;
the real SmolLM2 answers the capital of France (slow)."""

import io
import sys

import pytest
import torch
import transformers

import tfzoo
from tests.convert.gguf_files import (
    bpe_tokenizer_metadata,
    llama_metadata,
    llama_tensors,
    write_gguf,
)
from tests.convert.hf_models import llama_config
from tfzoo.cli import chat, main

TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are helpful.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = ["What is the capital of France? Paris is the capital of France. " * 3] * 5


def _chat_gguf(path, template=TEMPLATE):
    tokens = bpe_tokenizer_metadata(CORPUS, template, vocab_size=300)
    if template is None:
        del tokens["tokenizer.chat_template"]
    vocab = len(tokens["tokenizer.ggml.tokens"])
    torch.manual_seed(0)
    config = llama_config(vocab_size=vocab, max_position_embeddings=128)
    hf = transformers.LlamaForCausalLM(config).eval()
    return write_gguf(path, "llama", llama_metadata(config, tokens), llama_tensors(hf))


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory):
    return _chat_gguf(tmp_path_factory.mktemp("chat") / "tiny-chat.gguf")


def _expected(path, messages, max_new_tokens, **options):
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(path)
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    end = tokenizer.end_token_ids
    assert end == (2, 0)  # <|im_end|>, <|endoftext|>
    out = lm.generate(ids[None], max_new_tokens=max_new_tokens, end_token_id=end, **options)
    n = int(out["padding_mask"][0, len(ids) :].sum())
    answer = [t for t in out["token_ids"][0, len(ids) : len(ids) + n] if t not in end]
    return tokenizer.detokenize(answer).numpy().decode("utf-8") if answer else ""


def test_prompt_answers_like_generate_and_streams(tiny_chat, capsys):
    argv = ["chat", tiny_chat, "--prompt", "What is the capital of France?"]
    assert main([*argv, "--max-new-tokens", "12"]) == 0
    out = capsys.readouterr().out
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    assert out == _expected(tiny_chat, messages, 12) + "\n"
    # Sampling: the same seed gives the same answer.
    sampled = [*argv, "--max-new-tokens", "12", "--temperature", "1.5", "--top-k", "20"]
    assert main([*sampled, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main([*sampled, "--seed", "3"]) == 0
    assert capsys.readouterr().out == first


def test_interactive_chat_keeps_the_conversation(tiny_chat, monkeypatch, capsys):
    seen = []
    answer = chat.answer

    def spy(lm, tokenizer, messages, *args, **kwargs):
        seen.append([m["content"] for m in messages])
        return answer(lm, tokenizer, messages, *args, **kwargs)

    monkeypatch.setattr(chat, "answer", spy)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Paris?\nAnd France?\n/reset\nthe\n"))
    argv = ["chat", tiny_chat, "--max-new-tokens", "4", "--system", "Be brief."]
    assert main(argv) == 0
    first = capsys.readouterr().out.split("> ")[1].rstrip("\n")
    assert len(seen) == 3
    assert seen[0] == ["Be brief.", "Paris?"]
    assert seen[1] == ["Be brief.", "Paris?", first, "And France?"]
    assert seen[2] == ["Be brief.", "the"]


def _long_conversation():
    """13 messages, more than the tiny model's 128-token context holds."""
    turn = "What is the capital of France? " * 3
    messages = []
    for _ in range(6):
        messages += [{"role": "user", "content": turn}, {"role": "assistant", "content": turn}]
    return messages + [{"role": "user", "content": "Paris?"}]


def test_a_long_conversation_drops_its_oldest_turns(tiny_chat):
    lm = tfzoo.from_pretrained(tiny_chat, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(tiny_chat)
    messages = _long_conversation()
    out = io.StringIO()
    chat.answer(lm, tokenizer, messages, 8, {"sampler": "greedy"}, out=out)
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    assert len(ids) <= 128 - 8 and messages[-1]["content"] == "Paris?" and len(messages) < 13


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["missing.gguf"], "checkpoint missing.gguf does not exist"),
        (["x", "--top-k", "5", "--top-p", "0.5"], "--top-k and --top-p cannot be combined"),
        (["x", "--temperature", "0"], "--temperature must be > 0"),
        (["x", "--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["x", "--prompt", " "], "--prompt is empty"),
    ],
)
def test_bad_options_are_one_line(capsys, argv, expected):
    assert main(["chat", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def test_a_checkpoint_without_chat_template_is_one_line(tmp_path, capsys):
    path = _chat_gguf(tmp_path / "base.gguf", template=None)
    assert main(["chat", path, "--prompt", "Hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no chat template" in err[0], err


@pytest.mark.slow
def test_smollm2_answers_paris(capsys):
    argv = ["chat", "smollm2", "--prompt", "What is the capital of France?"]
    assert main([*argv, "--max-new-tokens", "24"]) == 0
    out = capsys.readouterr().out
    print(out)
    assert "Paris" in out
    assert out.startswith("The capital of France is Paris")


# `.litertlm` bundles: the tiny chat checkpoint exported (float32, verified by the export) and
# chatted with through LiteRT-LM; the answer equals the Keras model's `generate` answer.
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def tiny_bundle(tiny_chat, tmp_path_factory):
    pytest.importorskip("litert_lm", reason="the litertlm extra runs bundles")
    lm = tfzoo.from_pretrained(tiny_chat, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(tiny_chat)
    path = str(tmp_path_factory.mktemp("bundle") / "tiny-chat.litertlm")
    report = tfzoo.export(lm, path, tokenizer=tokenizer, max_tokens=128, prefill_lengths=(32,))
    assert report["verified"]
    return path


def test_bundle_answers_like_keras_generate_and_streams(tiny_chat, tiny_bundle, capsys):
    assert main(["chat", tiny_bundle, "--prompt", QUESTION, "--max-new-tokens", "12"]) == 0
    out = capsys.readouterr().out
    messages = [{"role": "user", "content": QUESTION}]
    assert out == _expected(tiny_chat, messages, 12) + "\n"
    # The answer arrives in pieces (LiteRT-LM's streaming decode), not as one string.
    from tfzoo.export.litertlm.chat import BundleChat

    bundle = BundleChat(tiny_bundle)
    pieces = list(bundle.stream(messages, 12))
    assert len(pieces) > 1 and "".join(pieces) + "\n" == out
    # The bundle's template (from its LlmMetadata) renders what the tokenizer's does.
    tokenizer = tfzoo.tokenizer_from_pretrained(tiny_chat)
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    assert bundle.count_tokens(messages) == len(ids)
    bundle.close()


def test_bundle_chat_keeps_the_conversation(tiny_bundle, monkeypatch, capsys):
    seen = []
    answer_bundle = chat.answer_bundle

    def spy(bundle, messages, *args, **kwargs):
        seen.append([m["content"] for m in messages])
        return answer_bundle(bundle, messages, *args, **kwargs)

    monkeypatch.setattr(chat, "answer_bundle", spy)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Paris?\nAnd France?\n/reset\nthe\n"))
    argv = ["chat", tiny_bundle, "--max-new-tokens", "4", "--system", "Be brief."]
    assert main(argv) == 0
    first = capsys.readouterr().out.split("> ")[1].rstrip("\n")
    assert seen == [
        ["Be brief.", "Paris?"],
        ["Be brief.", "Paris?", first, "And France?"],
        ["Be brief.", "the"],
    ]
    # Sampling options reach LiteRT-LM: the same seed gives the same answer.
    sampled = ["chat", tiny_bundle, "--prompt", "Paris?", "--max-new-tokens", "8"]
    sampled += ["--temperature", "1.5", "--top-k", "20"]
    assert main([*sampled, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main([*sampled, "--seed", "3"]) == 0
    assert capsys.readouterr().out == first


def test_a_long_bundle_conversation_drops_its_oldest_turns(tiny_bundle):
    from tfzoo.export.litertlm.chat import BundleChat

    bundle = BundleChat(tiny_bundle)
    messages = _long_conversation()
    out = io.StringIO()
    chat.answer_bundle(bundle, messages, 8, {"sampler": "greedy"}, out=out)
    assert bundle.count_tokens(messages) <= 128 - 8 and messages[-1]["content"] == "Paris?"
    assert len(messages) < 13 and out.getvalue().endswith("\n")
    bundle.close()


def test_bundle_errors_are_one_line(tiny_bundle, tmp_path, monkeypatch, capsys):
    from tfzoo.export.litertlm import bundle, reader

    # A bundle without a chat template (repacked from the tiny one, template left out).
    tflite = reader.extract_tflite(tiny_bundle, str(tmp_path / "model.tflite"))
    plain = str(tmp_path / "plain.litertlm")
    metadata = bundle.llm_metadata(None, (2, 0), 128)
    bundle.write_bundle(plain, tflite, reader.tokenizer_json(tiny_bundle), metadata)
    not_a_bundle = tmp_path / "text.litertlm"
    not_a_bundle.write_text("hello")
    cases = [
        (plain, "has no chat template"),
        (str(not_a_bundle), "is not a .litertlm bundle"),
    ]
    for path, expected in cases:
        assert main(["chat", path, "--prompt", "Hi"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert expected in err[-1] and not err[-1].startswith("Traceback"), err
    monkeypatch.setitem(sys.modules, "litert_lm", None)  # `import litert_lm` raises ImportError
    assert main(["chat", tiny_bundle, "--prompt", "Hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "pip install 'tfzoo[litertlm]'" in err[-1], err
