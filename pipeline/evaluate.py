"""Accuracy of a fine-tuned Hugging Face classifier directory, or of a converted artifact
(.onnx, .tflite, .ptl, .pte through its real runtime), on a labeled file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.data import LabeledData, read_labels
from pipeline.errors import BertEdgeError
from pipeline.metrics import classification_report

from converters.runtimes import logits_in_chunks
from converters.student import model_labels


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


# --- artifacts (.onnx, .tflite, .ptl, .pte) ---------------------------------------------------------

ARTIFACT_SUFFIXES = (".onnx", ".tflite", ".ptl", ".pte")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")


def _has_tokenizer(d: Path) -> bool:
    return any((d / f).is_file() for f in TOKENIZER_FILES)


def artifact_context(artifact: str | Path, tokenizer_dir: str | Path | None = None):
    """(tokenizer, labels, where) for an artifact: from `tokenizer_dir`, else the artifact's own
    directory (a student dir or an app bundle with vocab.txt + labels.txt), else the student
    directory that convert.json next to the artifact names."""
    artifact = Path(artifact)
    candidates = []
    if tokenizer_dir is not None:
        d = Path(tokenizer_dir)
        if not d.is_dir():
            raise BertEdgeError(f"--tokenizer: {d} is not a directory")
        if not _has_tokenizer(d):
            raise BertEdgeError(f"--tokenizer: {d} has no tokenizer (tokenizer.json or vocab.txt)")
        candidates.append(d)
    else:
        if _has_tokenizer(artifact.parent):
            candidates.append(artifact.parent)
        report = artifact.parent / "convert.json"
        if report.is_file():
            try:
                md = json.loads(report.read_text(encoding="utf-8")).get("model_dir")
            except (json.JSONDecodeError, UnicodeDecodeError):
                md = None
            # model_dir is as convert was given it (often relative to the run's working dir);
            # a run directory keeps the student next to convert/
            for c in ([Path(md), artifact.parent.parent / Path(md).name] if md else []):
                if c.is_dir() and _has_tokenizer(c):
                    candidates.append(c)
                    break
    if not candidates:
        raise BertEdgeError(f"{artifact}: no tokenizer next to it and no convert.json naming the "
                            "student; pass --tokenizer STUDENT_DIR")
    d = candidates[0]
    tok = _load_any_tokenizer(d)
    labels = None
    for c in candidates:
        if (c / "labels.txt").is_file():
            labels = read_labels(c / "labels.txt")
            break
    if labels is None:
        for c in candidates + [artifact.parent]:
            try:
                labels = model_labels(c) if (c / "config.json").is_file() else None
            except BertEdgeError:
                labels = None
            if labels is None and (c / "convert.json").is_file():
                labels = json.loads((c / "convert.json").read_text(encoding="utf-8")).get("labels")
            if labels:
                break
    if not labels:
        raise BertEdgeError(f"{artifact}: no labels.txt in {d}; pass --tokenizer with a student directory")
    return tok, list(labels), d


def _load_any_tokenizer(d: Path):
    """A fast tokenizer from a HF directory, or from a bare vocab.txt (an app bundle, whose
    manifest.json gives do_lower_case)."""
    from pipeline.teacher import load_tokenizer

    if (d / "tokenizer.json").is_file() or (d / "tokenizer_config.json").is_file():
        return load_tokenizer(d)
    from transformers import BertTokenizerFast

    lower = True
    if (d / "manifest.json").is_file():
        try:
            lower = bool(json.loads((d / "manifest.json").read_text(encoding="utf-8")).get("do_lower_case", True))
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    try:
        return BertTokenizerFast(vocab_file=str(d / "vocab.txt"), do_lower_case=lower)
    except Exception as e:
        raise BertEdgeError(f"{d / 'vocab.txt'}: cannot build a tokenizer ({(str(e).splitlines() or ['?'])[0]})") from None


def artifact_logits(path: str | Path, tokenizer, texts, pairs=None, max_length: int | None = None,
                    progress: bool = True, desc: str = "evaluate") -> np.ndarray:
    """Logits of an artifact through its real runtime, on inputs padded to its fixed length."""
    from converters.runtimes import load_runner
    from pipeline.data.tokenize import encode_fixed

    runner = load_runner(path)  # a corrupt file: one line naming it
    length = runner.max_seq_length or max_length or 128
    if max_length and runner.max_seq_length and max_length != runner.max_seq_length:
        raise BertEdgeError(f"{path}: takes exactly {runner.max_seq_length} tokens; "
                            f"--max-seq-length {max_length} does not match")
    inputs = encode_fixed(tokenizer, texts, pairs, length)
    return logits_in_chunks(runner, inputs, desc=desc, progress=progress)


def evaluate_artifact(path: str | Path, data: LabeledData, tokenizer, max_length: int | None = None,
                      progress: bool = True) -> dict:
    logits = artifact_logits(path, tokenizer, data.texts, data.pairs, max_length, progress)
    if logits.shape[1] != len(data.label_names):
        raise BertEdgeError(f"{path}: model has {logits.shape[1]} outputs, data has "
                            f"{len(data.label_names)} labels ({', '.join(data.label_names)})")
    if not np.all(np.isfinite(logits)):
        raise BertEdgeError(f"{path}: non-finite (NaN/inf) logits: the artifact is broken")
    return classification_report(logits.argmax(-1), data.labels, data.label_names)
