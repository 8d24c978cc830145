"""Labeled text for classification: column choice, label mapping, `labels.txt`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from pipeline.data.readers import read_rows
from pipeline.errors import BertEdgeError

# GLUE-style column pairs, tried in order when the user does not name the text columns.
TEXT_COLUMN_CANDIDATES = [
    ("sentence1", "sentence2"),
    ("question", "sentence"),
    ("question1", "question2"),
    ("premise", "hypothesis"),
    ("sentence", None),
    ("text", None),
]


@dataclass
class LabeledData:
    texts: list[str]
    pairs: Optional[list[str]]  # second segment for pair tasks
    labels: list[int]
    label_names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, n: int) -> "LabeledData":
        if n <= 0 or n >= len(self):
            return self
        return LabeledData(self.texts[:n], self.pairs[:n] if self.pairs else None,
                           self.labels[:n], self.label_names, self.source)


def choose_text_columns(columns: Sequence[str], text_column: Optional[str],
                        pair_column: Optional[str], where: str) -> tuple[str, Optional[str]]:
    if text_column:
        for col in filter(None, (text_column, pair_column)):
            if col not in columns:
                raise BertEdgeError(f"{where}: missing column '{col}' (columns: {', '.join(columns)})")
        return text_column, pair_column
    for first, second in TEXT_COLUMN_CANDIDATES:
        if first in columns and (second is None or second in columns):
            return first, second
    raise BertEdgeError(
        f"{where}: no text column found (expected 'sentence', 'sentence1'/'sentence2', "
        f"'question'/'sentence' or 'text'; columns: {', '.join(columns)}); pass --text-column"
    )


def _label_key(value) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# The label policy. Integer ids are ASCII digits only: str.isdigit() accepts '²', int() does not.
_INT_LABEL = re.compile(r"-?[0-9]+\Z")
# What pandas, numpy and spreadsheets write for a missing value: not a class.
_MISSING_LABELS = {"nan", "-nan", "na", "n/a", "<na>", "null"}


def is_int_label(key: str) -> bool:
    return bool(_INT_LABEL.match(key))


def check_label_keys(path, keys: Sequence[str], lines: Sequence[int], inferred: bool) -> None:
    """Missing (NaN) labels are errors; when the label set is inferred from the data, integer
    ids and names must not be mixed (0/1 next to negative/positive would become 4 classes)."""
    for key, lineno in zip(keys, lines):
        if key.lower() in _MISSING_LABELS:
            raise BertEdgeError(f"{path}:{lineno}: label '{key}' is a missing value (NaN): every row needs a label")
    if inferred:
        first_int = next(((k, n) for k, n in zip(keys, lines) if is_int_label(k)), None)
        first_name = next(((k, n) for k, n in zip(keys, lines) if not is_int_label(k)), None)
        if first_int and first_name:
            (k2, n2), (k1, n1) = sorted([first_int, first_name], key=lambda x: x[1], reverse=True)
            raise BertEdgeError(f"{path}:{n2}: label '{k2}' mixes label kinds: line {n1} has '{k1}' "
                                f"(integer ids and names cannot be mixed; use one kind)")


def check_classes(path, keys: Sequence[str], lines: Sequence[int], min_classes: int) -> None:
    """Training needs at least two classes: one would 'train' a model that is always right."""
    if min_classes and keys and len(set(keys)) < min_classes:
        raise BertEdgeError(f"{path}:{lines[0]}: every label is '{keys[0]}' ({len(keys)} rows, lines "
                            f"{lines[0]}-{lines[-1]}): training needs at least {min_classes} classes")


def infer_label_names(keys: Sequence[str], where: str = "") -> list[str]:
    """Integer labels 0..K-1 keep their order; string labels sort alphabetically."""
    uniq = sorted(set(keys))
    if all(is_int_label(k) for k in uniq):
        ids = sorted(int(k) for k in uniq)
        if ids[0] < 0:
            raise BertEdgeError(f"{where}{': ' if where else ''}negative label {ids[0]}: integer labels must be 0..K-1")
        return [str(i) for i in range(max(ids) + 1)]
    return uniq


def load_labeled(path: str | Path, fmt: str = "auto", text_column: Optional[str] = None,
                 pair_column: Optional[str] = None, label_column: str = "label",
                 label_names: Optional[Sequence[str]] = None, max_examples: int = 0,
                 min_classes: int = 0) -> LabeledData:
    """Load labeled rows. With `label_names` given (e.g. the teacher's labels.txt), every label
    must be one of them (by name, or by integer id); otherwise the set is inferred."""
    path = Path(path)
    columns, rows = read_rows(path, fmt)
    tcol, pcol = choose_text_columns(columns, text_column, pair_column, str(path))
    if label_column not in columns:
        raise BertEdgeError(f"{path}: missing label column '{label_column}' (columns: {', '.join(columns)})")
    texts, pairs, keys, lines = [], [] if pcol else None, [], []
    for lineno, row in rows:
        text = row.get(tcol)
        if text is None or not str(text).strip():
            raise BertEdgeError(f"{path}:{lineno}: empty text in column '{tcol}'")
        texts.append(str(text))
        if pcol:
            pair = row.get(pcol)
            if pair is None or not str(pair).strip():
                raise BertEdgeError(f"{path}:{lineno}: empty text in column '{pcol}'")
            pairs.append(str(pair))
        raw_label = row.get(label_column)
        if raw_label is None or _label_key(raw_label) == "":
            raise BertEdgeError(f"{path}:{lineno}: empty label")
        keys.append(_label_key(raw_label))
        lines.append(lineno)
        if max_examples and len(texts) >= max_examples:
            break
    fixed = label_names is not None and len(label_names) > 0
    check_label_keys(path, keys, lines, inferred=not fixed)
    check_classes(path, keys, lines, min_classes)
    names = [str(n) for n in label_names] if fixed else infer_label_names(keys, str(path))
    index = {n: i for i, n in enumerate(names)}
    ids = []
    for key, lineno in zip(keys, lines):
        if key in index:
            ids.append(index[key])
        elif is_int_label(key) and 0 <= int(key) < len(names):
            ids.append(int(key))  # integer id against a named label set
        else:
            raise BertEdgeError(f"{path}:{lineno}: label '{key}' is not in the label set ({', '.join(names)}): "
                                f"{len(names)} labels there, {len(set(keys))} distinct labels in the data")
    return LabeledData(texts, pairs, ids, names, str(path))


def write_labels(path: str | Path, names: Sequence[str]) -> None:
    from pipeline.fsutil import write_text_atomic

    write_text_atomic(path, "".join(f"{n}\n" for n in names))


def read_labels(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        names = [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    except UnicodeDecodeError:
        raise BertEdgeError(f"{path}: not valid UTF-8") from None
    if not names:
        raise BertEdgeError(f"{path}: labels file is empty")
    return names
