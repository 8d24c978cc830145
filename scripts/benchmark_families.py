#!/usr/bin/env python3
"""Convert a tiny random-init classifier of every model family to every default target and print
the family x target table: max |logit diff| against the float model (validation's, over real-length,
padded, empty, max-length and [CLS]-only cases) and the conversion's wall time.

The models are the test suite's (tests/tiny_models.py: 2 layers, hidden 32, real WordPiece,
byte-level BPE and SentencePiece tokenizers trained offline), so the figures say whether each
family's graph converts exactly, not how a full-size model quantizes.

Usage: python scripts/benchmark_families.py [--families bert,roberta] [--targets all]
                                            [--max-seq-length 128] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None) -> int:
    from tiny_models import FAMILIES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="example: python scripts/benchmark_families.py "
                                       "--families distilbert,roberta --targets tflite_fp32,tflite_int8")
    p.add_argument("--families", default=",".join(FAMILIES),
                   help=f"comma list (default: all of {', '.join(FAMILIES)})")
    p.add_argument("--targets", default="all", help="convert targets (default: all)")
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from converters import convert_all
    from converters.common import parse_targets
    from converters.errors import BertEdgeError
    from converters.hostinfo import cpu_info, cpu_summary
    from tiny_models import make_tiny_family

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        print(f"error: unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
              f"(choose from {', '.join(FAMILIES)})", file=sys.stderr)
        return 2
    try:
        targets = parse_targets(args.targets)
    except BertEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="bert-edge-families-") as tmp:
        for fam in families:
            model = make_tiny_family(fam, Path(tmp) / fam / "model")
            t0 = time.perf_counter()
            try:
                rep = convert_all(model, Path(tmp) / fam / "out", targets=targets,
                                  max_seq_length=args.max_seq_length, progress=False)
            except BertEdgeError as e:
                rows.append({"family": fam, "error": str(e)})
                print(f"{fam}: FAILED {e}", file=sys.stderr)
                continue
            seconds = time.perf_counter() - t0
            rows.append({"family": fam, "seconds": round(seconds, 1),
                         "mediapipe_tokenizer": rep["artifacts"].get("tflite_fp32", {})
                         .get("metadata", {}).get("tokenizer"),
                         "artifacts": {b: {"max_abs_diff": e["validation"]["max_abs_diff"],
                                           "passed": e["validation"]["passed"]}
                                       for b, e in rep["artifacts"].items()},
                         "failed": list(rep["failed"])})
            print(f"{fam}: {seconds:.1f}s", file=sys.stderr, flush=True)

    cpu = cpu_summary(cpu_info())
    date = datetime.date.today().isoformat()
    cmd = "python scripts/benchmark_families.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"Tiny models (2 layers, hidden 32), max_seq_length {args.max_seq_length}; {cpu}; {date}; "
          f"`{cmd.strip()}`\n")
    print("| family | " + " | ".join(targets) + " | MediaPipe tokenizer | convert s |")
    print("|---|" + "---|" * (len(targets) + 2))
    ok = True
    for r in rows:
        if "error" in r:
            ok = False
            print(f"| {r['family']} | " + " | ".join("fail" for _ in targets) + " | - | - |")
            continue
        cells = []
        for b in targets:
            a = r["artifacts"].get(b)
            ok &= bool(a and a["passed"])
            cells.append("fail" if a is None or not a["passed"] else f"{a['max_abs_diff']:.1e}")
        print(f"| {r['family']} | " + " | ".join(cells)
              + f" | {r['mediapipe_tokenizer'] or 'none'} | {r['seconds']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu, "date": date, "command": cmd,
                                               "rows": rows}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
