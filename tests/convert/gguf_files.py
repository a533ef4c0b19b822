"""Helpers for the GGUF tests: tiny GGUF files written with the `gguf` package's own writer."""

import json

import gguf  # noqa: E402  (test extra: a missing reference must fail, not skip)
import numpy as np

Q = gguf.GGMLQuantizationType
# Bytes per block and the byte offsets of the float16 scales of each block type that
# `gguf.quants` cannot quantize (llama.cpp's ggml-common.h block layouts).
_K_LAYOUTS = {
    "Q4_K": (144, (0, 2)),  # d, dmin, scales[12], qs[128]
    "Q5_K": (176, (0, 2)),  # d, dmin, scales[12], qh[32], qs[128]
    "Q6_K": (210, (208,)),  # ql[128], qh[64], scales[16], d
}


def quantized(values, kind, rng=None):
    """`values` (rows, cols) as the raw GGUF bytes of type `kind` (a `GGMLQuantizationType` name).

    F32/F16 are plain arrays; types `gguf.quants` can quantize are quantized from `values`; the
    K-quants (which it cannot quantize) are random bytes with finite, small float16 scales.
    """
    if kind == "F32":
        return values.astype(np.float32)
    if kind == "F16":
        return values.astype(np.float16)
    if kind in _K_LAYOUTS:
        size, scale_offsets = _K_LAYOUTS[kind]
        rows, cols = values.shape
        blocks = rng.integers(0, 256, (rows, cols // 256, size), dtype=np.uint8)
        for offset in scale_offsets:
            scale = rng.uniform(0.001, 0.01, (rows, cols // 256)).astype(np.float16)
            blocks[..., offset : offset + 2] = scale[..., None].view(np.uint8)
        return blocks.reshape(rows, -1)
    return gguf.quants.quantize(values.astype(np.float32), Q[kind])


def write_gguf(path, architecture, metadata, tensors):
    """Writes a GGUF file.

    Args:
        path: the file.
        architecture: `general.architecture`.
        metadata: dict key -> value (ints are written as uint32, floats as float32, strings,
            bools, lists of strings or of ints as arrays).
        tensors: dict name -> `(raw array, kind)` with `kind` a `GGMLQuantizationType` name.
    """
    writer = gguf.GGUFWriter(str(path), architecture)
    for key, value in metadata.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, float):
            writer.add_float32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], int):
            writer.add_array(key, list(value))
        else:
            writer.add_array(key, list(value))
    for name, (raw, kind) in tensors.items():
        raw_dtype = None if kind in ("F32", "F16") else Q[kind]
        writer.add_tensor(name, raw, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return str(path)


def permute_query_key(weight, num_heads):
    """llama.cpp's `convert_hf_to_gguf.py` query/key permutation (HF rotate-half -> interleaved)."""
    return (
        weight.reshape(num_heads, 2, weight.shape[0] // num_heads // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def llama_metadata(config, tokens=None):
    """GGUF metadata of a `transformers.LlamaConfig`, as `convert_hf_to_gguf.py` writes it."""
    head_dim = config.hidden_size // config.num_attention_heads
    metadata = {
        "llama.block_count": config.num_hidden_layers,
        "llama.context_length": config.max_position_embeddings,
        "llama.embedding_length": config.hidden_size,
        "llama.feed_forward_length": config.intermediate_size,
        "llama.attention.head_count": config.num_attention_heads,
        "llama.attention.head_count_kv": config.num_key_value_heads,
        "llama.attention.layer_norm_rms_epsilon": float(config.rms_norm_eps),
        "llama.rope.freq_base": float(config.rope_parameters["rope_theta"]),
        "llama.rope.dimension_count": head_dim,
        "llama.vocab_size": config.vocab_size,
    }
    if tokens is not None:
        metadata.update(tokens)
    return metadata


def llama_tensors(hf_model, kind="F32"):
    """The tensors of a `transformers.LlamaForCausalLM` under llama.cpp's names and layout."""
    config = hf_model.config
    state = {k: v.detach().numpy() for k, v in hf_model.state_dict().items()}
    names = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    per_layer = {
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.k_proj.weight": "attn_k.weight",
        "self_attn.v_proj.weight": "attn_v.weight",
        "self_attn.o_proj.weight": "attn_output.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    }
    for i in range(config.num_hidden_layers):
        for hf, gg in per_layer.items():
            names[f"model.layers.{i}.{hf}"] = f"blk.{i}.{gg}"
    tensors = {}
    for hf_name, array in state.items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        if hf_name.endswith("q_proj.weight"):
            array = permute_query_key(array, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            array = permute_query_key(array, config.num_key_value_heads)
        tensors[names[hf_name]] = (
            quantized(array, kind) if array.ndim == 2 else array.astype(np.float32),
            kind if array.ndim == 2 else "F32",
        )
    return tensors


CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def bpe_tokenizer_metadata(corpus, chat_template, vocab_size=400):
    """GGUF tokenizer metadata of a byte-level BPE trained on `corpus` (SmolLM2's layout:
    `<|im_start|>` starts, `<|im_end|>` ends a turn, `<|endoftext|>` ends the text)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=CONTROL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(corpus, trainer)
    spec = json.loads(backend.to_str())["model"]
    tokens = [t for t, _ in sorted(spec["vocab"].items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["merges"]]
    return {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smollm",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3 if t in CONTROL else 1 for t in tokens],
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.bos_token_id": tokens.index("<|im_start|>"),
        "tokenizer.ggml.eos_token_id": tokens.index("<|im_end|>"),
        "tokenizer.ggml.unknown_token_id": tokens.index("<|endoftext|>"),
        "tokenizer.ggml.padding_token_id": tokens.index("<|im_end|>"),
        "tokenizer.ggml.eot_token_id": tokens.index("<|endoftext|>"),
        "tokenizer.ggml.add_bos_token": False,
        "tokenizer.chat_template": chat_template,
    }
