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
    args = {**COMMON, **extra, **overrides}
    args = {k: v for k, v in args.items() if v is not None or k not in extra}  # None: drop it
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


def test_logits_save_round_trip_and_shape_error(converted):
    name, hf, model, path = converted
    inputs = batch(seed=1, seq=12, vocab=VOCAB, segments=False)
    diff = max_diff_valid(model(inputs), _hf_logits(hf, inputs), inputs["padding_mask"])
    print(f"{name}: logits max |diff| {diff:.2e}")
    assert diff <= ATOL

    # tfzoo -> save_pretrained -> transformers: the same logits.
    save_pretrained(model, path / "back")
    config = json.loads((path / "back" / "config.json").read_text())
    assert config["architectures"] == [FAMILIES[name][1]]
    back = transformers.AutoModelForCausalLM.from_pretrained(path / "back").eval()
    diff = max_diff_valid(model(inputs), _hf_logits(back, inputs), inputs["padding_mask"])
    print(f"{name}: tfzoo -> save_pretrained -> transformers logits max |diff| {diff:.2e}")
    assert diff <= ATOL

    # A config that disagrees with the weights: the error names the tensor.
    config = json.loads((path / "hf" / "config.json").read_text())
    config["intermediate_size"] += 8
    (path / "hf" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"Tensor '[\w.]*mlp[\w.]*' in .* has shape"):
        from_pretrained(path / "hf", task="causal_lm")


def test_greedy_tokens_match_with_cache(converted):
    name, hf, model, _ = converted
    prompts = np.random.RandomState(2).randint(1, VOCAB, (2, 7)).astype("int32")
    ours = model.generate(prompts, max_new_tokens=NEW_TOKENS, end_token_id=(), jit_compile=False)
    with torch.no_grad():
        ref = hf.generate(
            torch.tensor(prompts, dtype=torch.long),
            attention_mask=torch.ones(prompts.shape, dtype=torch.long),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
        ).numpy()
    np.testing.assert_array_equal(ours["token_ids"], ref)


# Options of the tiny tfzoo-built models, beyond each family's defaults.
BUILT = {
    "llama": {},
    "mistral": dict(sliding_window=5),
    "qwen2": {},
    "qwen3": dict(head_dim=16, tie_word_embeddings=True),
    "phi3": {},
    "gemma": dict(head_dim=16, tie_word_embeddings=True),
    "gemma2": dict(
        head_dim=16,
        tie_word_embeddings=True,
        sliding_window=4,
        layer_types=["sliding_attention", "full_attention"],
        attention_logit_soft_cap=2.0,
        final_logit_soft_cap=3.0,
        query_scale_dim=12,
    ),
    "gemma3": dict(
        head_dim=16,
        tie_word_embeddings=True,
        sliding_window=4,
        layer_types=["sliding_attention", "full_attention"],
        local_rope_max_wavelength=100.0,
    ),
    "gpt_neox": dict(num_key_value_heads=4),
}


@pytest.mark.parametrize("family", sorted(BUILT))
def test_tfzoo_built_model_saves_for_transformers(tmp_path, family):
    """A model built in tfzoo (not read from transformers) writes a config transformers
    rebuilds exactly: every family default reaches config.json."""
    from tests.convert.test_hugging_face import _randomize
    from tfzoo.models import CausalLM
    from tfzoo.zoo import FAMILIES as ZOO

    args = dict(vocabulary_size=VOCAB, num_layers=2, num_heads=4, num_key_value_heads=2)
    args.update(hidden_dim=32, intermediate_dim=64, max_sequence_length=MAX_LEN)
    backbone = ZOO[family].backbone(**{**args, **BUILT[family]})
    config = backbone.get_config()
    assert type(backbone).from_config(config).get_config() == config
    model = CausalLM(backbone)
    _randomize(model)
    save_pretrained(model, tmp_path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert sum(p.numel() for p in hf.parameters()) == model.count_params()
    inputs = batch(seed=4, seq=10, vocab=VOCAB, segments=False)
    diff = max_diff_valid(model(inputs), _hf_logits(hf, inputs), inputs["padding_mask"])
    print(f"tfzoo-built {family} -> transformers logits max |diff| {diff:.2e}")
    assert diff <= ATOL


# --- presets: published parameter counts ----------------------------------------------------

DECODER_FAMILIES = (
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "phi3",
    "gemma",
    "gemma2",
    "gemma3",
    "gpt_neox",
)
PRESETS = [
    name
    for name in __import__("tfzoo").list_models()
    if __import__("tfzoo").get_config(name)["family"] in DECODER_FAMILIES
    and __import__("tfzoo").get_config(name)["published_parameters"] is not None
]
# Presets whose blocks are small enough to build with their real widths (one and two layers).
_BUILD_LIMIT = 50_000_000


def _stand_in(name):
    """The backbone's attributes for a preset, without building it (for `hf_config`)."""
    import inspect

    import tfzoo
    from tfzoo.models.llama.llama_backbone import OPTION_DEFAULTS
    from tfzoo.zoo import FAMILIES

    entry = tfzoo.get_config(name)
    family = FAMILIES[entry["family"]]
    signature = inspect.signature(family.backbone.__init__).parameters
    attrs = {k: p.default for k, p in signature.items() if p.default is not inspect.Parameter.empty}
    attrs.update(OPTION_DEFAULTS, **family.backbone.FAMILY_DEFAULTS, **entry["config"])
    attrs["head_dim"] = attrs["head_dim"] or attrs["hidden_dim"] // attrs["num_heads"]
    attrs["num_key_value_heads"] = attrs.get("num_key_value_heads") or attrs["num_heads"]
    return family, type("StandIn", (), attrs)()


def _hf_meta_count(name):
    """Parameters of the `transformers` model of the preset's config (meta device: no memory)."""
    family, stand_in = _stand_in(name)
    converter = family.converters["hugging_face"]
    architecture = next(a for a, task in converter.ARCHITECTURES.items() if task == "causal_lm")
    config = converter.hf_config(stand_in, architecture)
    config_cls = transformers.AutoConfig.for_model(converter.MODEL_TYPE).__class__
    with torch.device("meta"):
        hf = getattr(transformers, architecture)(config_cls(**config))
    return sum(p.numel() for p in hf.parameters())


def _tfzoo_count(name):
    """`count_params` of the tfzoo `CausalLM`, built with 1 and 2 blocks and 8 token ids at the
    preset's real widths, extrapolated (linear in layers and vocabulary)."""
    import tfzoo
    from tfzoo.models import CausalLM

    config = tfzoo.get_config(name)["config"]
    backbone_cls = _stand_in(name)[0].backbone
    layers, vocab = config["num_layers"], config["vocabulary_size"]
    counts = []
    for n in (1, 2):
        extra = dict(num_layers=n, vocabulary_size=8)
        if config.get("layer_types"):
            extra["layer_types"] = config["layer_types"][:n]
        counts.append(CausalLM(backbone_cls(**{**config, **extra})).count_params())
    per_vocab = config["hidden_dim"] * (1 if config.get("tie_word_embeddings") else 2)
    return counts[0] + (layers - 1) * (counts[1] - counts[0]) + (vocab - 8) * per_vocab


@pytest.mark.parametrize("name", PRESETS)
def test_preset_parameter_count_is_published(name):
    import tfzoo

    published = tfzoo.get_config(name)["published_parameters"]
    reference = _hf_meta_count(name)
    assert reference == published, f"{name}: transformers counts {reference}, published {published}"
    family, s = _stand_in(name)
    per_layer = 4 * s.hidden_dim * s.num_heads * s.head_dim + 3 * s.hidden_dim * s.intermediate_dim
    if per_layer <= _BUILD_LIMIT:
        assert _tfzoo_count(name) == published


def test_unknown_model_type_lists_the_decoder_families(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba", "vocab_size": 8}))
    with pytest.raises(ValueError) as error:
        from_pretrained(tmp_path)
    message = str(error.value)
    assert "\n" not in message and "model_type='mamba'" in message
    for model_type in ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2"):
        assert f"'{model_type}'" in message
    assert "'gemma3_text'" in message and "'gpt_neox'" in message
