"""Read labeled rows from TSV, CSV and JSONL files, and passages from plain text.

Every failure names the file, the line and the reason. Lines are decoded one at a time so a
non-UTF-8 byte is reported with its line number.
"""
from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Iterator

from pipeline.errors import BertEdgeError

FORMATS = ("tsv", "csv", "jsonl", "txt")


def detect_format(path: Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise BertEdgeError(f"unknown data format '{fmt}' (choose from {', '.join(FORMATS)})")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("tsv", "csv", "jsonl", "txt"):
        return suffix
    if suffix == "json":
        return "jsonl"
    raise BertEdgeError(f"{path}: cannot tell the format from the extension; pass --format tsv|csv|jsonl|txt")


def _decoded_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line, failing on the first non-UTF-8 line."""
    if not path.exists():
        raise BertEdgeError(f"{path}: file not found")
    if not path.is_file():
        raise BertEdgeError(f"{path}: not a file")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise BertEdgeError(
                    f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
                ) from None
            if lineno == 1 and text.startswith("\ufeff"):
                text = text[1:]  # UTF-8 BOM
            yield lineno, text.rstrip("\r\n")


def read_rows(path: str | Path, fmt: str = "auto") -> tuple[list[str], list[tuple[int, dict]]]:
    """Return (columns, [(line, row dict)]) for a TSV/CSV (header row) or JSONL file."""
    path = Path(path)
    fmt = detect_format(path, fmt)
    lines = [(n, t) for n, t in _decoded_lines(path)]
    content = [(n, t) for n, t in lines if t.strip()]
    if not content:
        raise BertEdgeError(f"{path}: file is empty")
    if fmt == "jsonl":
        rows, columns = [], []
        for lineno, text in content:
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                raise BertEdgeError(f"{path}:{lineno}: invalid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise BertEdgeError(f"{path}:{lineno}: each JSONL line must be an object")
            for k in obj:
                if k not in columns:
                    columns.append(k)
            rows.append((lineno, obj))
        return columns, rows
    if fmt == "txt":
        raise BertEdgeError(f"{path}: plain text has no labels; use TSV, CSV or JSONL for labeled data")
    delim = "\t" if fmt == "tsv" else ","
    # csv handles quoting; TSV (GLUE) is unquoted, so quotes in sentences stay literal. The whole
    # file goes through one reader so a quoted CSV field may span lines; each record keeps the
    # line it starts on for error messages.
    quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
    records = []
    with _no_field_size_limit():
        reader = csv.reader((t + "\n" for _, t in lines), delimiter=delim, quoting=quoting, strict=True)
        start = 0
        try:
            for values in reader:
                first = lines[start][0] if start < len(lines) else start + 1
                start = reader.line_num
                if values and any(v.strip() for v in values):
                    records.append((first, values))
        except csv.Error as e:
            raise BertEdgeError(f"{path}:{lines[min(start, len(lines) - 1)][0]}: malformed {fmt.upper()} "
                                f"row ({e})") from None
    header_line, columns = records[0]
    columns = [c.strip() for c in columns]
    if len(set(columns)) != len(columns):
        raise BertEdgeError(f"{path}:{header_line}: duplicate column names in header")
    rows = []
    for lineno, values in records[1:]:
        if len(values) != len(columns):
            raise BertEdgeError(
                f"{path}:{lineno}: expected {len(columns)} {fmt.upper()} fields "
                f"({', '.join(columns)}), found {len(values)}"
            )
        rows.append((lineno, dict(zip(columns, values))))
    if not rows:
        raise BertEdgeError(f"{path}: no data rows after the header")
    return columns, rows


@contextlib.contextmanager
def _no_field_size_limit():
    """csv refuses fields over 131,072 characters by default; long texts are valid input (they
    are truncated at tokenization, as JSONL texts are)."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def read_passages(path: str | Path) -> list[str]:
    """Unlabeled text, one passage per line; blank lines are skipped."""
    path = Path(path)
    passages = [t.strip() for _, t in _decoded_lines(path) if t.strip()]
    if not passages:
        raise BertEdgeError(f"{path}: file is empty")
    return passages
