"""The distillation plan: every setting checked, nothing loaded.

Phases (`distill.phases`, any subset, always in this order):
- `general`: no labels; the pretrained teacher (`teacher.model`) on the unlabeled corpus
  (`data.unlabeled`); intermediate losses (embeddings, hidden states, attention).
- `task-intermediate`: the fine-tuned teacher on the task data (optionally augmented);
  intermediate losses.
- `task-prediction`: the fine-tuned teacher on the task data; prediction-layer losses (soft
  logits, optionally gold labels); evaluated on dev, best dev checkpoint kept.
- method `labels-only`: a single supervised phase (the task-prediction settings), no teacher.

"Phase" is a distillation phase; "stage" is kept for the chain's stages (pipeline/chain.py).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import BertEdgeError

PHASES = ("general", "task-intermediate", "task-prediction")
PHASE_KIND = {"general": "intermediate", "task-intermediate": "intermediate", "task-prediction": "prediction"}
PHASE_ATTR = {"general": "general", "task-intermediate": "task_intermediate",
              "task-prediction": "task_prediction"}  # the phase's section of `distill`
CHOICES = {"projection": ("per-layer", "shared"), "head_mismatch": ("average", "skip"),
           "cache_dtype": ("float16", "float32"), "mixed_precision": ("no", "bf16", "fp16")}


def check_phases(phases, method: str) -> list[str]:
    """`distill.phases` (a list or a comma-separated string) -> the phases to run, in order."""
    if isinstance(phases, str):
        phases = [s.strip() for s in phases.split(",") if s.strip()]
    if not isinstance(phases, (list, tuple)) or not phases:
        raise BertEdgeError("distill.phases must be a non-empty list, e.g. [general, task-intermediate, "
                            "task-prediction]")
    out = []
    for s in phases:
        s = str(s).replace("_", "-")
        if s not in PHASES:
            close = difflib.get_close_matches(s, PHASES, n=1, cutoff=0.4)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BertEdgeError(f"distill.phases: unknown phase '{s}'{hint}; phases: {', '.join(PHASES)}")
        if s in out:
            raise BertEdgeError(f"distill.phases: '{s}' is listed twice")
        out.append(s)
    if out != sorted(out, key=PHASES.index):
        raise BertEdgeError(f"distill.phases {out}: phases run in the order {', '.join(PHASES)}")
    if method == "labels-only":
        if "task-prediction" not in out:
            raise BertEdgeError("method labels-only trains one supervised phase with the task-prediction "
                                "settings: include task-prediction in distill.phases")
        out = ["task-prediction"]
    return out


def _check_choices(dcfg) -> None:
    for key, allowed in CHOICES.items():
        value = getattr(dcfg, key)
        if value not in allowed:
            raise BertEdgeError(f"distill.{key} '{value}' is not one of: {', '.join(allowed)}")


def check_task_teacher(path) -> Path:
    from pipeline.teacher import check_distill_teacher, is_finetuned

    if path is None:
        raise BertEdgeError("task distillation needs a fine-tuned teacher: pass --teacher DIR (the output "
                            "of `bert-edge finetune-teacher`) or set teacher.finetuned")
    path = Path(path)
    check_distill_teacher(path)
    if not is_finetuned(path):
        raise BertEdgeError(f"{path}: the teacher has no classifier head and labels.txt (a base model?); "
                            "task phases need a fine-tuned teacher (bert-edge finetune-teacher)")
    return path


@dataclass
class DistillPlan:
    """The checked distillation settings: what `run_distillation` will do, nothing loaded yet."""

    method: str
    phases: list  # in run order
    weights: dict  # phase -> loss weights
    seed: int


def plan_distillation(cfg) -> DistillPlan:
    """Check every distillation setting (method, choices, phases, student preset, loss weights,
    corpus) without loading anything: `bert-edge run` calls this before its first stage, so a
    typo is found before the teacher's fine-tune, not after it."""
    from pipeline.distill.objective import check_method, phase_weights
    from pipeline.distill.students import check_preset

    dcfg = cfg.distill
    method = check_method(dcfg.method)
    _check_choices(dcfg)
    phases = check_phases(dcfg.phases, method)
    check_preset(cfg.student.preset)
    weights = {s: phase_weights(method, PHASE_KIND[s], getattr(dcfg, PHASE_ATTR[s]).loss_weights,
                                f"distill.{PHASE_ATTR[s]}.loss_weights") for s in phases}
    if "general" in phases and str(cfg.data.unlabeled).lower() == "none":
        raise BertEdgeError("the general phase needs an unlabeled corpus: set data.unlabeled (or --unlabeled)")
    seed = cfg.seed if dcfg.seed is None else int(dcfg.seed)
    return DistillPlan(method, phases, weights, seed)
