"""Knowledge distillation: BERT teacher -> small student (TinyBERT, DistilBERT, MobileBERT recipes).

    from pipeline.distill import run_distillation
    metrics = run_distillation(cfg, teacher_dir="runs/demo/teacher", out_dir="runs/demo/student")

A run is plan -> setup -> loop -> save, one module each: `plan` (every setting checked, nothing
loaded; the phases), `setup` (data, teachers, student, objectives, projections, augmentation,
resume point), `loop` (the phases in turn, teacher caches), `save` (final evaluation, metrics,
the student). Under them, one job each: `students` (presets, init), `layer_map` (which teacher
layer teaches which student layer), `losses`, `objective` (weighted sum per phase), `features`
(hidden states and pre-softmax attention scores), `cache` (teacher outputs on disk), `augment`
(TinyBERT data augmentation), `checkpoint`, `runtime` (processes/devices), `trainer` (one
phase's steps). See docs/distillation.md.
"""
from __future__ import annotations

from pipeline.distill.plan import plan_distillation


def run_distillation(cfg, teacher_dir=None, out_dir="runs/student", progress: bool = True,
                     resume: bool = False) -> dict:
    """Run `cfg.distill.phases`; write the student to `out_dir`; return metrics (`dev_accuracy`, ...).

    `teacher_dir` is the fine-tuned teacher for task phases (default `cfg.teacher.finetuned`); the
    general phase uses the pretrained `cfg.teacher.model`. With `resume`, continue from the
    newest checkpoint in `<out_dir>.work` if its settings match.
    """
    import time
    from pathlib import Path

    from pipeline.distill.loop import train_phases
    from pipeline.distill.save import finish
    from pipeline.distill.setup import setup_distillation

    t_start = time.time()
    plan = plan_distillation(cfg)
    run = setup_distillation(cfg, plan, teacher_dir, Path(out_dir), progress, resume)
    summaries = train_phases(run, progress)
    return finish(run, summaries, Path(out_dir), t_start)


__all__ = ["run_distillation", "plan_distillation"]
