"""Data sources: labeled files, HF datasets, unlabeled passages, and the embedded default."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from pipeline.data.default_data import LABELS as DEFAULT_LABELS, default_path
from pipeline.data.labeled import LabeledData, load_labeled, read_labels, write_labels
from pipeline.data.readers import detect_format, read_passages, read_rows
from pipeline.errors import BertEdgeError

__all__ = ["LabeledData", "load_labeled", "read_labels", "write_labels", "resolve_labeled",
           "resolve_unlabeled", "load_texts", "DEFAULT_LABELS"]

_HF_SPLITS = {"train": "train", "dev": "validation"}


def resolve_labeled(spec: str, split: str, data_cfg=None,
                    label_names: Optional[Sequence[str]] = None) -> LabeledData:
    """Load the `split` ('train' or 'dev') named by `spec`: 'default', 'hf:<name>', or a path.

    `label_names` pins the label set (e.g. from the training data or a teacher's labels.txt).
    """
    text_col = getattr(data_cfg, "text_column", None)
    pair_col = getattr(data_cfg, "text_pair_column", None)
    label_col = getattr(data_cfg, "label_column", "label")
    fmt = getattr(data_cfg, "format", "auto")
    limit = getattr(data_cfg, f"max_{split}_examples", 0) if data_cfg is not None else 0
    if label_names is None and data_cfg is not None and data_cfg.label_names:
        label_names = data_cfg.label_names
    min_classes = 2 if split == "train" else 0  # the label policy: labeled.py
    if spec == "default":
        return load_labeled(default_path(f"{split}.tsv"), label_names=label_names or DEFAULT_LABELS,
                            max_examples=limit, min_classes=min_classes)
    if spec.startswith("hf:"):
        from pipeline.data.hub import load_hf_labeled

        data = load_hf_labeled(spec[3:], _HF_SPLITS.get(split, split), text_col, pair_col,
                               label_col, limit)
        if min_classes and len(set(data.labels)) < min_classes:
            raise BertEdgeError(f"{data.source}: every label is '{data.label_names[data.labels[0]]}': "
                                f"training needs at least {min_classes} classes")
        return data
    return load_labeled(spec, fmt, text_col, pair_col, label_col, label_names, limit, min_classes)


def resolve_unlabeled(spec: str, data_cfg=None) -> list[str]:
    """Passages for general distillation: 'default', 'wordnet' (or 'wordnet:DIR', Debian's
    WordNet 3.0 glosses), a .txt file (one per line), or a labeled file whose text column is used."""
    if spec == "default":
        return read_passages(default_path("unlabeled.txt"))
    if spec == "wordnet" or spec.startswith("wordnet:"):
        from pipeline.data.wordnet import DEFAULT_ROOT, wordnet_passages

        return wordnet_passages(spec[len("wordnet:"):] or DEFAULT_ROOT)
    return load_texts(spec, getattr(data_cfg, "text_column", None))


def load_texts(path: str | Path, text_column: Optional[str] = None) -> list[str]:
    """Texts from any supported file: one per line for .txt, else the text column."""
    path = Path(path)
    fmt = detect_format(path) if path.suffix else "txt"
    if fmt == "txt":
        return read_passages(path)
    from pipeline.data.labeled import choose_text_columns

    columns, rows = read_rows(path, fmt)
    col, _ = choose_text_columns(columns, text_column, None, str(path))
    texts = [str(r[col]) for _, r in rows if r.get(col) is not None and str(r[col]).strip()]
    if not texts:
        raise BertEdgeError(f"{path}: no text in column '{col}'")
    return texts
