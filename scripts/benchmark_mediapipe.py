#!/usr/bin/env python3
"""MediaPipe's TextClassifier vs the LiteRT runner on converted .tflite files: dev agreement and
max |score diff|, and the same on the probe set (converters/mediapipe_text.PROBE_TEXTS), with the
text given to MediaPipe raw and normalized as parity and the app do (`mediapipe_input`).

Usage: python scripts/benchmark_mediapipe.py --model DIR --artifacts DIR --data dev.tsv
                                             [--max-seq-length 128]
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="example: python scripts/benchmark_mediapipe.py --model "
                                       "runs/demo/student --artifacts runs/demo/convert --data default")
    p.add_argument("--model", required=True, help="the model directory the artifacts came from")
    p.add_argument("--artifacts", required=True, help="directory with model_fp32/int8 .tflite")
    p.add_argument("--data", default="default", help="labeled dev file ('default' = embedded)")
    p.add_argument("--max-seq-length", type=int, default=128)
    args = p.parse_args(argv)

    import numpy as np

    from converters import load_runner, mediapipe_text
    from converters.common import encode_fixed
    from converters.errors import BertEdgeError
    from converters.hostinfo import cpu_summary
    from pipeline.config import load_config
    from pipeline.parity import EvalSet, mediapipe_check
    from pipeline.teacher import load_tokenizer

    try:
        tok = load_tokenizer(args.model)
        from pipeline.data import resolve_labeled

        dev = resolve_labeled(args.data, "dev", load_config(None, []).data)
    except BertEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = EvalSet(list(dev.texts), None, list(dev.labels), list(dev.label_names), args.data)
    print(f"{cpu_summary()}; {datetime.date.today()}; `python scripts/benchmark_mediapipe.py "
          f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print("| file | text into MediaPipe | dev agreement | dev max |score diff| | probe agreement "
          "| probe max |score diff| | ready |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name in ("model_fp32.tflite", "model_int8.tflite"):
        path = Path(args.artifacts) / name
        if not path.is_file():
            continue
        runner = load_runner(path)
        lg = np.concatenate([runner.logits(e["input_ids"], e["attention_mask"], e["token_type_ids"])
                             for e in (encode_fixed(tok, data.texts[i:i + 64], None,
                                                    args.max_seq_length)
                                       for i in range(0, len(data), 64))])
        normalize = mediapipe_text.mediapipe_input
        for mode in ("raw", "normalized"):
            mediapipe_text.mediapipe_input = normalize if mode == "normalized" else \
                (lambda t: (lambda x: x))
            try:
                out = mediapipe_check(path, data, lg, progress=False, tokenizer=tok,
                                      fp32="fp32" in name, max_seq_length=args.max_seq_length)
            finally:
                mediapipe_text.mediapipe_input = normalize
            if out.get("agreement_litert") is None:
                print(f"| {name} | {mode} | - | - | - | - | {out.get('reason')} |")
                continue
            ready = "yes" if out["ready"] else f"no ({out['differing_count']} texts differ)"
            print(f"| {name} | {mode} | {out['agreement_litert']:.2%} | "
                  f"{out['max_abs_score_diff']:.1e} | {out['probe_agreement_litert']:.2%} | "
                  f"{out['probe_max_abs_score_diff']:.1e} | {ready} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
