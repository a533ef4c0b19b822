"""The zoo's presets: model name -> family and backbone arguments, with published shapes.

BERT sizes are those of Turc et al. (2019, "Well-Read Students Learn Better"), whose compact models
use `intermediate_dim = 4 * hidden_dim` and `num_heads = hidden_dim / 64`; bert-base and bert-large
are Devlin et al. (2019). GPT-2 sizes are Radford et al. (2019). Llama-style sizes: TinyLlama-1.1B
(Zhang et al., 2024) and small models of the same design for tests and experiments.

The `-long` entries are those shapes with 4,096 learned positions and sliding-window local
attention computed in chunks (`attention_implementation="local"`, memory linear in the sequence,
Beltagy et al., 2020, "Longformer"): window 256, and for BERT the `[CLS]` position global (it
attends to, and is attended by, every token). Their parameter counts are not published; they
equal those of the same shape with full attention (local attention adds no weights).
"""

_BERT = dict(vocabulary_size=30522, max_sequence_length=512, num_segments=2)
_GPT2 = dict(vocabulary_size=50257, max_sequence_length=1024)
_LLAMA = dict(vocabulary_size=32000)
_LONG = dict(max_sequence_length=4096, sliding_window=256, attention_implementation="local")


def _bert(layers, hidden, description, params, **extra):
    return {
        "family": "bert",
        "description": description,
        "published_parameters": params,
        "config": dict(
            _BERT,
            num_layers=layers,
            hidden_dim=hidden,
            num_heads=max(hidden // 64, 2),
            intermediate_dim=4 * hidden,
            **extra,
        ),
    }


def _gpt2(layers, hidden, heads, description, params, **extra):
    return {
        "family": "gpt",
        "description": description,
        "published_parameters": params,
        "config": dict(
            _GPT2,
            num_layers=layers,
            hidden_dim=hidden,
            num_heads=heads,
            intermediate_dim=4 * hidden,
            **extra,
        ),
    }


def _llama(layers, hidden, heads, kv_heads, intermediate, max_len, description, params=None, **kw):
    return {
        "family": "llama",
        "description": description,
        "published_parameters": params,
        "config": dict(
            _LLAMA,
            num_layers=layers,
            hidden_dim=hidden,
            num_heads=heads,
            num_key_value_heads=kv_heads,
            intermediate_dim=intermediate,
            max_sequence_length=max_len,
            **kw,
        ),
    }


PRESETS = {
    "bert-tiny": _bert(2, 128, "BERT L2/H128 (Turc et al. 2019)", 4_385_920),
    "bert-mini": _bert(4, 256, "BERT L4/H256 (Turc et al. 2019)", 11_170_560),
    "bert-small": _bert(4, 512, "BERT L4/H512 (Turc et al. 2019)", 28_763_648),
    "bert-medium": _bert(8, 512, "BERT L8/H512 (Turc et al. 2019)", 41_373_184),
    "bert-base": _bert(12, 768, "BERT-Base L12/H768 (Devlin et al. 2019)", 109_482_240),
    "bert-large": _bert(24, 1024, "BERT-Large L24/H1024 (Devlin et al. 2019)", 335_141_888),
    "gpt2": _gpt2(12, 768, 12, "GPT-2 small, 124M (Radford et al. 2019)", 124_439_808),
    "gpt2-medium": _gpt2(24, 1024, 16, "GPT-2 medium, 355M", 354_823_168),
    "gpt2-large": _gpt2(36, 1280, 20, "GPT-2 large, 774M", 774_030_080),
    "gpt2-xl": _gpt2(48, 1600, 25, "GPT-2 XL, 1.5B", 1_557_611_200),
    "bert-mini-long": _bert(
        4,
        256,
        "BERT L4/H256 for 4,096 tokens: local attention, window 256, [CLS] global",
        None,
        **_LONG,
        global_tokens=1,
    ),
    "gpt-mini-long": _gpt2(
        4,
        256,
        4,
        "GPT-2-style L4/H256 for 4,096 tokens: causal local attention, window 256",
        None,
        **_LONG,
    ),
    "llama-tiny": _llama(
        2,
        128,
        4,
        2,
        344,
        512,
        "Llama-style decoder for tests: L2/H128, GQA 4:2",
        vocabulary_size=32000,
    ),
    "llama-mini": _llama(4, 256, 8, 2, 688, 1024, "Llama-style decoder: L4/H256, GQA 8:2"),
    "llama-small": _llama(8, 512, 8, 2, 1376, 2048, "Llama-style decoder: L8/H512, GQA 8:2"),
    "tinyllama-1.1b": _llama(
        22, 2048, 32, 4, 5632, 2048, "TinyLlama-1.1B shape (Zhang et al. 2024)", 1_100_048_384
    ),
}
