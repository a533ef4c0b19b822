"""`.litertlm` export: the bundle runs in LiteRT-LM (litert_lm.Engine, separate process) and its
greedy text equals Keras `generate` for float32 and int8; int4 runs and reports agreement."""

import functools
import os

import ai_edge_quantizer  # noqa: F401  (litertlm extra: a missing runtime must fail, not skip)
import keras
import litert_lm  # noqa: F401
import litert_lm_builder  # noqa: F401
import numpy as np
import pytest

import tfzoo
from tfzoo.export.litertlm import export_litertlm

COMMON = dict(num_layers=2, hidden_dim=32, num_heads=4, intermediate_dim=64, vocabulary_size=97)
CONFIGS = {
    "gpt2": dict(COMMON, max_sequence_length=48),
    "llama-tiny": dict(COMMON, num_key_value_heads=2, max_sequence_length=48),
}
# One tiny decoder per causal family, each with its family's options switched on at tiny sizes
# (sliding windows of 5 < the 18-token verification, local/global layers, GQA/MQA).
TINY = dict(hidden_dim=32, num_heads=4, intermediate_dim=64, vocabulary_size=97)
LOCAL_GLOBAL = dict(
    num_layers=2, layer_types=["sliding_attention", "full_attention"], sliding_window=5
)
FAMILY_CONFIGS = {
    "gpt": ("gpt2", dict(num_layers=1)),
    "gpt_neox": ("pythia-70m", dict(num_layers=1, num_key_value_heads=4)),
    "llama": ("llama-tiny", dict(num_layers=1, num_key_value_heads=2)),
    "mistral": ("mistral-7b", dict(num_layers=1, num_key_value_heads=2, sliding_window=5)),
    "qwen2": ("qwen2.5-0.5b", dict(num_layers=1, num_key_value_heads=2)),
    "qwen3": ("qwen3-0.6b", dict(num_layers=1, num_key_value_heads=2)),
    "phi3": ("phi-3-mini-4k", dict(num_layers=1, num_key_value_heads=4)),
    "gemma": ("gemma-2b", dict(num_layers=1, num_key_value_heads=1)),
    "gemma2": ("gemma-2-2b", dict(LOCAL_GLOBAL, num_key_value_heads=2, query_scale_dim=8)),
    "gemma3": ("gemma-3-270m", dict(LOCAL_GLOBAL, num_key_value_heads=1, query_scale_dim=8)),
}
MAX_TOKENS = 30  # not a multiple of the prefill length: the last chunk overhangs the cache end
PREFILL = (8, 16)
PROMPT = "w5 w6 w7 w8 w9 w10"


def build(name, seed=1234):
    keras.utils.set_random_seed(seed)
    return tfzoo.build(name, task="causal_lm", **CONFIGS[name])


@functools.cache
def word_tokenizer():
    """97 whole-word tokens (`<bos>`, `<eos>`, `w2` ... `w96`): text <-> ids is one-to-one, so
    equal text means equal tokens."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    vocab = {"<bos>": 0, "<eos>": 1, **{f"w{i}": i for i in range(2, 97)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<eos>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens([AddedToken("<bos>", special=True), AddedToken("<eos>", special=True)])
    return tok


def export(lm, path, **kw):
    kw.setdefault("prefill_lengths", PREFILL)
    kw.setdefault("max_tokens", MAX_TOKENS)
    return export_litertlm(
        lm,
        str(path),
        tokenizer=word_tokenizer(),
        start_token_id=0,
        stop_token_ids=(1,),
        verify_prompt=PROMPT,
        **kw,
    )


def build_family(family):
    """The family's tiny decoder with every weight drawn from N(0, 0.5) (norm scales, biases and
    Gemma's `1 + w` offsets included), so that no option is an identity at initialisation."""
    preset, sizes = FAMILY_CONFIGS[family]
    lm = tfzoo.build(
        preset, task="causal_lm", **TINY, head_dim=8, max_sequence_length=48, dropout=0.0, **sizes
    )
    for v in lm.variables:
        v.assign(np.random.default_rng(len(v.path)).normal(0, 0.5, v.shape).astype(v.dtype))
    return lm


def test_every_causal_family_has_a_tiny_config():
    from tfzoo.zoo import FAMILIES

    causal = {name for name, f in FAMILIES.items() if "causal_lm" in f.tasks}
    assert causal == set(FAMILY_CONFIGS)
    for family, (preset, _) in FAMILY_CONFIGS.items():
        assert preset in tfzoo.list_models(family)


@pytest.mark.parametrize("family", sorted(FAMILY_CONFIGS))
def test_every_family_round_trips_through_litertlm(family, tmp_path):
    """float32 bundle of each family: LiteRT-LM's greedy ids and text equal Keras `generate`
    (prompt 7 tokens, 12 new: past the sliding windows of 5), and the bundled model's logits
    over a prefill and 6 decode steps equal Keras' (greedy ids alone cannot see a monotone
    final-logit soft-cap, and some tiny random decoders repeat one token)."""
    lm = build_family(family)
    report = export(lm, tmp_path / f"{family}.litertlm", prefill_lengths=(8,))
    v = report["verification"]
    assert report["verified"] and v["greedy_match"] and v["tokenizer_match"]
    assert v["runtime_ids"] == v["keras_ids"] and len(v["keras_ids"]) > 0
    assert v["runtime_text"] == v["keras_text"]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=_bundled_tflite(report["path"], tmp_path / "unpacked"))
    ids = np.random.default_rng(5).integers(2, 97, 14).astype("int32")
    caches = report["signatures"]["prefill_8"]["inputs"]
    caches = {k: np.zeros(shape, "float32") for k, shape in caches.items() if "kv" in k}

    def call(signature, start, stop):
        out = interpreter.get_signature_runner(signature)(
            tokens=ids[None, start:stop], input_pos=np.arange(start, stop, dtype="int32"), **caches
        )
        caches.update({k: out[k] for k in caches})
        return out["logits"][0]

    # prefill 8 tokens, then decode 6 (positions 8-13: past the sliding windows of 5)
    got = np.concatenate(
        [call("prefill_8", 0, 8)] + [call("decode", p, p + 1) for p in range(8, 14)]
    )
    expected = lm.predict({"token_ids": ids[None], "padding_mask": np.ones((1, 14))}, verbose=0)
    np.testing.assert_allclose(got, expected[0], atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def float_bundle(request, tmp_path_factory):
    lm = build(request.param)
    path = tmp_path_factory.mktemp("lm") / f"{request.param}.litertlm"
    return request.param, lm, export(lm, path)


def test_signatures_follow_the_runtime_conventions(float_bundle):
    name, _, report = float_bundle
    kv = CONFIGS[name].get("num_key_value_heads", 4)
    assert set(report["signatures"]) == {"prefill_8", "prefill_16", "decode"}
    for sig, steps in (("prefill_8", 8), ("prefill_16", 16), ("decode", 1)):
        ins, outs = report["signatures"][sig]["inputs"], report["signatures"][sig]["outputs"]
        assert ins["tokens"] == [1, steps] and ins["input_pos"] == [steps]
        assert outs["logits"] == [1, steps, 97]
        for i in range(2):
            assert ins[f"kv_cache_k_{i}"] == outs[f"kv_cache_k_{i}"] == [1, kv, MAX_TOKENS, 8]
            assert ins[f"kv_cache_v_{i}"] == outs[f"kv_cache_v_{i}"] == [1, kv, 8, MAX_TOKENS]
        assert len(ins) == 2 + 4 and len(outs) == 1 + 4


def test_float_greedy_text_equals_keras_generate(float_bundle):
    _, _, report = float_bundle
    v = report["verification"]
    assert report["verified"] and v["greedy_match"] and v["tokenizer_match"]
    assert v["runtime_ids"] == v["keras_ids"] and len(v["keras_ids"]) > 0
    assert os.path.getsize(report["path"]) == report["file_size"]
    assert report["benchmark"]["decode_tokens_per_s"] > 0


RUNNER = os.path.join(os.path.dirname(__file__), "..", "..", "export", "run_litertlm.py")


def _run_runner(*args):
    """`export/run_litertlm.py` in a fresh process where `import tfzoo` fails."""
    import subprocess
    import sys

    driver = (
        "import os, runpy, sys; sys.modules['tfzoo'] = None; sys.argv = sys.argv[1:]; "
        "sys.path.insert(0, os.path.dirname(sys.argv[0])); "
        "sys.exit(runpy.run_path(sys.argv[0], run_name='__main__'))"
    )
    command = [sys.executable, "-c", driver, os.path.abspath(RUNNER), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_standalone_runner_decodes_the_bundle(float_bundle):
    """The runner, without tfzoo, prints LiteRT-LM's greedy text of the verification prompt
    (the Keras text) and its speed; exit code 0; a missing file is a usage error (2)."""
    import json

    _, _, report = float_bundle
    v = report["verification"]
    options = ["--prompt", v["prompt"], "--max-new-tokens", str(len(v["keras_ids"]) or 1)]
    done = _run_runner(report["path"], *options, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["text"] == v["keras_text"]
    assert result["decode_tokens_per_s"] > 0 and result["new_tokens"] == len(v["keras_ids"])
    done = _run_runner(report["path"], *options)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == v["keras_text"]
    assert "decode" in done.stdout and "tokens/s" in done.stdout
    done = _run_runner(report["path"] + ".missing", "--prompt", "w5")
    assert done.returncode == 2 and "no file at" in done.stderr


def _bundled_tflite(bundle_path, folder):
    import glob

    from litert_lm_builder import unpack

    unpack(bundle_path, str(folder))
    (path,) = glob.glob(os.path.join(str(folder), "*.tflite"))
    return path


def test_prefill_chunk_overhanging_the_cache_end(float_bundle, tmp_path):
    """The bundle's TFLite model, driven directly: 25 tokens prefill as 16 (positions 0-15),
    then 9 real tokens + 7 padding through `prefill_16` at position 16: 16 + 16 > 30, where
    DYNAMIC_UPDATE_SLICE would clamp the start to 14 and shift the real keys; then `decode` at
    25. Logits match the Keras forward pass of the whole sequence. (LiteRT-LM 0.18 itself
    refuses a prompt whose padded chunks pass the cache end, so this is the model's guarantee
    for other drivers.)"""
    from ai_edge_litert.interpreter import Interpreter

    name, lm, report = float_bundle
    interpreter = Interpreter(model_path=_bundled_tflite(report["path"], tmp_path))
    rng = np.random.default_rng(3)
    ids = rng.integers(2, 97, 26).astype("int32")
    shapes = {k: v for k, v in report["signatures"]["decode"]["inputs"].items() if "kv" in k}
    caches = {k: np.zeros(v, "float32") for k, v in shapes.items()}

    def call(signature, tokens, positions):
        out = interpreter.get_signature_runner(signature)(
            tokens=np.array([tokens], "int32"), input_pos=np.array(positions, "int32"), **caches
        )
        caches.update({k: out[k] for k in caches})
        return out["logits"][0]

    first = call("prefill_16", ids[:16], range(16))
    second = call("prefill_16", np.r_[ids[16:25], np.zeros(7, "int32")], [*range(16, 25)] + [0] * 7)
    last = call("decode", ids[25:26], [25])
    got = np.concatenate([first, second[:9], last])
    padding_mask = np.ones((1, 26), "int32")
    expected = lm.predict({"token_ids": ids[None], "padding_mask": padding_mask}, verbose=0)[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_int8_equals_keras_and_int4_runs(tmp_path, monkeypatch):
    from tfzoo.export.litertlm import model

    calls, convert = [], model.convert
    monkeypatch.setattr(model, "convert", lambda *a: calls.append(a[1:]) or convert(*a))
    lm, conversions = build("llama-tiny"), {}
    r8 = export(lm, tmp_path / "q8.litertlm", quantize="int8", conversions=conversions)
    assert r8["verified"] and r8["verification"]["greedy_match"]
    assert "dynamic_wi8_afp32" in r8["recipe"]["FULLY_CONNECTED (blocks)"]
    r4 = export(lm, tmp_path / "q4.litertlm", quantize="int4", block_size=32,
                conversions=conversions)  # fmt: skip
    assert len(calls) == 1  # the int4 bundle reused the int8 one's conversion
    assert "int4" in r4["recipe"]["FULLY_CONNECTED (blocks)"]
    assert 0.0 <= r4["verification"]["token_agreement"] <= 1.0
    assert len(r4["verification"]["runtime_text"]) > 0
    assert r4["tflite_size"] < r8["tflite_size"] < r8["tflite_float_size"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(prefill_lengths=(8, 64)), "Prefill length 64 is over max_tokens=30"),
        (dict(quantize="int3"), "Unknown quantize='int3'"),
        (dict(block_size=48, quantize="int4"), "block_size=48"),
        (dict(stop_token_ids=()), "no stop token"),
    ],
)
def test_bad_arguments_are_one_line_errors_and_write_nothing(tmp_path, kwargs, message):
    lm = build("llama-tiny")
    kw = dict(
        tokenizer=word_tokenizer(),
        start_token_id=0,
        stop_token_ids=(1,),
        prefill_lengths=PREFILL,
        max_tokens=MAX_TOKENS,
    )
    kw.update(kwargs)
    with pytest.raises(ValueError, match=message) as info:
        export_litertlm(lm, str(tmp_path / "x.litertlm"), **kw)
    assert "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_non_causal_model_and_existing_path_are_refused(tmp_path):
    classifier = tfzoo.build(
        "bert-tiny", task="classification", num_classes=2, vocabulary_size=97, num_layers=1
    )
    with pytest.raises(ValueError, match="causal language model"):
        tfzoo.export(classifier, str(tmp_path / "c.litertlm"), tokenizer=word_tokenizer())
    existing = tmp_path / "e.litertlm"
    existing.write_bytes(b"keep")
    with pytest.raises(ValueError, match="already exists"):
        tfzoo.export(build("gpt2"), str(existing), tokenizer=word_tokenizer())
    assert existing.read_bytes() == b"keep" and sorted(os.listdir(tmp_path)) == ["e.litertlm"]


def test_missing_runtime_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "litert_lm", None)  # `import litert_lm` raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'tfzoo\[litertlm\]'") as info:
        export(build("llama-tiny"), tmp_path / "x.litertlm")
    assert "\n" not in str(info.value) and os.listdir(tmp_path) == []
