"""Load a distilled student (a Hugging Face `save_pretrained` directory) for conversion.

One place decides what the converters accept, so every target fails the same way on a model it
cannot handle: a `ConversionError` for step 'load' that names the model type or the problem.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from converters.common import ConversionError
from converters.families import family, max_real_length
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


def looks_like_hub_id(spec: str) -> bool:
    """`name` or `org/name` that is not a path on disk (a hub repository id)."""
    spec = str(spec)
    return (not Path(spec).expanduser().exists() and not spec.startswith((".", "/", "~"))
            and not spec.endswith("/") and spec.count("/") <= 1 and bool(spec.strip()))


def resolve_model(spec: str | Path) -> Path:
    """A local model directory as is; a hub id (`distilbert-base-uncased-finetuned-sst-2-english`)
    downloaded once into the Hugging Face cache with `snapshot_download` and that snapshot's
    directory returned. Offline (HF_HUB_OFFLINE=1, or no network): one line that says so and
    names the path form."""
    if not looks_like_hub_id(str(spec)):
        return Path(spec).expanduser()
    from huggingface_hub import is_offline_mode

    hint = (f"download it where you have network (`hf download {spec} --local-dir DIR`) and pass "
            "--model DIR")
    if is_offline_mode():
        raise ConversionError("load", f"'{spec}' is not a local directory and looks like a hub id, "
                                      f"but HF_HUB_OFFLINE is set: {hint}")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(spec), allow_patterns=[
            "*.json", "*.safetensors", "*.txt", "*.model", "*.bin"]))
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConversionError("load", f"cannot fetch '{spec}' from the Hugging Face hub "
                                      f"({type(e).__name__}: {first}); {hint}") from None


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
    family(cfg.get("model_type"), where=str(path),
           archs=",".join(cfg.get("architectures") or []) or "?")
    if not any((path / w).is_file() for w in WEIGHT_FILES):
        raise ConversionError("load", f"{path}: no weights file (model.safetensors or pytorch_model.bin)")
    return cfg


def check_max_seq_length(cfg: dict, max_seq_length: int) -> None:
    if not isinstance(max_seq_length, int) or max_seq_length < 2:
        raise ConversionError("load", f"max_seq_length must be an integer >= 2, got {max_seq_length!r}")
    longest = max_real_length(cfg)
    if longest and max_seq_length > longest:
        raise ConversionError("load", f"max_seq_length {max_seq_length} is longer than the "
                                      f"{longest} positions the model's position table holds "
                                      f"(max_position_embeddings "
                                      f"{cfg.get('max_position_embeddings')})")


def width_clashes(cfg: dict, max_seq_length: int) -> list[str]:
    """Config widths equal to max_seq_length. onnx2tf guesses tensor layouts from dimension
    sizes and was seen to produce silently wrong graphs when the sequence length equals a model
    width; the TFLite graph is built at another length then (build_length)."""
    fam = family(cfg.get("model_type"))
    found = [f"{k}={cfg[k]}" for k in fam.width_keys
             if isinstance(cfg.get(k), int) and cfg[k] == max_seq_length]
    heads = cfg.get(fam.heads_key)
    hidden = cfg.get(fam.head_width_key)
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
