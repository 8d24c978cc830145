"""`bert-edge evaluate`: accuracy (overall and per class) of a model on a labeled file."""
from __future__ import annotations

import json

HELP = "accuracy of a model directory on any labeled file (overall and per class)"


def add_arguments(p) -> None:
    p.add_argument("--model", required=True, help="a fine-tuned Hugging Face classifier directory")
    p.add_argument("--data", required=True, help="labeled TSV/CSV/JSONL file ('default' = embedded dev set)")
    p.add_argument("--format", default="auto", help="auto | tsv | csv | jsonl")
    p.add_argument("--text-column", help="text column (default: auto-detect)")
    p.add_argument("--text-pair-column", help="second text column for pair tasks")
    p.add_argument("--label-column", default="label", help="label column")
    p.add_argument("--max-seq-length", type=int, default=128, help="truncate longer texts")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from pipeline.data import DEFAULT_LABELS, load_labeled
    from pipeline.data.default_data import default_path
    from pipeline.evaluate import evaluate_hf_dir, format_report, model_labels
    from pipeline.teacher import check_model_dir

    check_model_dir(args.model)
    labels = model_labels(args.model)
    path = default_path("dev.tsv") if args.data == "default" else args.data
    data = load_labeled(path, args.format, args.text_column, args.text_pair_column,
                        args.label_column, labels)
    rep = evaluate_hf_dir(args.model, data, args.max_seq_length, progress=not args.no_progress)
    rep.update(model=str(args.model), data=str(path))
    print(json.dumps(rep, indent=2) if args.json else format_report(rep, str(args.model)))
    return 0
