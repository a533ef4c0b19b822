"""A user's labelled CSV file, checked row by row, as a `TextSplit` or split data set."""

import csv
import io
import os

import numpy as np

from tfzoo.data import splits as splitting


def load_csv(
    path,
    text_column="text",
    label_column="label",
    label_names=None,
    split=False,
    split_fractions=splitting.DEFAULT_SPLIT_FRACTIONS,
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
        text = splitting.normalize_text(row[text_at])
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
        return splitting.TextSplit(texts=texts, labels=labels)
    fractions = splitting.check_fractions(split_fractions)
    splits, num_duplicates, num_conflicts = splitting.dedup_and_split(texts, labels, fractions)
    if label_names is None:
        label_names = tuple(str(i) for i in range(max(labels) + 1))
    return splitting.TextClassificationData(
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
