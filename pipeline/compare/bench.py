"""Time one student's float model and artifacts with `pipeline.bench` (its worker, one process per
model and thread count): bench's real-distribution measurement, which runs each dev sentence
(tokenization included) at its own length and padded to convert.max_seq_length, alternating, so
the padded and the real-length figure come from the same sentences. The result goes to
STUDENT/bench/bench.json with a chain stage record, so an unchanged student is not timed again.

Unlike `bert-edge bench` no onnxruntime-int8 / BERT-base / teacher references are added, and
nothing is written into the conversion directory (that would change the convert stage's
outputs and make the chain redo it).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

BENCH_DIR = "bench"
BENCH_FILE = "bench.json"
STAGE = "compare-bench"


def bench_models(convert_dir: Path, student_dir: Path) -> list:
    """The float student and every registry artifact present, in registry order."""
    from converters.backends import REGISTRY
    from pipeline.bench.measure import BenchModel, count_params

    params = count_params(student_dir)
    tok = str(student_dir)
    models = [BenchModel("student_fp32", "hf", str(student_dir),
                         (student_dir / "model.safetensors").stat().st_size, params, tok)]
    for b in REGISTRY.values():
        p = convert_dir / b.file
        if p.is_file():
            models.append(BenchModel(b.id, "artifact", str(p), p.stat().st_size, params, tok))
    return models


def settings(cfg) -> dict:
    c = cfg.compare
    return {"threads": [int(t) for t in c.threads], "seq": cfg.convert.max_seq_length,
            "sentences": c.sentences, "warmup": c.warmup}


def fingerprint(cfg, student_dir: Path, convert_dir: Path) -> str:
    from pipeline import __version__
    from pipeline.chain import data_hash, dir_hash, hash_obj

    d = cfg.data
    return hash_obj([{"stage": STAGE, "pipeline_version": __version__},
                     {"settings": settings(cfg), "student": dir_hash(student_dir),
                      "convert": dir_hash(convert_dir), "dev": data_hash(d.dev, "dev"),
                      "data": [d.dev, d.format, d.text_column, d.text_pair_column, d.label_column]}])


def bench_student(cfg, student_dir: Path, convert_dir: Path, progress: bool,
                  log: Callable[[str], None]) -> tuple[str, Path]:
    """('reused' | 'done', bench dir). `cfg` is the student's run config."""
    from pipeline.bench.measure import run_bench, write_real_texts
    from pipeline.chain import is_reusable, write_record
    from pipeline.fsutil import atomic_dir, write_json_atomic

    out = Path(cfg.output_dir) / BENCH_DIR
    fp = fingerprint(cfg, student_dir, convert_dir)
    ok, why = is_reusable(out, fp, [BENCH_FILE])
    if ok:
        log(f"[bench] reused {out} ({why})")
        return "reused", out
    s = settings(cfg)
    models = bench_models(convert_dir, student_dir)
    log(f"[bench] running ({why}): {len(models)} models x {len(s['threads'])} thread count(s) -> {out}")
    t0 = time.time()
    with atomic_dir(out, "compare bench", BENCH_FILE) as tmp:
        texts = write_real_texts(cfg, student_dir, tmp, s["sentences"])
        result = run_bench(models, s["threads"], [s["seq"]], s["warmup"], 0, texts, progress, fixed=False)
        result.update(settings=s)
        write_json_atomic(tmp / BENCH_FILE, result)
    write_record(out, STAGE, fp, time.time() - t0)
    return "done", out
