"""GGUF files (llama.cpp's format) -> tfzoo models.

A GGUF file holds the model's settings as metadata (`llama.block_count`, ...), its tensors under
llama.cpp's names (`blk.0.attn_q.weight`), most of them quantized in blocks, and its tokenizer
and chat template. tfzoo reads it with the `gguf` package (the format's own reader, written by
llama.cpp's authors), dequantizes each tensor to float32 with `gguf`'s own dequantization,
renames it to the Hugging Face name and undoes llama.cpp's query/key row permutation. The result
is a Hugging Face style config dict and HF-named tensors, which go through the same converter as
a Hugging Face directory (`tfzoo/convert/hugging_face.py`): GGUF adds no weight mapping of its
own beyond the name table below.
"""

from tfzoo.io.gguf import (  # noqa: F401  (re-exported: the reader is part of this API)
    GGUF_PIP,
    SUPPORTED_TENSOR_TYPES,
    GGUFFile,
    end_token_ids,
    find_gguf_file,
    gguf_module,
)

# GGUF `general.architecture` -> the Hugging Face architecture whose converter takes it.
ARCHITECTURES = {"llama": "LlamaForCausalLM"}
# llama.cpp tensor names -> Hugging Face names (Llama layout; `{i}` is the block index).
_LLAMA_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
    "blk.{i}.attn_norm.weight": "model.layers.{i}.input_layernorm.weight",
    "blk.{i}.attn_q.weight": "model.layers.{i}.self_attn.q_proj.weight",
    "blk.{i}.attn_k.weight": "model.layers.{i}.self_attn.k_proj.weight",
    "blk.{i}.attn_v.weight": "model.layers.{i}.self_attn.v_proj.weight",
    "blk.{i}.attn_output.weight": "model.layers.{i}.self_attn.o_proj.weight",
    "blk.{i}.ffn_norm.weight": "model.layers.{i}.post_attention_layernorm.weight",
    "blk.{i}.ffn_gate.weight": "model.layers.{i}.mlp.gate_proj.weight",
    "blk.{i}.ffn_up.weight": "model.layers.{i}.mlp.up_proj.weight",
    "blk.{i}.ffn_down.weight": "model.layers.{i}.mlp.down_proj.weight",
}


def unpermute_query_key(weight, num_heads):
    """Undoes llama.cpp's row permutation of a query or key projection.

    llama.cpp rotates adjacent pairs `(x[2j], x[2j + 1])` of each head (interleaved RoPE), while
    Hugging Face and tfzoo rotate `(x[j], x[j + d/2])` (rotate-half). `convert_hf_to_gguf.py`
    therefore reorders the `head_dim` rows of each head: HF row `j` goes to `2j` and row
    `j + d/2` to `2j + 1`. This reverses it.

    Args:
        weight: array `(num_heads * head_dim, hidden)` in GGUF row order.
        num_heads: int. Heads of this projection (key/value heads for the key).

    Returns:
        The array in Hugging Face row order.
    """
    rows = weight.shape[0]
    # (heads, head_dim / 2, 2, ...) -> (heads, 2, head_dim / 2, ...): pairs back to halves.
    w = weight.reshape(num_heads, rows // num_heads // 2, 2, *weight.shape[1:])
    return w.swapaxes(1, 2).reshape(weight.shape)


def _llama_config(gguf_file):
    m, path = gguf_file.metadata, gguf_file.path
    arch = gguf_file.architecture

    def get(key, default=None, required=True):
        full = f"{arch}.{key}"
        if full in m:
            return m[full]
        if required and default is None:
            raise ValueError(
                f"{path!r} lacks the GGUF metadata key {full!r}; the file is incomplete."
            )
        return default

    if get("expert_count", 0, required=False):
        raise ValueError(
            f"{path!r} is a mixture-of-experts {arch} model ({get('expert_count')} experts); "
            f"tfzoo's Llama has one feed-forward block per layer."
        )
    if "rope_freqs.weight" in gguf_file.tensors:
        raise ValueError(
            f"{path!r} stores per-frequency RoPE factors (`rope_freqs.weight`, Llama 3.1 style "
            f"scaling); tfzoo's Llama supports default and linear RoPE only."
        )
    heads = get("attention.head_count")
    hidden = get("embedding_length")
    head_dim = get("attention.key_length", hidden // heads, required=False)
    rope_dims = get("rope.dimension_count", head_dim, required=False)
    if rope_dims != head_dim:
        raise ValueError(
            f"{path!r} rotates {rope_dims} of {head_dim} dimensions per head (partial RoPE); "
            f"tfzoo's Llama rotates whole heads."
        )
    scaling = get("rope.scaling.type", "none", required=False)
    rope_scaling = None
    if scaling == "linear":
        rope_scaling = {"rope_type": "linear", "factor": float(get("rope.scaling.factor"))}
    elif scaling != "none":
        rope_scaling = {"rope_type": scaling}  # rejected with a clear error by the Llama converter
    vocab = get("vocab_size", 0, required=False) or len(m.get("tokenizer.ggml.tokens") or [])
    if not vocab and "token_embd.weight" in gguf_file.tensors:
        vocab = int(gguf_file.tensors["token_embd.weight"].shape[-1])
    names = gguf_file.tensors
    return {
        "architectures": [ARCHITECTURES[arch]],
        "model_type": "llama",
        "vocab_size": int(vocab),
        "hidden_size": int(hidden),
        "num_hidden_layers": int(get("block_count")),
        "num_attention_heads": int(heads),
        "num_key_value_heads": int(get("attention.head_count_kv", heads, required=False)),
        "head_dim": int(head_dim),
        "intermediate_size": int(get("feed_forward_length")),
        "max_position_embeddings": int(get("context_length", 2048, required=False)),
        "rms_norm_eps": float(get("attention.layer_norm_rms_epsilon", 1e-6, required=False)),
        "rope_theta": float(get("rope.freq_base", 10000.0, required=False)),
        "rope_scaling": rope_scaling,
        "hidden_act": "silu",
        "attention_bias": "blk.0.attn_q.bias" in names or "blk.0.attn_output.bias" in names,
        "mlp_bias": "blk.0.ffn_up.bias" in names,
        "tie_word_embeddings": "output.weight" not in names,
        "bos_token_id": m.get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": m.get("tokenizer.ggml.eos_token_id"),
    }


def _name_table(num_layers):
    table = {}
    for gguf_name, hf_name in _LLAMA_NAMES.items():
        if "{i}" in gguf_name:
            for i in range(num_layers):
                table[gguf_name.format(i=i)] = hf_name.format(i=i)
        else:
            table[gguf_name] = hf_name
    return table


class GGUFCheckpoint:
    """HF-named, dequantized tensors of a GGUF file, read lazily (one tensor at a time).

    Has the interface of `tfzoo.convert.checkpoint_io.SafetensorsCheckpoint` (`keys`, `in`,
    `get`), so the Hugging Face converter loads it unchanged. Tensors without a Hugging Face
    name keep their GGUF name (they are reported as unused).

    Args:
        gguf_file: a `GGUFFile`.
        config: dict. The Hugging Face config made from its metadata (`read_gguf`).
    """

    def __init__(self, gguf_file, config):
        self.file = gguf_file
        self.config = config
        table = _name_table(config["num_hidden_layers"])
        self._source = {table.get(name, name): name for name in gguf_file.tensors}

    def keys(self):
        return sorted(self._source)

    def __contains__(self, name):
        return name in self._source

    def get(self, name):
        """Tensor `name` (Hugging Face name) as float32, in Hugging Face layout."""
        source = self._source[name]
        array = self.file.dequantize(source)
        if source.endswith("attn_q.weight"):
            array = unpermute_query_key(array, self.config["num_attention_heads"])
        elif source.endswith("attn_k.weight"):
            array = unpermute_query_key(array, self.config["num_key_value_heads"])
        return array


def read_gguf(path):
    """Reads a GGUF file as a Hugging Face config dict and a lazy HF-named checkpoint.

    Every check that can fail runs here, before any model is built: the file is complete, its
    architecture is supported, every tensor type can be dequantized.

    Args:
        path: string or path-like. A `.gguf` file.

    Returns:
        `(config, checkpoint, gguf_file)`: a Hugging Face style config dict, a
        `GGUFCheckpoint` and the `GGUFFile`.

    Raises:
        ValueError: a missing, truncated or non-GGUF file, an unsupported architecture or tensor
            type, or missing metadata.

    Example:

    >>> config, checkpoint, _ = tfzoo.convert.gguf.read_gguf(tfzoo.text.smollm2_gguf_path())
    >>> config["num_hidden_layers"], checkpoint.get("model.norm.weight").shape
    (30, (576,))
    """
    gguf_file = GGUFFile(path)
    arch = gguf_file.architecture
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"{gguf_file.path!r} holds a GGUF model of architecture {arch!r}, which tfzoo cannot "
            f"convert. Supported GGUF architectures: {sorted(ARCHITECTURES)}."
        )
    gguf_file.check_tensor_types()
    config = _llama_config(gguf_file)
    return config, GGUFCheckpoint(gguf_file, config), gguf_file
