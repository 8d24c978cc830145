"""Load a distilled student (a Hugging Face `save_pretrained` directory) for conversion.

One place decides what the converters accept, so every target fails the same way on a model it
cannot handle: a `ConversionError` for step 'load' that names the model type or the problem.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from converters.common import SUPPORTED_MODEL_TYPES, ConversionError
from converters.errors import BertEdgeError

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


@dataclass
class Student:
    model_dir: Path
    config: dict  # config.json as a dict
    model: Any  # transformers PreTrainedModel, eval(), eager attention
    tokenizer: Any
    labels: list[str]

    @property
    def model_type(self) -> str:
        return self.config.get("model_type", "")

    @property
    def num_labels(self) -> int:
        return len(self.labels)


def read_config(model_dir: str | Path) -> dict:
    """config.json of a model directory, with one-line errors for the usual mistakes."""
    path = Path(model_dir)
    if not path.exists():
        raise ConversionError("load", f"model directory not found: {path}")
    if not path.is_dir():
        raise ConversionError("load", f"{path} is not a directory (expected a Hugging Face "
                                      "save_pretrained directory)")
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise ConversionError("load", f"{path}: no config.json (not a Hugging Face model directory)")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConversionError("load", f"{cfg_file}: corrupt config.json ({e})") from None
    if not isinstance(cfg, dict):
        raise ConversionError("load", f"{cfg_file}: corrupt config.json (not a JSON object)")
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        archs = ",".join(cfg.get("architectures") or []) or "?"
        raise ConversionError(
            "load", f"{path}: unsupported architecture {archs} (model_type '{model_type}'); "
                    f"the converters handle {', '.join(SUPPORTED_MODEL_TYPES)} sequence classifiers",
            op=str(model_type))
    if not any((path / w).is_file() for w in WEIGHT_FILES):
        raise ConversionError("load", f"{path}: no weights file (model.safetensors or pytorch_model.bin)")
    return cfg


def check_max_seq_length(cfg: dict, max_seq_length: int) -> None:
    if not isinstance(max_seq_length, int) or max_seq_length < 2:
        raise ConversionError("load", f"max_seq_length must be an integer >= 2, got {max_seq_length!r}")
    max_pos = cfg.get("max_position_embeddings")
    if max_pos and max_seq_length > max_pos:
        raise ConversionError("load", f"max_seq_length {max_seq_length} is larger than the "
                                      f"model's max_position_embeddings {max_pos}")


def width_clashes(cfg: dict, max_seq_length: int) -> list[str]:
    """Config widths equal to max_seq_length. onnx2tf guesses tensor layouts from dimension
    sizes and was seen to produce silently wrong graphs when the sequence length equals a model
    width; the TFLite graph is built at another length then (build_length)."""
    keys = ("hidden_size", "intermediate_size", "embedding_size", "intra_bottleneck_size",
            "true_hidden_size", "num_labels")
    found = [f"{k}={cfg[k]}" for k in keys if isinstance(cfg.get(k), int) and cfg[k] == max_seq_length]
    heads = cfg.get("num_attention_heads")
    hidden = cfg.get("true_hidden_size") if cfg.get("model_type") == "mobilebert" else cfg.get("hidden_size")
    if isinstance(heads, int) and isinstance(hidden, int) and heads and hidden // heads == max_seq_length:
        found.append(f"head_dim={hidden // heads}")
    return found


def build_length(cfg: dict, max_seq_length: int) -> int:
    """The sequence length onnx2tf builds the TFLite graph at: max_seq_length itself unless it
    (or L - 1, the length of MobileBERT's shifted rows and cls_split.py's other rows) equals a
    model width, then the next longer length that clashes with none (longer: the traced graph
    keeps slice ends of that length, which cut shorter inputs correctly but not longer ones).
    The file is made length-agnostic afterwards (tflite.make_sequence_dynamic), so it still
    takes any length up to max_seq_length."""
    n = max(2, max_seq_length)
    while width_clashes(cfg, n) or width_clashes(cfg, n - 1):
        n += 1
    return n


def model_labels(model_dir: str | Path, cfg: Optional[dict] = None) -> list[str]:
    """Label names of a classifier dir, index = class id: labels.txt, else config.id2label."""
    model_dir = Path(model_dir)
    f = model_dir / "labels.txt"
    if f.is_file():
        try:
            labels = [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except UnicodeDecodeError:
            raise BertEdgeError(f"{f}: not valid UTF-8") from None
        if labels:
            return labels
    if cfg is None:
        try:
            cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BertEdgeError(f"{model_dir}: no labels.txt and no readable config.json ({e})") from None
    id2label = cfg.get("id2label") or {}
    if not id2label:
        raise BertEdgeError(f"{model_dir}: no labels.txt and no id2label: not a classifier")
    return [str(id2label.get(str(i), id2label.get(i, f"label_{i}"))) for i in range(len(id2label))]


def load_student(model_dir: str | Path, max_seq_length: Optional[int] = None) -> Student:
    """Load model (fp32, eval, eager attention) and tokenizer; raise ConversionError('load')."""
    model_dir = Path(model_dir)
    cfg = read_config(model_dir)
    if max_seq_length is not None:
        check_max_seq_length(cfg, max_seq_length)
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the conversion log
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, attn_implementation="eager", dtype=torch.float32)
    except Exception as e:  # corrupt weights, wrong head, ...
        raise ConversionError("load", f"{model_dir}: cannot load a sequence classifier "
                                      f"({type(e).__name__}: {e})") from e
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    model.eval()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except Exception as e:
        raise ConversionError("load", f"{model_dir}: cannot load the tokenizer "
                                      f"({type(e).__name__}: {e})") from e
    labels = model_labels(model_dir, cfg)
    n_out = model.config.num_labels
    if len(labels) != n_out:
        raise ConversionError("load", f"{model_dir}: labels.txt has {len(labels)} labels but the "
                                      f"classifier has {n_out} outputs")
    return Student(model_dir, cfg, model, tokenizer, labels)
