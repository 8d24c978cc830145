"""`bert-edge evaluate`: accuracy (overall and per class) of a model or artifact on a labeled file."""
from __future__ import annotations

import json
from pathlib import Path

HELP = "accuracy of a model directory or artifact (.onnx/.tflite/.ptl/.pte) on any labeled file"
DESCRIPTION = (HELP + ". Artifacts run through their real runtimes (onnxruntime, LiteRT, the "
               "lite interpreter) on inputs padded to their fixed length; their tokenizer and "
               "labels come from --tokenizer, the artifact's directory (a student dir or an app "
               "bundle), or the student that convert.json next to the artifact names.")


def add_arguments(p) -> None:
    p.add_argument("--model", required=True,
                   help="a fine-tuned Hugging Face classifier directory, or a .onnx/.tflite/.ptl/.pte artifact")
    p.add_argument("--data", help="labeled TSV/CSV/JSONL file ('default' = embedded dev set); "
                                  "default with --config: data.dev")
    p.add_argument("--tokenizer", metavar="DIR",
                   help="for artifacts: directory with the tokenizer and labels.txt (the student dir)")
    p.add_argument("--format", default="auto", help="auto | tsv | csv | jsonl")
    p.add_argument("--text-column", help="text column (default: auto-detect)")
    p.add_argument("--text-pair-column", help="second text column for pair tasks")
    p.add_argument("--label-column", help="label column (default: data.label_column, 'label')")
    from pipeline.config import arg_number

    p.add_argument("--max-seq-length", type=arg_number(int, 8, 512), default=None,
                   help="truncate longer texts (default: 128; an artifact's own fixed length)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    from pipeline.commands.common import add_config_arguments

    add_config_arguments(p)


def run(args) -> int:
    from pipeline.data import load_labeled
    from pipeline.data.default_data import default_path
    from pipeline.errors import BertEdgeError
    from pipeline.evaluate import (ARTIFACT_SUFFIXES, artifact_context, evaluate_artifact,
                                   evaluate_hf_dir, format_report)
    from converters.student import model_labels
    from pipeline.teacher import check_model_dir

    from pipeline.commands.common import config_from_args

    cfg = config_from_args(args, {"data": "data.dev"})  # flags win over --config
    if args.data is None and not args.config:
        raise BertEdgeError("--data is required (or --config, whose data.dev is used)")
    model = Path(args.model)
    spec = cfg.data.dev
    path = default_path("dev.tsv") if spec == "default" else spec
    if str(spec).startswith("hf:"):
        raise BertEdgeError(f"--data {spec}: evaluate reads files; export the split to TSV first")
    is_artifact = model.suffix.lower() in ARTIFACT_SUFFIXES
    if is_artifact:
        if not model.is_file():
            raise BertEdgeError(f"artifact not found: {model}")
        tok, labels, where = artifact_context(model, args.tokenizer)
    else:
        if args.tokenizer:
            raise BertEdgeError("--tokenizer is only for artifacts (.onnx, .tflite, .ptl, .pte); "
                                "a model directory has its own")
        check_model_dir(model)
        labels = model_labels(model)
    data = load_labeled(path, args.format, args.text_column or cfg.data.text_column,
                        args.text_pair_column or cfg.data.text_pair_column,
                        args.label_column or cfg.data.label_column, labels)
    if is_artifact:
        rep = evaluate_artifact(model, data, tok, args.max_seq_length, progress=not args.no_progress)
        rep.update(tokenizer=str(where))
    else:
        rep = evaluate_hf_dir(model, data, args.max_seq_length or 128, progress=not args.no_progress)
    rep.update(model=str(model), data=str(path))
    print(json.dumps(rep, indent=2) if args.json else format_report(rep, str(model)))
    return 0
