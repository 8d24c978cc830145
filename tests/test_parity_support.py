"""Shared, built-once fixtures for the parity and bundle tests: a tiny fine-tuned teacher, a tiny
fine-tuned "student", its real artifacts (convert_all) and a parity run. No mocks: every artifact
runs through its real runtime. (No tests in this module.)"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

L = 40  # export length: differs from every tiny width (32, 48, 64, 96, head dim 8/12, 2 labels)
LABELS = ["negative", "positive"]
_CACHE: dict = {}


def make_tiny(out: Path, hidden: int, intermediate: int, seed: int) -> Path:
    from tiny_models import make_tiny_bert

    from pipeline.data import write_labels

    d = make_tiny_bert(out, labels=LABELS, hidden=hidden, intermediate=intermediate, heads=4, seed=seed)
    write_labels(d / "labels.txt", LABELS)
    return d


def overrides(root: Path) -> list[str]:
    return [f"output_dir={root}", f"convert.max_seq_length={L}", "data.max_train_examples=400",
            "data.max_dev_examples=200", "convert.num_calibration=50", "parity.latency_runs=2",
            f"bundle.dir={root / 'assets'}", "bundle.golden_cases=8",
            "bundle.backends=[tflite_int8, tflite_fp32, ptl_int8]"]


def write_config(root: Path, extra: list[str] | None = None) -> Path:
    """A YAML config equivalent to `overrides(root)` (for CLI tests)."""
    import yaml

    from pipeline.config import load_config, to_dict

    cfg = load_config(None, overrides(root) + list(extra or []))
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(to_dict(cfg)), encoding="utf-8")
    return path


def tiny_run(tmp_path_factory) -> dict:
    """teacher/, student/, convert/ (all five artifacts), parity/ (gate passed) under one root;
    built once per test session."""
    if "run" in _CACHE:
        return _CACHE["run"]
    from converters import convert_all

    from pipeline.config import FinetuneConfig, load_config
    from pipeline.data import resolve_labeled
    from pipeline.finetune import finetune_teacher
    from pipeline.parity import run_parity

    root = tmp_path_factory.mktemp("parity_run")
    cfg = load_config(None, overrides(root))
    train = resolve_labeled("default", "train", cfg.data)
    dev = resolve_labeled("default", "dev", cfg.data, label_names=LABELS)
    ft = FinetuneConfig(epochs=3, batch_size=32, learning_rate=2e-3, max_seq_length=L)
    finetune_teacher(str(make_tiny(root / "base_teacher", 48, 96, 0)), train, dev, root / "teacher",
                     ft, seed=0, progress=False)
    finetune_teacher(str(make_tiny(root / "base_student", 32, 64, 1)), train, dev, root / "student",
                     ft, seed=1, progress=False)
    convert_all(root / "student", root / "convert", max_seq_length=L, calibration_texts=train.texts,
                num_calibration=50, progress=False)
    from pipeline.report import write_reports

    report = run_parity(root / "teacher", root / "student", root / "convert", cfg,
                        out_dir=root / "parity", progress=False, reporter=write_reports)
    # the dev rows parity used, as a file (for `evaluate` and CLI tests)
    dev_file = root / "dev200.tsv"
    dev_file.write_text("sentence\tlabel\n" + "".join(f"{t}\t{LABELS[y]}\n" for t, y in
                                                      zip(dev.texts, dev.labels)), encoding="utf-8")
    _CACHE["run"] = {"root": root, "cfg": cfg, "report": report, "dev_file": dev_file,
                     "config": write_config(root)}
    return _CACHE["run"]


def copy_run(run: dict, dest: Path, parts=("convert", "parity")) -> Path:
    """A private copy of the parts a test will modify; the rest is symlinked."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("teacher", "student", "convert", "parity"):
        src = run["root"] / name
        if name in parts:
            shutil.copytree(src, dest / name)
        else:
            (dest / name).symlink_to(src, target_is_directory=True)
    return dest


def corrupt_tflite_weights(path: Path, student_dir: Path) -> None:
    """Scale the word-embedding matrix stored in an fp32 .tflite by -3 (the file stays loadable:
    only weight bytes change)."""
    from safetensors.numpy import load_file

    emb = load_file(str(student_dir / "model.safetensors"))["bert.embeddings.word_embeddings.weight"]
    blob = bytearray(path.read_bytes())
    raw = np.ascontiguousarray(emb, dtype=np.float32).tobytes()
    at = bytes(blob).find(raw)
    assert at >= 0, "embedding matrix not found in the fp32 tflite"
    blob[at:at + len(raw)] = (np.ascontiguousarray(emb, dtype=np.float32) * -3.0).tobytes()
    path.write_bytes(bytes(blob))


def models_by_name(report: dict) -> dict:
    return {m["name"]: m for m in report["models"]}


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
