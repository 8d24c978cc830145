"""`bert-edge parity`: teacher vs float student vs every artifact, and the gate."""
from __future__ import annotations

from pathlib import Path

from pipeline.commands.common import add_config_arguments, config_from_args

HELP = "compare teacher, float student and every artifact on the dev set; gate on thresholds"
DESCRIPTION = (
    "Runs the teacher and the float student (PyTorch) and every artifact through its real "
    "runtime (onnxruntime, LiteRT, the lite interpreter) on the dev set at the export "
    "max_seq_length, and reports per model: accuracy, agreement with the teacher and the float "
    "student, max/mean |logit diff| to the float student, KL to the teacher, size, parameters "
    "and latency. Writes parity.json, report.md and report.html. Exit 3 when the student or a "
    "required artifact (parity.required) breaches a threshold; other artifacts that breach are "
    "reported as FAIL and kept out of the bundle.")


def add_arguments(p) -> None:
    p.add_argument("--teacher", metavar="DIR", help="fine-tuned teacher (default: teacher.finetuned or OUTPUT_DIR/teacher)")
    p.add_argument("--student", metavar="DIR", help="float student (default: OUTPUT_DIR/student)")
    p.add_argument("--artifacts", metavar="DIR", help="converted artifacts (default: OUTPUT_DIR/convert)")
    p.add_argument("--dev", help="evaluation data: labeled file, 'default', hf:NAME, or a .txt of texts (data.dev)")
    p.add_argument("--out", metavar="DIR", help="report directory (default: OUTPUT_DIR/parity)")
    p.add_argument("--backends", help="comma-separated backends to check (default: convert.targets)")
    p.add_argument("--max-examples", type=int, help="use only the first N dev rows (parity.max_examples)")
    p.add_argument("--min-agreement", type=float, help="parity.min_agreement")
    p.add_argument("--max-int8-accuracy-drop", type=float, help="parity.max_int8_accuracy_drop (points)")
    p.add_argument("--max-fp32-abs-diff", type=float, help="parity.max_fp32_abs_diff")
    p.add_argument("--min-teacher-share", type=float, help="parity.min_teacher_share")
    p.add_argument("--max-seq-length", type=int, help="convert.max_seq_length the artifacts were built for")
    add_config_arguments(p)


def run(args) -> int:
    from pipeline.chain import run_paths, teacher_dir
    from pipeline.parity import raise_if_failed, run_parity, summary_table

    cfg = config_from_args(args, {
        "max_examples": "parity.max_examples", "min_agreement": "parity.min_agreement",
        "max_int8_accuracy_drop": "parity.max_int8_accuracy_drop",
        "max_fp32_abs_diff": "parity.max_fp32_abs_diff", "min_teacher_share": "parity.min_teacher_share",
        "max_seq_length": "convert.max_seq_length"})
    paths = run_paths(cfg)
    backends = None
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    out = Path(args.out) if args.out else paths["parity"]
    from pipeline.report import write_reports

    report = run_parity(Path(args.teacher) if args.teacher else teacher_dir(cfg),
                        Path(args.student) if args.student else paths["student"],
                        Path(args.artifacts) if args.artifacts else paths["convert"],
                        cfg, out_dir=out, backends=backends, progress=not args.no_progress,
                        reporter=write_reports)
    print(summary_table(report))
    print(f"\nreport: {out / 'report.html'} ({report['data']['n']} examples, {report['seconds']:.0f} s)")
    raise_if_failed(report)
    opt = report["gate"]["optional_failed"]
    print("gate: PASSED" + (f" (optional FAIL, not bundled: {', '.join(opt)})" if opt else ""))
    return 0
