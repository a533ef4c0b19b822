"""Deterministic train/validation/test splits of labelled texts, by a stable hash of each text.

The split of a text is decided by SHA-256 of its normalised text, so it depends neither on the
order of rows nor on the NumPy or Python version, and a text can never land in two splits. Exact
duplicates (after whitespace normalisation) are removed first; a text that occurs with two
different labels is dropped entirely, because its label is ambiguous.
"""

import dataclasses
import hashlib

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


class Split:
    """Base of a split's dataclass: its length is that of its first field (texts, images)."""

    def __len__(self):
        return len(getattr(self, dataclasses.fields(self)[0].name))


class LabelledData:
    """Base of a labelled data set's dataclass: `num_classes` and the split sizes."""

    @property
    def num_classes(self):
        return len(self.label_names)

    def _split_sizes(self):
        return ", ".join(f"{name}={len(getattr(self, name))}" for name in SPLIT_NAMES)


@dataclasses.dataclass(frozen=True)
class TextSplit(Split):
    """One split of a labelled text data set.

    Attributes:
        texts: list of str. The (whitespace-normalised) texts.
        labels: `np.ndarray` of int32, shape `(len(texts),)`. One integer label per text
            (`None` for texts read without labels, `load_csv(..., label_column=None)`).
    """

    texts: list
    labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class TextClassificationData(LabelledData):
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

    def __repr__(self):
        return f"TextClassificationData({self._split_sizes()}, label_names={self.label_names})"


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
    return split_of_bytes(text.encode("utf-8"), fractions)


def split_of_bytes(data, fractions=DEFAULT_SPLIT_FRACTIONS):
    """The split of a record given as bytes, from the first 8 bytes of their SHA-256."""
    point = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    bound = 0
    for name, fraction in zip(SPLIT_NAMES[:-1], fractions[:-1]):
        bound += int(round(fraction * 2**64))
        if point < bound:
            return name
    return SPLIT_NAMES[-1]


def check_fractions(fractions):
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            "`split_fractions` must be 3 non-negative numbers (train, validation, test) that sum "
            f"to 1. Received: split_fractions={fractions}"
        )
    return fractions


def dedup_and_split(texts, labels, fractions):
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
    splits = {name: ([], []) for name in SPLIT_NAMES}
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
