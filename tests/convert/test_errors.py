"""Bad checkpoints give a `ValueError` that names the problem and the fix."""

import json
import os

import numpy as np
import pytest
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)
from safetensors.numpy import load_file, save_file

from tests.convert.hf_models import bert_config, gpt2_config, save_hf
from tfzoo.convert import from_pretrained

pytestmark = pytest.mark.usefixtures("quiet_hf")


@pytest.fixture
def bert_dir(tmp_path):
    save_hf(transformers.BertModel, bert_config(num_hidden_layers=1), tmp_path)
    return tmp_path


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (path / "config.json").write_text(json.dumps(config))


def _edit_weights(path, fn):
    file = path / "model.safetensors"
    tensors = load_file(file)
    fn(tensors)
    save_file(tensors, file, metadata={"format": "pt"})


def test_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        from_pretrained(tmp_path / "nope")


def test_no_config(bert_dir):
    (bert_dir / "config.json").unlink()
    with pytest.raises(ValueError, match="No config.json"):
        from_pretrained(bert_dir)


def test_no_weights(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="No weights.*model.safetensors"):
        from_pretrained(bert_dir)


def test_pickle_only_is_refused_with_conversion_command(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    # Never unpickled: the file's content is irrelevant, tfzoo must refuse before reading it.
    (bert_dir / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(ValueError, match="arbitrary code") as info:
        from_pretrained(bert_dir)
    # The command keeps the head: it names the checkpoint's own class, not AutoModel.
    assert "from transformers import BertModel" in str(info.value)
    assert "safe_serialization=True" in str(info.value)


def test_other_formats_are_refused(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    (bert_dir / "tf_model.h5").write_bytes(b"not read")
    with pytest.raises(ValueError, match="safetensors weights only"):
        from_pretrained(bert_dir)


def test_unsupported_architecture_is_named_and_supported_listed(bert_dir):
    _edit_config(bert_dir, architectures=["BertForNextSentencePrediction"])
    with pytest.raises(ValueError, match="BertForNextSentencePrediction.*GPT2LMHeadModel"):
        from_pretrained(bert_dir)


def test_unsupported_model_type(bert_dir):
    _edit_config(bert_dir, architectures=None, model_type="t5")
    with pytest.raises(ValueError, match="model_type='t5'.*'bert', 'roberta'.*'gpt2', 'llama'"):
        from_pretrained(bert_dir)


def test_model_type_alone_selects_the_family(bert_dir):
    _edit_config(bert_dir, architectures=None)
    assert from_pretrained(bert_dir).num_layers == 1


def test_shape_mismatch_names_tensor_and_shapes(bert_dir):
    _edit_config(bert_dir, intermediate_size=48)
    with pytest.raises(
        ValueError, match=r"encoder.layer.0.intermediate.dense.weight.*\(64, 32\).*\(48, 32\)"
    ):
        from_pretrained(bert_dir)


def test_missing_tensor_is_named(bert_dir):
    _edit_weights(bert_dir, lambda t: t.pop("encoder.layer.0.attention.self.key.bias"))
    with pytest.raises(ValueError, match="encoder.layer.0.attention.self.key.bias"):
        from_pretrained(bert_dir)


def test_vocab_size_disagreeing_with_embedding(bert_dir):
    _edit_config(bert_dir, vocab_size=151)
    with pytest.raises(ValueError, match="vocab_size=151.*150 rows"):
        from_pretrained(bert_dir)


def test_untied_decoder_is_refused(tmp_path):
    save_hf(transformers.BertForMaskedLM, bert_config(num_hidden_layers=1), tmp_path)

    def add_decoder(t):
        t["cls.predictions.decoder.weight"] = t["bert.embeddings.word_embeddings.weight"] + 1.0

    _edit_weights(tmp_path, add_decoder)
    with pytest.raises(ValueError, match="untied"):
        from_pretrained(tmp_path, task="masked_lm")


def test_tied_decoder_copy_is_accepted(tmp_path):
    save_hf(transformers.BertForMaskedLM, bert_config(num_hidden_layers=1), tmp_path)

    def add_decoder(t):
        t["cls.predictions.decoder.weight"] = t["bert.embeddings.word_embeddings.weight"].copy()

    _edit_weights(tmp_path, add_decoder)
    assert from_pretrained(tmp_path, task="masked_lm").output_shape[-1] == 150


def test_unknown_task(bert_dir):
    with pytest.raises(ValueError, match="Unknown task 'causal_lm'.*masked_lm"):
        from_pretrained(bert_dir, task="causal_lm")


def test_unsupported_activation(bert_dir):
    _edit_config(bert_dir, hidden_act="mish")
    with pytest.raises(ValueError, match="hidden_act='mish'"):
        from_pretrained(bert_dir)


def test_unsupported_gpt2_option(tmp_path):
    save_hf(transformers.GPT2Model, gpt2_config(n_layer=1), tmp_path)
    _edit_config(tmp_path, scale_attn_by_inverse_layer_idx=True)
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        from_pretrained(tmp_path)


def test_broken_shard_index(bert_dir):
    (bert_dir / "model.safetensors").rename(bert_dir / "model-00001-of-00002.safetensors")
    index = {
        "weight_map": {"embeddings.word_embeddings.weight": "model-00002-of-00002.safetensors"}
    }
    (bert_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="model-00002-of-00002.safetensors"):
        from_pretrained(bert_dir)


def test_config_missing_a_size(bert_dir):
    _edit_config(bert_dir, num_hidden_layers=None)
    with pytest.raises(ValueError, match="num_hidden_layers"):
        from_pretrained(bert_dir)


def test_float16_checkpoint_loads(bert_dir):
    _edit_weights(bert_dir, lambda t: t.update({k: v.astype(np.float16) for k, v in t.items()}))
    model = from_pretrained(bert_dir)
    assert model.weights[0].dtype == "float32"


def test_bfloat16_checkpoint_loads_exactly(bert_dir):
    import torch
    from safetensors.torch import load_file as load_torch
    from safetensors.torch import save_file as save_torch

    file = bert_dir / "model.safetensors"
    tensors = {k: v.to(torch.bfloat16) for k, v in load_torch(file).items()}
    save_torch(tensors, file, metadata={"format": "pt"})
    model = from_pretrained(bert_dir)
    expected = tensors["embeddings.word_embeddings.weight"].float().numpy()
    np.testing.assert_array_equal(model.token_embedding.embeddings.numpy(), expected)


def test_dtype_policy_is_applied(bert_dir):
    model = from_pretrained(bert_dir, dtype="mixed_bfloat16")
    # The layers carry the policy (the functional model's own `dtype_policy` reads float32).
    assert model.transformer_layers[0].dtype_policy.name == "mixed_bfloat16"
    assert model.token_embedding.embeddings.dtype == "float32"  # variables stay float32


def _overwrite_payload(path, tensor, data):
    """Overwrites the first bytes of `tensor`'s data in model.safetensors (in place)."""
    file = path / "model.safetensors"
    raw = bytearray(file.read_bytes())
    header_size = int.from_bytes(raw[:8], "little")
    begin = json.loads(raw[8 : 8 + header_size])[tensor]["data_offsets"][0]
    start = 8 + header_size + begin
    raw[start : start + len(data)] = data
    file.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "data, shown",
    [(b"\x7f" * 32, "3.39"), (b"\xff" * 32, "nan")],
    ids=["huge_finite", "nan"],
)
def test_corrupted_bytes_are_refused_naming_the_tensor(bert_dir, data, shown):
    # 0x7f7f7f7f reads as 3.39e38: finite, yet no trained weight; 0xffffffff is NaN.
    _overwrite_payload(bert_dir, "encoder.layer.0.attention.self.query.weight", data)
    with pytest.raises(ValueError) as info:
        from_pretrained(bert_dir)
    message = str(info.value)
    assert "'encoder.layer.0.attention.self.query.weight'" in message
    assert "looks corrupted" in message and "8 of its 1024 values" in message
    assert shown in message and "\n" not in message


def test_infinite_value_is_refused(bert_dir):
    def poison(t):
        t["embeddings.LayerNorm.bias"][3] = np.inf

    _edit_weights(bert_dir, poison)
    with pytest.raises(ValueError, match=r"'embeddings.LayerNorm.bias'.*corrupted.*index \(3,\)"):
        from_pretrained(bert_dir)


def test_large_but_plausible_values_load(bert_dir):
    # float16's largest value is far from the corruption threshold.
    _edit_weights(bert_dir, lambda t: t["embeddings.LayerNorm.bias"].__setitem__(0, 65504.0))
    assert from_pretrained(bert_dir).num_layers == 1


def test_model_type_contradicting_architectures_is_refused(bert_dir):
    _edit_config(bert_dir, model_type="roberta")  # architectures still says BertModel
    with pytest.raises(ValueError) as info:
        from_pretrained(bert_dir)
    message = str(info.value)
    assert "model_type='roberta'" in message and "'BertModel'" in message
    assert "contradicts" in message
    assert all(f"'{t}'" in message for t in ("bert", "roberta", "gpt2", "llama", "gemma2"))


def test_matching_model_type_and_architecture_load(bert_dir):
    _edit_config(bert_dir, model_type="bert", architectures=["BertModel"])
    assert from_pretrained(bert_dir).num_layers == 1


def test_save_pretrained_to_an_unwritable_folder_is_one_line():
    import tfzoo

    # /proc is a virtual file system: nobody, not even root, creates a folder there.
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc on this system")
    model = tfzoo.build("bert-tiny", num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
    with pytest.raises(
        ValueError, match=r"Cannot write a checkpoint to '/proc/tfzoo-x'.*not writable"
    ):
        tfzoo.save_pretrained(model, "/proc/tfzoo-x")
