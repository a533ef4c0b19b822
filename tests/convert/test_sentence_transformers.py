"""sentence-transformers checkpoints as they are: tfzoo's vectors against the package's own.

Tiny checkpoints are built and saved by `sentence-transformers` itself (a random BERT with a
WordPiece vocabulary, then Pooling / Dense / Normalize modules), so the module files tfzoo reads
are the package's; the real all-MiniLM-L6-v2 is compared on 100 real sentences.
"""

import json
import os

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

import tfzoo
import tfzoo.text
from tests.convert.hf_models import bert_config, save_hf

WORDS = (
    "the a film movie is was good bad great boring plot actor actors story long short fun "
    "dull very not quite an and of to it this that with funny sad music scene scenes end"
).split()
TEXTS = [
    "the film was good",
    "a very boring plot with dull actors",
    "this movie is not quite funny and the end was sad",
    "great music",
    "it was a long long story of an actor and the scenes of the film",
]


def _tiny_bert_dir(path):
    import transformers

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    save_hf(transformers.BertModel, bert_config(vocab_size=len(vocab)), path)
    with open(os.path.join(path, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    transformers.BertTokenizerFast(os.path.join(path, "vocab.txt")).save_pretrained(path)
    return path


def _sentence_transformer(tmp_path, pooling, dense=0, normalize=True):
    torch.manual_seed(1)
    modules = [Transformer(_tiny_bert_dir(str(tmp_path / "bert")), max_seq_length=24)]
    modules.append(Pooling(embedding_dimension=32, pooling_mode=pooling))
    width = modules[-1].get_embedding_dimension()
    for i in range(dense):
        modules.append(Dense(width, 16 + i, activation_function=torch.nn.Tanh(), bias=i == 0))
        width = 16 + i
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device="cpu")
    model.save(str(tmp_path / "st"))
    return model, str(tmp_path / "st")


@pytest.mark.parametrize(
    "pooling, dense, normalize",
    [
        ("mean", 0, True),
        ("cls", 1, False),
        ("max", 0, False),
        ("mean_sqrt_len_tokens", 2, True),
        ("weightedmean", 0, True),
        ("lasttoken", 0, False),
        (("cls", "mean"), 1, True),
    ],
)
def test_modules_give_the_package_vectors(tmp_path, pooling, dense, normalize):
    reference, path = _sentence_transformer(tmp_path, pooling, dense, normalize)
    model = tfzoo.from_pretrained(path, task="sentence_embedding")
    assert model.max_seq_length == 24
    expected = reference.encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(model.encode(TEXTS, batch_size=2), expected, atol=1e-5)
    np.testing.assert_allclose(model.encode(TEXTS[2]), expected[2], atol=1e-5)


def test_save_pretrained_loads_in_sentence_transformers(tmp_path):
    reference, path = _sentence_transformer(tmp_path, "cls", dense=1, normalize=True)
    model = tfzoo.from_pretrained(path, task="sentence_embedding")
    out = tfzoo.save_pretrained(model, tmp_path / "saved")
    with open(os.path.join(out, "modules.json")) as f:
        kinds = [m["type"].rsplit(".", 1)[-1] for m in json.load(f)]
    assert kinds == ["Transformer", "Pooling", "Dense", "Normalize"]
    again = SentenceTransformer(out, device="cpu")
    np.testing.assert_allclose(
        again.encode(TEXTS, convert_to_numpy=True),
        reference.encode(TEXTS, convert_to_numpy=True),
        atol=1e-5,
    )
    back = tfzoo.from_pretrained(out, task="sentence_embedding")
    np.testing.assert_allclose(back.encode(TEXTS), model.encode(TEXTS), atol=1e-6)


def test_real_minilm_matches_sentence_transformers_on_100_sentences():
    texts = [str(t) for t in tfzoo.data.load_movie_reviews().test.texts[:100]]
    path = tfzoo.text.minilm_path()
    model = tfzoo.from_pretrained(path, task="sentence_embedding")
    assert (model.pooling, model.normalize, model.max_seq_length) == ("mean", True, 256)
    ours = model.encode(texts, batch_size=50)
    theirs = SentenceTransformer(path, device="cpu").encode(texts, convert_to_numpy=True)
    cosine = np.sum(ours * theirs, -1) / np.linalg.norm(ours, axis=-1)
    cosine /= np.linalg.norm(theirs, axis=-1)
    assert cosine.min() >= 0.99999, cosine.min()


def test_bad_modules_and_encode_input(tmp_path):
    _, path = _sentence_transformer(tmp_path, "mean")
    with open(os.path.join(path, "modules.json")) as f:
        modules = json.load(f)
    modules.append(
        {"idx": 3, "name": "3", "path": "3_LSTM", "type": "sentence_transformers.models.LSTM"}
    )
    with open(os.path.join(path, "modules.json"), "w") as f:
        json.dump(modules, f)
    with pytest.raises(ValueError, match=r"'sentence_transformers.models.LSTM' module.*Supported"):
        tfzoo.from_pretrained(path, task="sentence_embedding")
    model = tfzoo.build("bert-tiny", task="sentence_embedding")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        model.encode(["a text"])
    with pytest.raises(ValueError, match="Unknown pooling 'median'"):
        tfzoo.build("bert-tiny", task="sentence_embedding", pooling="median")
