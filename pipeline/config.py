"""One YAML config for a whole run, validated into dataclasses.

Unknown keys fail with the closest valid key; wrong types and out-of-range values fail with the
dotted path of the key. `--set` and CLI flags override the file through `load_config(path, overrides)`.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from pipeline.errors import BertEdgeError

from converters.backends import BACKENDS, ids  # noqa: E402  (the one backend table)
from converters.common import DEFAULT_NUM_CALIBRATION  # noqa: E402


def _rng(lo=None, hi=None, lo_open=False):
    return {"min": lo, "max": hi, "lo_open": lo_open}


@dataclass
class FinetuneConfig:
    """Teacher fine-tuning for sequence classification (skipped when the teacher already is)."""
    epochs: float = field(default=3.0, metadata=_rng(0, lo_open=True))
    batch_size: int = field(default=32, metadata=_rng(1))
    learning_rate: float = field(default=5e-5, metadata=_rng(0, lo_open=True))
    weight_decay: float = field(default=0.01, metadata=_rng(0))
    warmup_ratio: float = field(default=0.1, metadata=_rng(0, 1))
    max_seq_length: int = field(default=64, metadata=_rng(8, 512))
    eval_every: int = field(default=0, metadata=_rng(0))  # steps; 0 = once per epoch
    max_steps: int = field(default=0, metadata=_rng(0))  # 0 = no cap
    # Batches of similar length, as distillation draws them: on short-text tasks dynamic padding
    # then pads little and an epoch costs a fraction. Off by default: on a tiny training set the
    # few sorted mega-batches made a tiny model collapse.
    group_by_length: bool = False


@dataclass
class TeacherConfig:
    model: str = "minilm"  # 'minilm' (embedded), a local HF directory, or a hub id
    finetuned: Optional[str] = None  # an already fine-tuned teacher dir; skips fine-tuning
    trust_remote_code: bool = False
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)


@dataclass
class StudentConfig:
    """The student architecture (see docs/distillation.md, "Students")."""
    # A preset (tinybert-4l-312d, tinybert-6l-768d, mobilebert, distilbert-style), a student model
    # directory to continue from (e.g. the output of a general-distillation run), or a config.json.
    preset: str = "tinybert-4l-312d"
    overrides: dict = field(default_factory=dict)  # any HF config keys, e.g. {num_hidden_layers: 3}
    # teacher layers to copy (0-based) for distilbert-style (None = every other, ending at the last) and sliced students
    # (None = the layers the uniform layer map pairs with the student's)
    init_layers: Optional[list] = None
    # teacher: word/position/type embeddings start as the teacher's, projected onto their top
    # principal directions when the student is narrower; random: TinyBERT's random init.
    init_embeddings: str = "teacher"
    # teacher: a BERT student no wider/deeper than its BERT teacher starts as a slice of it (some
    # teacher layers, its most important hidden units, head dims and FFN neurons; docs/distillation.md
    # "Initialization"); other students fall back to init_embeddings. random: TinyBERT's random layers.
    init_encoder: str = "teacher"
    # the model the two above copy from: None = the first phase's teacher (the fine-tuned teacher
    # for task phases, teacher.model for general); a model (minilm, a directory) to start from it
    # instead, e.g. the pretrained model, so the student inherits no task knowledge
    init_from: Optional[str] = None


@dataclass
class DataConfig:
    train: str = "default"  # 'default' (embedded), a file, or 'hf:glue/sst2'
    dev: str = "default"
    unlabeled: str = "default"  # passages for general distillation; 'none' to skip
    format: str = "auto"  # auto | tsv | csv | jsonl | txt
    text_column: Optional[str] = None  # None: sentence, sentence1, question, text
    text_pair_column: Optional[str] = None
    label_column: str = "label"
    label_names: Optional[list] = None  # names for integer labels, e.g. [negative, positive]
    max_train_examples: int = field(default=0, metadata=_rng(0))  # 0 = all
    max_dev_examples: int = field(default=0, metadata=_rng(0))


@dataclass
class PhaseConfig:
    """One distillation phase (general, task-intermediate or task-prediction)."""
    epochs: float = field(default=1.0, metadata=_rng(0, lo_open=True))
    batch_size: int = field(default=32, metadata=_rng(1))  # global: split across processes
    learning_rate: float = field(default=5e-5, metadata=_rng(0, lo_open=True))
    max_seq_length: int = field(default=64, metadata=_rng(8, 512))
    max_steps: int = field(default=0, metadata=_rng(0))  # 0 = no cap
    weight_decay: float = field(default=0.01, metadata=_rng(0))
    warmup_ratio: float = field(default=0.1, metadata=_rng(0, 1))
    # Loss name -> weight; {} = the method's defaults. Names: emb hidden attn (TinyBERT), soft_ce,
    # kl, ce, cos (DistilBERT), fmt at (MobileBERT). A weight of 0 switches a loss off.
    loss_weights: dict = field(default_factory=dict)


# Per-phase defaults live in subclasses (not in default_factory) so that a partial section such
# as `distill.general: {epochs: 3}` keeps the phase's other defaults.
@dataclass
class GeneralPhaseConfig(PhaseConfig):
    learning_rate: float = field(default=1e-4, metadata=_rng(0, lo_open=True))


@dataclass
class TaskIntermediatePhaseConfig(PhaseConfig):
    epochs: float = field(default=2.0, metadata=_rng(0, lo_open=True))


@dataclass
class TaskPredictionPhaseConfig(PhaseConfig):
    epochs: float = field(default=2.0, metadata=_rng(0, lo_open=True))
    learning_rate: float = field(default=3e-5, metadata=_rng(0, lo_open=True))


@dataclass
class DistillConfig:
    method: str = "tinybert"  # tinybert | distilbert | mobilebert | labels-only
    phases: list = field(default_factory=lambda: ["general", "task-intermediate", "task-prediction"])
    general: GeneralPhaseConfig = field(default_factory=GeneralPhaseConfig)
    task_intermediate: TaskIntermediatePhaseConfig = field(default_factory=TaskIntermediatePhaseConfig)
    task_prediction: TaskPredictionPhaseConfig = field(default_factory=TaskPredictionPhaseConfig)
    temperature: float = field(default=1.0, metadata=_rng(0, lo_open=True))
    layer_map: Optional[list] = None  # student layer i+1 -> teacher layer layer_map[i] (1-based); None = uniform
    projection: str = "per-layer"  # per-layer | shared: learned width projections student -> teacher
    head_mismatch: str = "average"  # average | skip: attention losses when head counts differ
    progressive: bool = False  # intermediate phases train one student layer at a time (MobileBERT)
    augment: bool = False  # TinyBERT data augmentation for the task phases
    augment_factor: int = field(default=4, metadata=_rng(1))  # augmented copies per training sentence
    augment_prob: float = field(default=0.4, metadata=_rng(0, 1, lo_open=True))  # per-word replacement
    augment_candidates: int = field(default=15, metadata=_rng(1))  # candidates per word
    task_unlabeled: bool = False  # task phases also learn the teacher's predictions on data.unlabeled
    cache_teacher: bool = True  # teacher outputs on disk: epochs after the first skip the teacher
    cache_dtype: str = "float16"  # float16 | float32
    cache_dir: Optional[str] = None  # None: inside the run's work dir (removed on success)
    cache_max_gb: float = field(default=20.0, metadata=_rng(0))  # bigger caches are skipped
    # every teacher layer in the cache (within cache_max_gb), not only those this student's layer map
    # reads: students with other maps sharing cache_dir then reuse it (bert-edge compare sets it)
    cache_all_layers: bool = False
    group_by_length: bool = True  # batches of similar length: far less padding
    keep_best: bool = True  # prediction phases keep the best dev checkpoint
    eval_every: int = field(default=0, metadata=_rng(0))  # steps; 0 = once per epoch
    checkpoint_every: int = field(default=200, metadata=_rng(0))  # steps; 0 = only at phase ends
    log_every: int = field(default=10, metadata=_rng(1))  # steps between JSON-lines records
    max_grad_norm: float = field(default=1.0, metadata=_rng(0))  # 0 = no clipping
    mixed_precision: str = "no"  # no | bf16 | fp16 (GPU)
    seed: Optional[int] = None  # None = the top-level seed


@dataclass
class ConvertConfig:
    targets: list = field(default_factory=lambda: list(BACKENDS))
    max_seq_length: int = field(default=128, metadata=_rng(8, 512))
    num_calibration: int = field(default=DEFAULT_NUM_CALIBRATION, metadata=_rng(1))
    # full int8: quantization-aware fine-tuning steps before conversion (converters/qat.py)
    full_int8_qat_steps: int = field(default=0, metadata=_rng(0))


@dataclass
class ParityConfig:
    """The gate (docs/ARCHITECTURE.md "Parity gate"). A breach by the student or by an artifact in
    `required` fails the gate (exit 3); other artifacts that breach are reported and not bundled."""
    min_agreement: float = field(default=0.99, metadata=_rng(0, 1))  # artifact vs float student
    max_int8_accuracy_drop: float = field(default=1.0, metadata=_rng(0, 100))  # points
    max_fp32_abs_diff: float = field(default=1e-3, metadata=_rng(0))
    min_teacher_share: float = field(default=0.95, metadata=_rng(0, 1))  # student acc / teacher acc
    max_examples: int = field(default=0, metadata=_rng(0))  # 0 = the whole dev set
    required: list = field(default_factory=lambda: list(ids(required=True)))
    latency_runs: int = field(default=5, metadata=_rng(0))  # batch-1 single-thread timing; 0 = skip
    batch_size: int = field(default=32, metadata=_rng(1))  # PyTorch teacher/student batches


@dataclass
class BundleConfig:
    dir: str = "android_demo/app/src/main/assets"
    # The first is the app's default backend.
    backends: list = field(default_factory=lambda: ["tflite_int8", *(b for b in ids(bundled=True)
                                                                     if b != "tflite_int8")])
    golden_cases: int = field(default=32, metadata=_rng(1))
    # Host-vs-device tolerances written to manifest.json, per backend kind; a backend id key
    # (e.g. {tflite_int8: {max_abs_logit_diff: 0.1}}) overrides its kind's entry.
    tolerances: dict = field(default_factory=lambda: {
        "fp32": {"max_abs_logit_diff": 1e-3, "min_argmax_agreement": 1.0},
        "int8": {"max_abs_logit_diff": 0.1, "min_argmax_agreement": 0.95},
    })


@dataclass
class CompareConfig:
    """`bert-edge compare` (docs/compare.md): which student families, how they are timed, and
    the recommendation rule."""
    students: list = field(default_factory=lambda: ["tinybert-4l-312d", "mobilebert", "distilbert-style"])
    # preset -> HF config keys for that student only, merged over student.overrides
    overrides: dict = field(default_factory=dict)
    # preset -> distill keys for that student only, merged over the distill section (e.g. a
    # higher learning rate for a student whose layers start random)
    distill: dict = field(default_factory=dict)
    within_points: float = field(default=1.0, metadata=_rng(0, 100))  # accuracy points below the best
    threads: list = field(default_factory=lambda: [1, 2])
    # dev sentences timed per model and thread count, each at its own length and padded to
    # convert.max_seq_length (tokenization included); 0 = the whole dev set
    sentences: int = field(default=200, metadata=_rng(0))
    warmup: int = field(default=5, metadata=_rng(0))  # sentences run untimed first


@dataclass
class RunConfig:
    output_dir: str = "runs/default"
    seed: int = 42
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    parity: ParityConfig = field(default_factory=ParityConfig)
    bundle: BundleConfig = field(default_factory=BundleConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)


# --- validation -----------------------------------------------------------------------------

def check_number(value: Any, name: str, tp=float, lo=None, hi=None, lo_open: bool = False):
    """The one numeric check for YAML values, --set overrides and flags: a number (numeric
    strings such as '5e-5' accepted), finite (`nan < 0` is false, so NaN would slip past a range
    check and crash later), integral for ints, and within [lo, hi] (lo excluded if lo_open)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # YAML reads 5e-5 as a string; accept numeric strings
            value = float(value) if isinstance(value, str) else None
        except ValueError:
            value = None
        if value is None:
            raise BertEdgeError(f"{name} must be a number ({_type_name(tp)})")
    if not math.isfinite(value):
        raise BertEdgeError(f"{name} must be a finite number, got {value}")
    if tp is int:
        if float(value) != int(value):
            raise BertEdgeError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise BertEdgeError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and value > hi:
        raise BertEdgeError(f"{name} must be <= {hi}, got {value}")
    return value


def arg_number(tp=int, lo=None, hi=None, lo_open: bool = False):
    """argparse `type=` for numeric flags, through `check_number` (the CLI prints one error line)."""
    import argparse

    def parse(text: str):
        try:
            return check_number(text, "value", tp, lo, hi, lo_open)
        except BertEdgeError as e:
            msg = str(e).replace("value ", "", 1)
            raise argparse.ArgumentTypeError(msg if "got" in msg else f"{msg}, got '{text}'") from None

    parse.__name__ = _type_name(tp)  # argparse names the type in its messages
    return parse


def check_nested_numbers(value: Any, path: str) -> None:
    """No NaN/inf anywhere inside a list or mapping value (loss weights, tolerances, overrides)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise BertEdgeError(f"config key '{path}' must be a finite number, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            check_nested_numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_nested_numbers(v, f"{path}[{i}]")


def check_model_overrides(overrides: dict, path: str) -> None:
    """student.overrides are HF config keys: sizes and counts are positive integers, dropout
    probabilities lie in [0, 1), epsilons are positive."""
    for key, v in overrides.items():
        k, name = str(key), f"config key '{path}.{key}'"
        if k.endswith(("_size", "_layers", "_heads", "_embeddings", "_networks")) or k.startswith("num_"):
            if not (isinstance(v, int) and not isinstance(v, bool)):
                raise BertEdgeError(f"{name} must be a positive integer, got {v!r}")
            check_number(v, name, int, 1)
        elif "dropout" in k or k.endswith("_prob"):
            check_number(v, name, float, 0, 1)
            if float(v) >= 1:
                raise BertEdgeError(f"{name} must be < 1, got {v}")
        elif k.endswith("_eps"):
            check_number(v, name, float, 0, lo_open=True)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            check_number(v, name)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp, path: str, meta) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], path, meta)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise BertEdgeError(f"config key '{path}' must be a mapping, got {type(value).__name__}")
        return build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise BertEdgeError(f"config key '{path}' must be true or false, got {value!r}")
        return value
    if tp in (int, float):
        return check_number(value, f"config key '{path}'", tp, meta.get("min"), meta.get("max"),
                            meta.get("lo_open", False))
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise BertEdgeError(f"config key '{path}' must be a string, got {type(value).__name__}")
        return str(value)
    if tp is list or origin is list:
        if not isinstance(value, list):
            raise BertEdgeError(f"config key '{path}' must be a list, got {type(value).__name__}")
        check_nested_numbers(value, path)
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise BertEdgeError(f"config key '{path}' must be a mapping, got {type(value).__name__}")
        check_nested_numbers(value, path)
        if path == "student.overrides":
            check_model_overrides(value, path)
        if path == "compare.overrides":  # preset -> HF config keys
            for preset, keys in value.items():
                if not isinstance(keys, dict):
                    raise BertEdgeError(f"config key '{path}.{preset}' must be a mapping of HF config "
                                        f"keys, got {type(keys).__name__}")
                check_model_overrides(keys, f"{path}.{preset}")
        return value
    return value


def build(cls, data: dict, prefix: str = ""):
    """Build dataclass `cls` from a nested dict, failing on unknown keys with a suggestion."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in (data or {}).items():
        path = f"{prefix}.{key}" if prefix else str(key)
        name = str(key).replace("-", "_")
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.5)
            hint = f" (did you mean '{(prefix + '.') if prefix else ''}{close[0]}'?)" if close else ""
            valid = ", ".join(fields)
            raise BertEdgeError(f"unknown config key '{path}'{hint}; valid keys here: {valid}")
        kwargs[name] = _coerce(value, hints[name], path, fields[name].metadata)
    return cls(**kwargs)


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML file (None = all defaults), apply `key.path=value` overrides, validate."""
    raw: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise BertEdgeError(f"config file not found: {p}")
        try:
            text = p.read_text(encoding="utf-8")
            raw = yaml.safe_load(text) or {}
        except UnicodeDecodeError:
            raise BertEdgeError(f"{p}: config is not UTF-8 text") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise BertEdgeError(f"{p}{where}: invalid YAML ({getattr(e, 'problem', e)})") from None
        if not isinstance(raw, dict):
            raise BertEdgeError(f"{p}: config must be a YAML mapping at the top level")
    for item in overrides or []:
        set_path(raw, item)
    _apply_renamed_keys(raw)
    cfg = build(RunConfig, raw)
    names = cfg.data.label_names
    if names is not None:
        if len(names) < 2 or len({str(n) for n in names}) != len(names) or any(str(n).strip() == "" for n in names):
            raise BertEdgeError(f"config key 'data.label_names' must list at least two distinct, "
                                f"non-empty names, got {names}")
    return cfg


# (section, old key, new key): configs written before a rename keep loading, with one warning line.
RENAMED_KEYS = (("distill", "stages", "phases"),)  # "stage" now means a chain stage only


def _apply_renamed_keys(raw: dict) -> None:
    for section, old, new in RENAMED_KEYS:
        node = raw.get(section)
        if not isinstance(node, dict) or old not in node:
            continue
        if new in node:
            raise BertEdgeError(f"config key '{section}.{old}' was renamed to '{section}.{new}' and both "
                                f"are set: keep only '{section}.{new}'")
        node[new] = node.pop(old)
        print(f"warning: config key '{section}.{old}' was renamed to '{section}.{new}'; "
              f"please rename it in your config", file=sys.stderr, flush=True)


def set_path(raw: dict, item: str) -> None:
    """Apply one `a.b.c=value` override (value parsed as YAML) to a nested dict."""
    if "=" not in item:
        raise BertEdgeError(f"override '{item}' must look like key.path=value")
    key, value = item.split("=", 1)
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise BertEdgeError(f"override '{item}': '{part}' is not a section")
    node[parts[-1]] = yaml.safe_load(value)
