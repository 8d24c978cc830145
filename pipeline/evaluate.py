"""Accuracy of a fine-tuned Hugging Face classifier directory on a labeled file."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.data import LabeledData, read_labels
from pipeline.errors import BertEdgeError
from pipeline.metrics import classification_report


def model_labels(model_dir: str | Path) -> list[str]:
    """Label names of a classifier dir: labels.txt, else config.id2label."""
    model_dir = Path(model_dir)
    if (model_dir / "labels.txt").is_file():
        return read_labels(model_dir / "labels.txt")
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    id2label = cfg.get("id2label") or {}
    if not id2label:
        raise BertEdgeError(f"{model_dir}: no labels.txt and no id2label: not a classifier")
    return [id2label[k] for k in sorted(id2label, key=int)]


def evaluate_hf_dir(model_dir: str | Path, data: LabeledData, max_length: int = 128,
                    progress: bool = True) -> dict:
    from pipeline.predict import hf_logits
    from pipeline.teacher import load_classifier

    model, tok, _ = load_classifier(str(model_dir), attn_implementation="sdpa")
    if model.config.num_labels != len(data.label_names):
        raise BertEdgeError(f"{model_dir}: model has {model.config.num_labels} labels, data has "
                            f"{len(data.label_names)} ({', '.join(data.label_names)})")
    logits = hf_logits(model, tok, data.texts, data.pairs, max_length=max_length,
                       desc="evaluate", progress=progress)
    return classification_report(logits.argmax(-1), data.labels, data.label_names)


def format_report(rep: dict, title: str) -> str:
    lines = [f"{title}: accuracy {rep['accuracy']:.4f} on {rep['n']} examples "
             f"(macro F1 {rep['macro_f1']:.4f})",
             f"  {'label':<20} {'support':>8} {'accuracy':>9} {'precision':>10} {'f1':>7}"]
    for name, c in rep["per_class"].items():
        lines.append(f"  {name:<20} {c['support']:>8} {c['accuracy']:>9.4f} {c['precision']:>10.4f} {c['f1']:>7.4f}")
    return "\n".join(lines)
