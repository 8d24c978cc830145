"""Knowledge distillation: BERT teacher -> small student (TinyBERT, DistilBERT, MobileBERT recipes).

    from pipeline.distill import run_distillation
    metrics = run_distillation(cfg, teacher_dir="runs/demo/teacher", out_dir="runs/demo/student")

Modules, one job each: `students` (presets, init), `layer_map` (which teacher layer teaches which
student layer), `losses` (the loss functions), `objective` (weighted sum per stage), `features`
(hidden states and pre-softmax attention scores), `cache` (teacher outputs on disk), `augment`
(TinyBERT data augmentation), `checkpoint`, `runtime` (processes/devices), `trainer` (the loop),
`stages` (`plan_distillation` checks the settings, `run_distillation` runs them). See docs/distillation.md.
"""
from __future__ import annotations


def run_distillation(cfg, teacher_dir=None, out_dir="runs/student", progress: bool = True,
                     resume: bool = False) -> dict:
    """Run `cfg.distill.stages`; write the student to `out_dir`; return metrics (`dev_accuracy`, ...).

    `teacher_dir` is the fine-tuned teacher for task stages (default `cfg.teacher.finetuned`); the
    general stage uses the pretrained `cfg.teacher.model`.
    """
    from pipeline.distill.stages import run_distillation as _run

    return _run(cfg, teacher_dir, out_dir, progress=progress, resume=resume)


def plan_distillation(cfg):
    """Check every distillation setting without loading anything (see stages.plan_distillation)."""
    from pipeline.distill.stages import plan_distillation as _plan

    return _plan(cfg)


__all__ = ["run_distillation", "plan_distillation"]
