"""Fixtures for tfzoo.data tests: a real WordPiece tokenizer trained on the movie reviews."""

import keras_hub
import pytest
import tensorflow as tf
import tokenizers

from tfzoo.data import load_movie_reviews

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


class WordPieceAdapter:
    """Test-only adapter: keras-hub's WordPieceTokenizer behind the `tfzoo.text` interface."""

    kind = "wordpiece"

    def __init__(self, vocabulary_path):
        self._tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=str(vocabulary_path), lowercase=True, dtype="int32"
        )
        self.vocabulary = list(self._tokenizer.get_vocabulary())
        self.vocabulary_size = len(self.vocabulary)
        index = {token: i for i, token in enumerate(self.vocabulary)}
        self.pad_token_id = index["[PAD]"]
        self.start_token_id = index["[CLS]"]
        self.end_token_id = index["[SEP]"]
        self.mask_token_id = index["[MASK]"]
        self.unk_token_id = index["[UNK]"]

    def tokenize(self, strings):
        if isinstance(strings, list | tuple):
            strings = tf.constant(strings, dtype=tf.string)
        ids = self._tokenizer.tokenize(strings)
        if isinstance(ids, list):  # keras-hub answers eager calls with Python lists
            return tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        return tf.cast(ids, tf.int32)


@pytest.fixture(scope="session")
def movie_reviews():
    return load_movie_reviews()


@pytest.fixture(scope="session")
def wordpiece(movie_reviews, tmp_path_factory):
    """A 2,000-piece WordPiece vocabulary trained on the movie-review training split."""
    trainer = tokenizers.trainers.WordPieceTrainer(
        vocab_size=2000, special_tokens=SPECIALS, show_progress=False
    )
    model = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    model.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)
    model.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    model.train_from_iterator(movie_reviews.train.texts, trainer=trainer)
    vocabulary = sorted(model.get_vocab().items(), key=lambda item: item[1])
    path = tmp_path_factory.mktemp("wordpiece") / "vocab.txt"
    path.write_text("".join(token + "\n" for token, _ in vocabulary), encoding="utf-8")
    return WordPieceAdapter(path)
