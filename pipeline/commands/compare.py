"""`bert-edge compare`: several student families from one teacher, side by side, and which to ship."""
from __future__ import annotations

from pathlib import Path

from pipeline.commands.common import add_config_arguments, add_data_arguments, config_from_args

HELP = "distill, convert, check and time several student families from one teacher; recommend one"
DESCRIPTION = (
    "Fine-tunes the teacher once (or takes teacher.finetuned), then runs each student preset through "
    "distill -> convert -> parity in OUTPUT_DIR/students/<preset>/ with one shared teacher cache, "
    "times its float model and every artifact (1 and 2 threads, padded and at real length, "
    "through `bert-edge bench`'s worker), and writes one report to OUTPUT_DIR/compare/ "
    "(report.md, report.html, compare.json, accuracy-vs-latency plot with the Pareto front, "
    "accuracy-vs-size plot) with a recommendation computed from the numbers (docs/compare.md). "
    "A student whose stages and inputs are unchanged is reused, not retrained. A student that "
    "fails is reported with its reason and the others still run. Exit 0: report written; "
    "2: bad input, or no student finished (the report says why); 130: interrupted (the previous "
    "report is left as it was).")


def add_arguments(p) -> None:
    from pipeline.config import arg_number

    p.add_argument("--students", metavar="LIST",
                   help="comma list of student presets (compare.students; default: "
                        "tinybert-4l-312d,mobilebert,distilbert-style)")
    p.add_argument("--within", type=arg_number(float, 0, 100), metavar="POINTS",
                   help="recommend the fastest gate-passing artifact within POINTS accuracy points of the "
                        "best one (compare.within_points; default 1)")
    p.add_argument("--threads", metavar="LIST", help="comma list of thread counts to time (compare.threads; "
                                                     "default 1,2)")
    p.add_argument("--sentences", type=arg_number(int, 0), metavar="N",
                   help="dev sentences timed per model and thread count, each at its own length and "
                        "padded (compare.sentences; 0: all; default 200)")
    p.add_argument("--warmup", type=arg_number(int, 0), metavar="N",
                   help="sentences run untimed first (compare.warmup; default 5)")
    add_data_arguments(p, unlabeled=True)
    add_config_arguments(p)


def _list(text: str | None, flag: str, cast=str) -> list | None:
    from pipeline.errors import BertEdgeError

    if text is None:
        return None
    items = [x.strip() for x in text.split(",") if x.strip()]
    try:
        items = [cast(x) for x in items]
    except ValueError:
        raise BertEdgeError(f"{flag} must be a comma list of positive integers, got '{text}'") from None
    if cast is int and (not items or min(items) < 1):
        raise BertEdgeError(f"{flag} must be a comma list of positive integers, got '{text}'")
    return items


def run(args) -> int:
    import sys

    from pipeline.compare import report, table
    from pipeline.compare.run import as_dict, check_outputs, run_all
    from pipeline.compare.students import check_overrides, check_students
    from pipeline.errors import BertEdgeError

    students = _list(args.students, "--students")
    threads = _list(args.threads, "--threads", int)
    args.students, args.threads = students, threads  # lists: config_from_args writes them as YAML
    cfg = config_from_args(args, {"students": "compare.students", "within": "compare.within_points",
                                  "threads": "compare.threads", "sentences": "compare.sentences",
                                  "warmup": "compare.warmup"})
    names = check_students(cfg.compare.students, "--students" if students is not None else "compare.students")
    _list(",".join(map(str, cfg.compare.threads)), "compare.threads", int)
    check_overrides(cfg)
    check_outputs(cfg)
    progress = not args.no_progress
    print(f"[compare] {len(names)} students: {', '.join(names)} -> {cfg.output_dir}", file=sys.stderr, flush=True)
    runs = [as_dict(r) for r in run_all(cfg, names, progress)]
    comp = table.build(cfg, runs)
    paths = report.write_report(comp, Path(cfg.output_dir) / report.REPORT_DIR)
    print(report.summary(comp, paths), flush=True)
    if not any(r["status"] == "done" for r in runs):
        why = "; ".join(f"{r['preset']}: {r['error']}" for r in runs)
        raise BertEdgeError(f"no student finished ({why}); see {paths['md']}")
    return 0
