"""GGUF import: tiny GGUF files written with the `gguf` package's writer, checked against
`gguf`'s own dequantization and against `transformers` on the same weights."""

import os

import gguf  # noqa: E402  (test extra: a missing reference must fail, not skip)
import numpy as np
import pytest
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

import tfzoo
from tests.convert.gguf_files import llama_metadata, llama_tensors, quantized, write_gguf
from tests.convert.hf_models import llama_config
from tfzoo.convert.gguf import SUPPORTED_TENSOR_TYPES, GGUFFile, read_gguf

# Largest error of one quantized value, as a fraction of the block's largest magnitude.
# (A block type whose range is [-2^(b-1), 2^(b-1) - 1] steps can err by a whole step at the clipped end.)
_QUANT_ERROR = {"F32": 0.0, "F16": 1e-3, "BF16": 1e-2, "Q8_0": 1e-2, "Q5_0": 0.07}
_QUANT_ERROR.update({"Q5_1": 0.04, "Q4_0": 0.13, "Q4_1": 0.08})


def _tiny_llama(tmp_path, kind="F32", tied=False, metadata=None, seed=0):
    torch.manual_seed(seed)
    config = llama_config(tie_word_embeddings=tied)
    hf = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for param in hf.parameters():
            if param.ndim == 1:  # non-unit norms: a swapped norm cannot pass unnoticed
                param.add_(0.1 * torch.randn_like(param))
    path = tmp_path / f"tiny-{kind}-{tied}-{len(metadata or {})}.gguf"
    write_gguf(path, "llama", llama_metadata(config, metadata), llama_tensors(hf, kind))
    return hf, str(path)


@pytest.mark.parametrize("kind", SUPPORTED_TENSOR_TYPES)
def test_each_tensor_type_matches_gguf_dequantization(tmp_path, kind):
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (3, 512)).astype(np.float32)
    raw = quantized(values, kind, rng)
    path = write_gguf(tmp_path / "t.gguf", "llama", {}, {"w": (raw, kind), "b": (values[0], "F32")})
    file = GGUFFile(path)
    assert file.tensor_type("w") == kind
    ours = file.dequantize("w")
    reference = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType[kind])
    assert ours.shape == (3, 512) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours, np.asarray(reference, np.float32).reshape(3, 512))
    np.testing.assert_array_equal(file.dequantize("b"), values[0])
    if kind in _QUANT_ERROR:  # types gguf can quantize: the values come back (up to rounding)
        blocks = np.abs(values).reshape(3, -1, 32).max(axis=-1, keepdims=True)
        error = np.abs(ours - values).reshape(3, -1, 32) / blocks
        assert error.max() <= _QUANT_ERROR[kind], (kind, error.max())
    else:  # K-quants: random blocks with small scales give finite, bounded, varied values
        # (|value| <= scale 0.01 x 8-bit sub-scale x 6-bit level: below 42 for each K type.)
        assert np.isfinite(ours).all() and 0 < np.abs(ours).max() < 42
        assert len(np.unique(ours)) > 50


@pytest.mark.parametrize("tied", [False, True])
def test_tiny_llama_matches_transformers(tmp_path, tied, quiet_hf):
    hf, path = _tiny_llama(tmp_path, tied=tied)
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    assert lm.backbone.tie_word_embeddings == tied and lm.backbone.num_key_value_heads == 2
    ids = np.random.RandomState(0).randint(0, 150, (2, 12)).astype("int32")
    ours = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    with torch.no_grad():
        reference = hf(torch.tensor(ids, dtype=torch.long)).logits.numpy()
    diff = np.abs(ours - reference).max()
    print(f"tiny Llama GGUF (tied={tied}) logits vs transformers: {diff:.2e}")
    assert diff < 1e-4
    prompt = ids[:1, :5]
    with torch.no_grad():
        expected = hf.generate(
            torch.tensor(prompt, dtype=torch.long),
            max_new_tokens=16,
            do_sample=False,
            pad_token_id=0,
            eos_token_id=None,
        ).numpy()
    out = lm.generate(prompt, max_new_tokens=16)
    np.testing.assert_array_equal(out["token_ids"], expected)


def test_quantized_llama_matches_transformers_reading_the_same_file(tmp_path, quiet_hf):
    # transformers' own GGUF loader (dequantization and un-permutation) is the reference.
    _, path = _tiny_llama(tmp_path, kind="Q4_1")
    directory, name = os.path.split(path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=name).eval()
    lm = tfzoo.from_pretrained(directory, task="causal_lm")  # the directory holding one file
    ids = np.random.RandomState(1).randint(0, 150, (2, 9)).astype("int32")
    ours = np.asarray(lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    with torch.no_grad():
        reference = hf(torch.tensor(ids, dtype=torch.long)).logits.numpy()
    assert np.abs(ours - reference).max() < 1e-4


def test_generate_stops_at_the_checkpoint_end_token(tmp_path):
    _, path = _tiny_llama(tmp_path)
    prompt = np.array([[3, 14, 15, 92]], dtype="int32")
    free = tfzoo.from_pretrained(path, task="causal_lm").generate(prompt, max_new_tokens=8)
    stop = int(free["token_ids"][0, 6])  # the third generated token
    first = list(free["token_ids"][0, 4:]).index(stop) + 4
    _, path = _tiny_llama(tmp_path, metadata={"tokenizer.ggml.eos_token_id": stop})
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    assert lm.end_token_id == [stop]
    out = lm.generate(prompt, max_new_tokens=8)
    np.testing.assert_array_equal(
        out["token_ids"][0, : first + 1], free["token_ids"][0, : first + 1]
    )
    assert out["padding_mask"][0].tolist() == [1] * (first + 1) + [0] * (12 - first - 1)
    # A list of stop ids: any of them stops; `()` turns stopping off.
    out = lm.generate(prompt, max_new_tokens=8, end_token_id=[149, stop])
    assert out["padding_mask"][0, first + 1 :].sum() == 0
    out = lm.generate(prompt, max_new_tokens=8, end_token_id=())
    np.testing.assert_array_equal(out["token_ids"], free["token_ids"])
    reloaded = tfzoo.models.CausalLM.from_config(lm.get_config())
    assert reloaded.end_token_id == [stop]


def test_read_gguf_gives_hf_config_and_names(tmp_path):
    hf, path = _tiny_llama(tmp_path)
    config, checkpoint, _ = read_gguf(path)
    assert config["num_attention_heads"] == 4 and config["num_key_value_heads"] == 2
    assert config["tie_word_embeddings"] is False and config["vocab_size"] == 150
    state = hf.state_dict()
    assert sorted(checkpoint.keys()) == sorted(state)
    for name in (
        "model.layers.1.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.weight",
    ):
        np.testing.assert_array_equal(checkpoint.get(name), state[name].numpy())


def _one_line_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_bad_files_give_one_line_errors(tmp_path):
    _, good = _tiny_llama(tmp_path)
    # Unsupported architecture.
    moe = write_gguf(tmp_path / "m.gguf", "mamba", {}, {"w": (np.zeros(4, np.float32), "F32")})
    _one_line_error(lambda: tfzoo.from_pretrained(moe), "architecture 'mamba'")
    # Unsupported tensor type (Q2_K: random blocks; any bytes are a valid Q2_K block).
    raw = np.random.default_rng(0).integers(0, 256, (2, 84), dtype=np.uint8)
    q2 = write_gguf(tmp_path / "q2.gguf", "llama", {}, {"w": (raw, "Q2_K")})
    message = _one_line_error(lambda: tfzoo.from_pretrained(q2), "GGUF type Q2_K")
    assert "'w'" in message and "Q4_K" in message
    # Truncated file: cut in the tensor data, and cut in the metadata.
    data = open(good, "rb").read()
    for size in (len(data) - 100, 200):
        cut = tmp_path / f"cut{size}.gguf"
        cut.write_bytes(data[:size])
        _one_line_error(lambda p=cut: tfzoo.from_pretrained(p), "truncated")
    # Not a GGUF file at all, and a directory holding two.
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    _one_line_error(lambda: tfzoo.from_pretrained(fake), "is not a GGUF file")
    _one_line_error(lambda: tfzoo.from_pretrained(tmp_path), "GGUF files")


def test_unsupported_llama_variants_are_refused(tmp_path):
    config = llama_config()
    hf = transformers.LlamaForCausalLM(config)
    tensors = llama_tensors(hf)
    meta = llama_metadata(config, {"llama.expert_count": 4})
    moe = write_gguf(tmp_path / "moe.gguf", "llama", meta, tensors)
    _one_line_error(lambda: tfzoo.from_pretrained(moe, task="causal_lm"), "mixture-of-experts")
    meta = llama_metadata(config, {"llama.rope.dimension_count": 4})
    partial = write_gguf(tmp_path / "partial.gguf", "llama", meta, tensors)
    _one_line_error(lambda: tfzoo.from_pretrained(partial), "partial RoPE")
    meta = llama_metadata(config)
    del meta["llama.block_count"]
    incomplete = write_gguf(tmp_path / "incomplete.gguf", "llama", meta, tensors)
    _one_line_error(lambda: tfzoo.from_pretrained(incomplete), "llama.block_count")
