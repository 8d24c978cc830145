"""`bert-edge bench`: latency, memory, size and accuracy of every artifact, side by side."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from converters.hostinfo import cpu_info

HELP = "benchmark every artifact against BERT-base, the teacher and onnxruntime int8"
DESCRIPTION = (HELP + ". Each measurement runs in a fresh process through the runtime the phone "
               "uses (LiteRT with XNNPACK, the lite interpreter). Writes bench.json, bench.md and bench.png.")


def add_arguments(p) -> None:
    p.add_argument("--artifacts", help="conversion output dir (default: OUTPUT_DIR/convert)")
    p.add_argument("--student", help="float student dir (default: OUTPUT_DIR/student)")
    p.add_argument("--teacher", help="teacher dir (default: OUTPUT_DIR/teacher)")
    p.add_argument("--parity", help="parity.json for accuracies (default: OUTPUT_DIR/parity/parity.json)")
    p.add_argument("--out", help="where bench.json/md/png go (default: OUTPUT_DIR/bench)")
    from pipeline.config import arg_number

    p.add_argument("--threads", default="1,2", help="comma list of thread counts")
    p.add_argument("--seq-lens", default="128,64", help="comma list of fixed lengths every model is "
                   "timed at (padded to it); the first is the artifacts' max_seq_length")
    p.add_argument("--real", type=arg_number(int, 0), default=0, metavar="N",
                   help="real-distribution figure: per-sentence latency (tokenize + infer) over the "
                   "first N dev sentences (data.dev of the config) at their own length and padded, "
                   "for every model (0: all of them)")
    p.add_argument("--no-real", action="store_true", help="skip the real-distribution figure")
    p.add_argument("--runs", type=arg_number(int, 1), default=50, help="timed runs per measurement")
    p.add_argument("--warmup", type=arg_number(int, 0), default=10, help="untimed runs first")
    p.add_argument("--no-bert-base", action="store_true", help="skip the BERT-base reference")
    p.add_argument("--update-readme", metavar="README", help="rewrite the results section of this README")
    from pipeline.commands.common import add_config_arguments

    add_config_arguments(p)


def _ints(text: str, flag: str) -> list[int]:
    from pipeline.errors import BertEdgeError

    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        vals = []
    if not vals or min(vals) < 1:
        raise BertEdgeError(f"{flag} must be a comma list of positive integers, got '{text}'")
    return vals


def run(args) -> int:
    from pipeline.bench import measure as bench, report as bench_report
    from pipeline.commands.common import config_from_args
    from pipeline.errors import BertEdgeError

    cfg = config_from_args(args)
    out_root = Path(cfg.output_dir)
    artifacts = Path(args.artifacts or out_root / "convert")
    student = Path(args.student or out_root / "student")
    teacher = Path(args.teacher) if args.teacher else out_root / "teacher"
    if not artifacts.is_dir():
        raise BertEdgeError(f"artifacts directory not found: {artifacts} (run `bert-edge convert` or pass --artifacts)")
    if not (student / "config.json").is_file():
        raise BertEdgeError(f"float student not found: {student} (pass --student)")
    threads, seqs = _ints(args.threads, "--threads"), _ints(args.seq_lens, "--seq-lens")
    from pipeline.outdir import check_writable_dir

    out = Path(args.out or out_root / "bench")
    check_writable_dir(out, "--out")  # every output is checked before minutes of benchmarking
    if args.update_readme:
        bench_report.check_readme(Path(args.update_readme))
    parity = Path(args.parity) if args.parity else out_root / "parity" / "parity.json"
    models = bench.collect_models(artifacts, student, teacher if (teacher / "config.json").is_file() else None,
                                  bench.read_accuracies(parity), include_bert_base=not args.no_bert_base,
                                  work_dir=out)
    texts_file = None
    if not args.no_real:
        texts_file = bench.write_real_texts(cfg, student, out, args.real)
    result = bench.run_bench(models, threads, seqs, args.warmup, args.runs, texts_file,
                             not args.no_progress)
    result.update(threads=threads, seqs=seqs, date=time.strftime("%Y-%m-%d"), machine=cpu_info(),
                  sgemm_gflops={str(t): bench.sgemm_peak(t) for t in threads})
    result["goals"] = bench.summarize(result, threads, seqs)
    paths = bench_report.write_outputs(result, out)
    print(bench_report.markdown(result))
    print(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")
    if args.update_readme:
        command = "bert-edge bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "bert-edge bench"
        bench_report.update_readme(Path(args.update_readme), result, command)
        print(f"updated {args.update_readme}")
    return 0
