"""`bert-edge finetune-teacher`: fine-tune the teacher on the task data."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.commands.common import add_config_arguments, add_data_arguments, config_from_args

HELP = "fine-tune the teacher for sequence classification (best dev checkpoint kept)"
DESCRIPTION = (HELP + ". Task distillation needs a fine-tuned teacher; the result is a "
               "save_pretrained directory with labels.txt and metrics.json.")


def add_arguments(p) -> None:
    p.add_argument("--teacher", help="'minilm' (embedded default), a local HF directory, or a hub id (teacher.model)")
    p.add_argument("--out", help="output directory (default: OUTPUT_DIR/teacher)")
    p.add_argument("--epochs", type=float, help="teacher.finetune.epochs")
    p.add_argument("--batch-size", type=int, help="teacher.finetune.batch_size")
    p.add_argument("--lr", type=float, help="teacher.finetune.learning_rate")
    p.add_argument("--max-seq-length", type=int, help="teacher.finetune.max_seq_length")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps (teacher.finetune.max_steps)")
    p.add_argument("--trust-remote-code", action="store_true", default=None,
                   help="allow model code from the model directory (off unless given)")
    add_data_arguments(p)
    add_config_arguments(p)


def run(args) -> int:
    from pipeline.data import resolve_labeled
    from pipeline.finetune import finetune_teacher
    from pipeline.outdir import check_output_dir

    cfg = config_from_args(args, {
        "teacher": "teacher.model", "epochs": "teacher.finetune.epochs",
        "batch_size": "teacher.finetune.batch_size", "lr": "teacher.finetune.learning_rate",
        "max_seq_length": "teacher.finetune.max_seq_length", "max_steps": "teacher.finetune.max_steps",
        "trust_remote_code": "teacher.trust_remote_code"})
    out = Path(args.out or Path(cfg.output_dir) / "teacher")
    check_output_dir(out, "teacher", "metrics.json", "--out" if args.out else "")  # before training
    train = resolve_labeled(cfg.data.train, "train", cfg.data)
    dev = resolve_labeled(cfg.data.dev, "dev", cfg.data, label_names=train.label_names)
    metrics = finetune_teacher(cfg.teacher.model, train, dev, out, cfg.teacher.finetune, cfg.seed,
                               cfg.teacher.trust_remote_code, progress=not args.no_progress)
    dev_acc = metrics["dev"]["accuracy"]
    print(f"fine-tuned teacher saved to {out}: dev accuracy {dev_acc:.4f} "
          f"({metrics['steps']} steps, {metrics['seconds']:.0f} s)")
    return 0
