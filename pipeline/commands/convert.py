"""`bert-edge convert`: a distilled student directory -> every on-device format, each validated."""
from __future__ import annotations

import json
from pathlib import Path

HELP = ("convert a text classifier (a distilled student or your own BERT, DistilBERT, ELECTRA, "
        "RoBERTa, XLM-R, ALBERT, MobileBERT) to ONNX, TFLite, ExecuTorch .pte and TorchScript-lite")
DESCRIPTION = (
    "Convert a sequence classifier (a Hugging Face save_pretrained directory of a bert, "
    "mobilebert, distilbert, electra, roberta, xlm-roberta or albert model: a distilled student "
    "or one you already have; a hub id is fetched once when online) to model.onnx, "
    "model_fp32.tflite, model_int8.tflite, model_int8_full.tflite, model_int8.ptl, model_fp32.pte "
    "and model_int8.pte, each checked against the float student (logits on real sentences at "
    "their own length and with different padding, a "
    "[CLS]-only and a max-length input, and an attention-mask probe) before it gets its final "
    "name, plus a convert.json report. On failure: one error line naming the step and op; the "
    "intermediate files are kept in <out>/_failed_<step>/, and the previous outputs in --out "
    "stay as they were. Settings not given as flags come from --config (the `convert:` section, "
    "data.train for calibration, output_dir/student and output_dir/convert), else from the same "
    "defaults `bert-edge run` uses."
)


def add_arguments(p) -> None:
    from converters.common import BACKENDS

    from pipeline.commands.common import add_config_arguments
    from pipeline.config import arg_number

    p.add_argument("--model", metavar="DIR",
                   help="the model: a Hugging Face model directory (config.json, weights, "
                        "tokenizer) or a hub id (fetched once when online; offline, use the "
                        "directory); default with --config: <output_dir>/student")
    p.add_argument("--out", metavar="DIR", help="output directory (default: <output_dir>/convert "
                                                "with --config, else <model>/../convert)")
    p.add_argument("--targets", metavar="LIST",
                   help=f"comma list of backend ids or 'all' ({', '.join(BACKENDS)}); default: "
                        "convert.targets")
    p.add_argument("--max-seq-length", type=arg_number(int, 8, 512), metavar="L",
                   help="longest input of the exported graphs; they run any length up to it "
                   "(default: convert.max_seq_length)")
    p.add_argument("--calibration-data", metavar="FILE",
                   help="texts for full-int8 calibration: a .txt file (one passage per line) or a "
                        "TSV/CSV/JSONL file with a text column (e.g. the task's training file); "
                        "default: built-in sentences")
    p.add_argument("--text-column", help="text column of --calibration-data (default: auto-detect)")
    p.add_argument("--num-calibration", type=arg_number(int, 1), metavar="N",
                   help="calibration texts sampled (fixed seed) from --calibration-data "
                        "(default: convert.num_calibration)")
    p.add_argument("--qat-steps", type=arg_number(int, 0), metavar="N",
                   help="full int8: fine-tune a copy of the student N steps with the int8 "
                        "quantization simulated (on the --calibration-data texts) before "
                        "converting it; 0 = off (default: convert.full_int8_qat_steps)")
    p.add_argument("--threads", type=arg_number(int, 1), metavar="N",
                   help="threads for TensorFlow, LiteRT and onnxruntime (default 1: fastest on "
                        "a shared machine; PyTorch always uses 1 here)")
    p.add_argument("--approximate-gelu", action="store_true",
                   help="TFLite only: replace exact (erf) GELU by tanh GELU instead of failing "
                        "(the validation measures the difference)")
    p.add_argument("--json", action="store_true", help="print the convert.json report")
    add_config_arguments(p)


def load_calibration_texts(path: str | None, text_column: str | None = None) -> list[str] | None:
    """Texts from --calibration-data via pipeline.data.load_texts (txt/tsv/csv/jsonl)."""
    if not path:
        return None
    from pipeline.errors import BertEdgeError

    p = Path(path)
    if not p.is_file():
        raise BertEdgeError(f"--calibration-data: file not found: {p}")
    try:
        from pipeline.data import load_texts
    except ImportError:  # pragma: no cover - the data package is part of the project
        load_texts = None
    if load_texts is not None:
        texts = load_texts(p, text_column) if text_column else load_texts(p)
    else:
        texts = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not texts:
        raise BertEdgeError(f"{p}: no calibration texts")
    return texts


def check_convert_out(out: Path) -> None:
    """The output-directory policy (pipeline/outdir.py) for --out: convert writes only its own
    artifact names, convert.json and _failed_* folders, so a directory holding only those (a
    previous run, or a failed one) is its own; anything else must be new, empty or ours."""
    from converters.backends import ARTIFACTS
    from converters.common import REPORT_NAME

    from pipeline.outdir import check_output_dir, check_writable_dir

    own = set(ARTIFACTS.values()) | {REPORT_NAME}
    if out.is_dir() and all(p.name in own or p.name.startswith(("_failed_", ".convert-work-"))
                            for p in out.iterdir()):
        check_writable_dir(out, "--out")
        return
    check_output_dir(out, "conversion output", REPORT_NAME)


def run(args) -> int:
    from pipeline.errors import BertEdgeError

    from converters.backends import REGISTRY
    from converters.common import parse_targets
    from converters.student import read_config, resolve_model

    from pipeline.commands.common import config_from_args

    # Flags win over --config, which wins over the defaults `run` uses.
    if args.targets is not None:
        args.targets = parse_targets(args.targets)  # 'all' / comma list -> ids, one-line errors
    cfg = config_from_args(args, {"targets": "convert.targets",
                                  "max_seq_length": "convert.max_seq_length",
                                  "num_calibration": "convert.num_calibration",
                                  "qat_steps": "convert.full_int8_qat_steps"})
    if args.model:
        model = resolve_model(args.model)  # a directory, or a hub id fetched into the HF cache
    elif args.config:
        model = Path(cfg.output_dir) / "student"
    else:
        raise BertEdgeError("--model is required (or --config, whose output_dir/student is used)")
    read_config(model)  # missing dir / not a model dir / unsupported arch: one-line error, fast
    targets = parse_targets(cfg.convert.targets)
    calibrate = any(REGISTRY[b].calibrated for b in targets)
    texts = None
    if calibrate and args.calibration_data:
        texts = load_calibration_texts(args.calibration_data, args.text_column)
    elif calibrate and args.config:
        from pipeline.data import resolve_labeled

        texts = resolve_labeled(cfg.data.train, "train", cfg.data).texts
    if args.out:
        out = Path(args.out)
    else:
        if args.config:
            out = Path(cfg.output_dir) / "convert"
        elif args.model != str(model):  # a hub id: next to where the user is, not in the cache
            out = Path("convert") / str(args.model).replace("/", "--")
        else:
            out = model.resolve().parent / "convert"

    check_convert_out(out)

    from converters import convert_all

    report = convert_all(model, out, targets=targets, max_seq_length=cfg.convert.max_seq_length,
                         calibration_texts=texts, num_calibration=cfg.convert.num_calibration,
                         progress=not args.no_progress, threads=args.threads,
                         approximate_gelu=args.approximate_gelu,
                         full_int8_qat_steps=cfg.convert.full_int8_qat_steps)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for backend, e in report["artifacts"].items():
            v = e["validation"]
            print(f"{backend:<17} {out / e['file']}  {e['size_bytes'] / 1e6:.1f} MB  "
                  f"max|dlogit| {v['max_abs_diff']:.2e}  argmax {v['argmax_agreement']:.0%}")
        from converters.hostinfo import cpu_summary

        print(f"report: {out / 'convert.json'} ({report['total_seconds']:.1f}s) on "
              f"{cpu_summary(report['host']['cpu'])}")
    return 0
