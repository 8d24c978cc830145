"""Classification metrics shared by fine-tuning, evaluation and parity."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def classification_report(preds: Sequence[int], labels: Sequence[int], label_names: Sequence[str]) -> dict:
    preds = np.asarray(preds)
    labels = np.asarray(labels)
    k = len(label_names)
    confusion = np.zeros((k, k), dtype=int)  # rows: true label, columns: prediction
    np.add.at(confusion, (labels, preds), 1)
    per_class = {}
    for i, name in enumerate(label_names):
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        tp = int(confusion[i, i])
        prec = tp / predicted if predicted else 0.0
        rec = tp / support if support else 0.0
        per_class[name] = {
            "support": support,
            "accuracy": rec,  # accuracy on the examples of this class (= recall)
            "precision": prec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        }
    return {
        "n": int(len(labels)),
        "accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])) if k else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "labels": list(label_names),
    }
