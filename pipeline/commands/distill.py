"""`bert-edge distill`: distill the (fine-tuned) teacher into a small student."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands.common import _yaml_scalar, add_config_arguments, add_data_arguments, config_from_args
from pipeline.teacher import EMBEDDED, embedded_teacher_dir

HELP = "distill the teacher into a small student (TinyBERT / DistilBERT / MobileBERT / labels-only)"
DESCRIPTION = (HELP + ". Runs the configured phases (general -> task-intermediate -> task-prediction) "
               "and writes a save_pretrained student with tokenizer, labels.txt and metrics.json. "
               "Runs on one CPU or GPU, or on several processes with `torchrun --nproc_per_node N -m "
               "pipeline.cli distill ...` (CPU or GPU) or `accelerate launch --multi_gpu -m pipeline.cli "
               "distill ...` (GPUs).")

def add_arguments(p) -> None:
    p.add_argument("--teacher", metavar="DIR",
                   help="fine-tuned teacher for the task phases (default: teacher.finetuned, else "
                        "OUTPUT_DIR/teacher if it exists); with --method labels-only, `minilm` slices "
                        "the student from the embedded pretrained MiniLM instead")
    p.add_argument("--out", help="output directory for the student (default: OUTPUT_DIR/student)")
    p.add_argument("--student", metavar="PRESET",
                   help="tinybert-4l-312d, tinybert-6l-768d, mobilebert, distilbert-style, or a student "
                        "directory / config.json (student.preset)")
    p.add_argument("--method", help="loss recipe: tinybert, distilbert, mobilebert, or labels-only (the same "
                                    "student without a teacher) (distill.method)")
    p.add_argument("--phases", help="comma-separated subset of general,task-intermediate,task-prediction "
                                    "(distill.phases)")
    p.add_argument("--stages", help=argparse.SUPPRESS)  # the old name of --phases: still accepted
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint of an "
                                                          "interrupted run with the same settings")
    p.add_argument("--augment", action="store_true", default=None,
                   help="TinyBERT data augmentation for the task phases (distill.augment)")
    p.add_argument("--no-cache", action="store_true", help="run the teacher every step instead of "
                                                           "caching its outputs on disk")
    p.add_argument("--cache-dir", help="where teacher caches live (reusable across runs; distill.cache_dir)")
    p.add_argument("--layer-map", metavar="L1,L2,...",
                   help="teacher layer (1-based) for each student layer, e.g. 2,4,6 (distill.layer_map)")
    p.add_argument("--temperature", type=float, help="distill.temperature")
    g = p.add_argument_group("training (applies to every phase; --set distill.general.epochs=N for one)")
    g.add_argument("--epochs", type=float, help="epochs per phase")
    g.add_argument("--lr", type=float, help="learning rate per phase")
    g.add_argument("--batch-size", type=int, help="global batch size per phase")
    g.add_argument("--max-seq-length", type=int, help="max tokens per example")
    g.add_argument("--max-steps", type=int, help="cap on optimizer steps per phase")
    add_data_arguments(p, unlabeled=True)
    add_config_arguments(p)


def _trained_on_default(teacher: Path) -> bool:
    """The teacher's metrics.json (finetune-teacher) says it was fine-tuned on the demo data."""
    import json

    from pipeline.data.default_data import default_path

    try:
        m = json.loads((teacher / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    src = (m.get("data") or {}).get("train") if isinstance(m, dict) else None
    return bool(src) and Path(src).resolve() == default_path("train.tsv").resolve()


def run(args) -> int:
    from pipeline.distill import run_distillation
    from pipeline.distill.plan import PHASE_ATTR
    from pipeline.errors import BertEdgeError

    for flag, field in (("epochs", "epochs"), ("lr", "learning_rate"), ("batch_size", "batch_size"),
                        ("max_seq_length", "max_seq_length"), ("max_steps", "max_steps")):
        value = getattr(args, flag, None)
        if value is not None:
            args.overrides += [f"distill.{k}.{field}={value}" for k in PHASE_ATTR.values()]
    if args.stages is not None:
        if args.phases is not None:
            raise BertEdgeError("--stages was renamed to --phases and both are given: keep only --phases")
        print("warning: --stages was renamed to --phases; please use --phases", file=sys.stderr, flush=True)
        args.phases = args.stages
    if args.phases is not None:
        args.overrides.append("distill.phases=" + _yaml_scalar(
            [s.strip() for s in args.phases.split(",") if s.strip()]))
    if args.layer_map is not None:
        parts = [p.strip() for p in args.layer_map.split(",") if p.strip()]
        args.overrides.append("distill.layer_map=[" + ",".join(
            "null" if p.lower() in ("none", "null", "-") else p for p in parts) + "]")
    if args.no_cache:
        args.overrides.append("distill.cache_teacher=false")
    cfg = config_from_args(args, {"student": "student.preset", "method": "distill.method",
                                  "augment": "distill.augment", "cache_dir": "distill.cache_dir",
                                  "temperature": "distill.temperature"})
    teacher = args.teacher or cfg.teacher.finetuned
    if teacher is None:
        guess = Path(cfg.output_dir) / "teacher"
        if (guess / "labels.txt").is_file():
            teacher = str(guess)
            print(f"using the fine-tuned teacher in {guess}")
    if teacher is not None and teacher in EMBEDDED:
        teacher = str(embedded_teacher_dir(teacher))  # plan.py refuses it for phases that need a fine-tuned one
    if teacher is not None and not Path(teacher).exists():
        raise BertEdgeError(f"teacher directory not found: {teacher}")
    if (args.teacher and args.teacher not in EMBEDDED and args.config is None and cfg.data.train == "default"
            and not _trained_on_default(Path(args.teacher))):
        # a teacher for some task and no data: distilling it on the embedded demo set is never
        # what was meant (its labels may not even match)
        raise BertEdgeError(f"--teacher {args.teacher}: no training data given (data.train is the embedded "
                            "demo set, which this teacher was not fine-tuned on): pass --train FILE "
                            "[--dev FILE] or --config YAML")
    out = Path(args.out or Path(cfg.output_dir) / "student")
    from pipeline.outdir import check_output_dir

    check_output_dir(out, "student", "metrics.json", "--out" if args.out else "")  # before training
    metrics = run_distillation(cfg, teacher, out, progress=not args.no_progress, resume=args.resume)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        acc = metrics["dev_accuracy"]
        line = f"student saved to {out}: dev accuracy {acc:.4f}"
        if metrics.get("teacher_dev_accuracy"):
            line += (f" (teacher {metrics['teacher_dev_accuracy']:.4f}, "
                     f"{100 * metrics['teacher_share']:.1f}% of it)")
        print(line + f"; {metrics['seconds']:.0f} s")
    return 0
