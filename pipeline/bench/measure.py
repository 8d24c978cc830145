"""`bert-edge bench`: latency, memory, size and accuracy of every artifact and its references,
side by side in one run.

References measured in the same run: the teacher and a BERT-base-shaped model in PyTorch fp32
(the TinyBERT paper's baseline), the float student, and the student quantized the way many users
would instead (onnxruntime dynamic int8). Each measurement runs in its own process
(`pipeline.bench.worker`) so thread pools and peak memory do not leak between runtimes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from pipeline.errors import BertEdgeError

from converters.backends import REGISTRY

# Goals from the issue: the 4L-312D int8 TFLite student vs BERT-base fp32 in PyTorch.
GOAL_SPEEDUP = 20.0
GOAL_SIZE_RATIO = 28.0
TINYBERT_CLAIM = {"speedup": 9.4, "size_ratio": 7.5}

RUNTIMES = {
    **{b.id: b.runtime for b in REGISTRY.values()}, "ort_int8": "onnxruntime",
    "teacher_fp32": "PyTorch", "bert_base_fp32": "PyTorch", "student_fp32": "PyTorch",
}
def _artifact_files() -> dict:
    from converters.common import ARTIFACTS

    return {**ARTIFACTS, "ort_int8": "model_ort_int8.onnx"}  # plus the onnxruntime reference


ARTIFACT_FILES = _artifact_files()


@dataclass
class BenchModel:
    name: str  # backend id or reference id
    kind: str  # artifact | hf | bert-base
    path: Optional[str]
    size_bytes: int
    params: int
    tokenizer: Optional[str] = None
    accuracy: Optional[float] = None
    results: dict = field(default_factory=dict)  # "t{threads}_s{seq}" -> worker result

    @property
    def runtime(self) -> str:
        return RUNTIMES.get(self.name, "?")


def count_params(model_dir: str | Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(Path(model_dir) / "model.safetensors"), "np") as f:
        for k in f.keys():
            total += int(__import__("numpy").prod(f.get_slice(k).get_shape()))
    return total


def bert_base_params() -> int:
    # 12 layers, 768 hidden, 3072 FFN, vocab 30522, 512 positions, 2 types, pooler, 2-way head.
    h, i, v = 768, 3072, 30522
    emb = v * h + 512 * h + 2 * h + 2 * h
    layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h
    return emb + 12 * layer + (h * h + h) + (h * 2 + 2)


def ort_dynamic_int8(onnx_path: Path, out_path: Path) -> Path:
    """The student quantized the way onnxruntime's docs suggest: dynamic int8 weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from pipeline.fsutil import atomic_path

    if not out_path.exists() or out_path.stat().st_mtime < onnx_path.stat().st_mtime:
        with atomic_path(out_path) as tmp:
            quantize_dynamic(str(onnx_path), str(tmp), weight_type=QuantType.QInt8)
    return out_path


def read_accuracies(parity_file: Optional[Path]) -> dict[str, float]:
    """backend/model name -> accuracy from parity.json (format tolerant: list or dict of models)."""
    if not parity_file or not Path(parity_file).is_file():
        return {}
    data = json.loads(Path(parity_file).read_text(encoding="utf-8"))
    models = data.get("models", data)
    items = models.items() if isinstance(models, dict) else ((m.get("name") or m.get("backend"), m) for m in models)
    out = {}
    for name, m in items:
        if isinstance(m, dict) and m.get("accuracy") is not None:
            out[str(name)] = float(m["accuracy"])
    # parity names the float models 'teacher' and 'student'
    for src, dst in (("teacher", "teacher_fp32"), ("student", "student_fp32"), ("float_student", "student_fp32")):
        if src in out:
            out.setdefault(dst, out[src])
    return out


def collect_models(artifacts_dir: Path, student_dir: Optional[Path], teacher_dir: Optional[Path],
                   accuracies: dict[str, float], include_bert_base: bool = True,
                   work_dir: Optional[Path] = None) -> list[BenchModel]:
    """The models to time. The onnxruntime reference is quantized into `work_dir` (the bench
    output), never into `artifacts_dir`: a file added there would change the convert stage's
    fingerprint and make the next `bert-edge run` convert again."""
    from converters.common import BACKENDS

    models: list[BenchModel] = []
    student_params = count_params(student_dir) if student_dir else 0
    tok = str(student_dir) if student_dir else None
    if include_bert_base:
        models.append(BenchModel("bert_base_fp32", "bert-base", None, bert_base_params() * 4, bert_base_params()))
    if teacher_dir:
        models.append(BenchModel("teacher_fp32", "hf", str(teacher_dir),
                                 (Path(teacher_dir) / "model.safetensors").stat().st_size,
                                 count_params(teacher_dir), tok))
    if student_dir:
        models.append(BenchModel("student_fp32", "hf", str(student_dir),
                                 (Path(student_dir) / "model.safetensors").stat().st_size, student_params, tok))
    onnx = artifacts_dir / ARTIFACT_FILES["onnx"]
    names = [b for b in BACKENDS if (artifacts_dir / ARTIFACT_FILES[b]).is_file()]
    if not names:
        raise BertEdgeError(f"{artifacts_dir}: no artifacts to benchmark (run `bert-edge convert` first)")
    where = {name: artifacts_dir / ARTIFACT_FILES[name] for name in names}
    if onnx.is_file() and work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        where["ort_int8"] = ort_dynamic_int8(onnx, Path(work_dir) / ARTIFACT_FILES["ort_int8"])
        names.insert(names.index("onnx") + 1, "ort_int8")
    for name in names:
        p = where[name]
        models.append(BenchModel(name, "artifact", str(p), p.stat().st_size, student_params, tok))
    for m in models:
        m.accuracy = accuracies.get(m.name)
    return models


def run_worker(spec: dict, timeout: float = 900) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(spec["threads"])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "pipeline.bench.worker", json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    lines = [l for l in proc.stdout.strip().splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def sgemm_peak(threads: int) -> float:
    """Measured fp32 GEMM GFLOP/s at this thread count: the practical compute ceiling here."""
    code = ("import numpy as np,time;a=np.random.rand(1024,1024).astype(np.float32);"
            "[a@a for _ in range(3)];t=time.perf_counter();n=20\n"
            "for _ in range(n): a@a\n"
            "print(2*1024**3*n/(time.perf_counter()-t)/1e9)")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return round(float(out.stdout.strip() or 0), 1)


def write_real_texts(cfg, student_dir: Path, out_dir: Path, limit: int = 0) -> Path:
    """The dev sentences (config data.dev) for the real-distribution figure, as JSON in out_dir."""
    from converters.student import model_labels
    from pipeline.fsutil import write_json_atomic
    from pipeline.parity import load_eval_set

    data = load_eval_set(cfg.data.dev, cfg.data, model_labels(student_dir), limit)
    path = out_dir / "real_texts.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, list(data.texts))
    return path


def run_bench(models: list[BenchModel], threads=(1, 2), seqs=(128,), warmup: int = 5, runs: int = 30,
              texts_file: Optional[Path] = None, progress: bool = True, fixed: bool = True) -> dict:
    """Measure every model at every (threads, fixed seq) (unless `fixed` is False) and, with
    `texts_file`, the real-distribution figure per thread count (key t{threads}_real), whose
    sentences are timed at their own length and padded to seqs[0]."""
    from tqdm.auto import tqdm

    jobs = [(m, t, s) for m in models for s in seqs for t in threads] if fixed else []
    if texts_file is not None:
        jobs += [(m, t, "real") for m in models if m.kind != "bert-base" for t in threads]
    bar = tqdm(jobs, desc="bench", disable=not progress, unit="run")
    for m, t, s in bar:
        bar.set_postfix_str(f"{m.name} t{t} {s}")
        spec = {"kind": m.kind, "path": m.path, "threads": t, "seq": seqs[0] if s == "real" else s,
                "warmup": warmup, "runs": runs, "tokenizer": m.tokenizer}
        if s == "real":
            spec["texts"] = str(texts_file)
        m.results[f"t{t}_real" if s == "real" else f"t{t}_s{s}"] = run_worker(spec)
    return {"models": [asdict(m) | {"runtime": m.runtime} for m in models]}


GOAL_REAL_RATIO = 0.25  # real-length mean latency at most 1/4 of padded-to-max (1 thread)


def summarize(result: dict, threads, seqs, student_flops: Optional[dict] = None) -> dict:
    by = {m["name"]: m for m in result["models"]}
    s0, t0 = seqs[0], threads[0]
    key = f"t{t0}_s{s0}"
    goals = {}
    base, q = by.get("bert_base_fp32"), by.get("tflite_int8")
    if base and q and "p50_ms" in base["results"].get(key, {}) and "p50_ms" in q["results"].get(key, {}):
        speed = base["results"][key]["p50_ms"] / q["results"][key]["p50_ms"]
        size = base["size_bytes"] / q["size_bytes"]
        goals["speedup_vs_bert_base"] = {"value": round(speed, 1), "goal": GOAL_SPEEDUP, "met": speed >= GOAL_SPEEDUP,
                                         "tinybert_claim": TINYBERT_CLAIM["speedup"]}
        goals["size_ratio_vs_bert_base"] = {"value": round(size, 1), "goal": GOAL_SIZE_RATIO,
                                            "met": size >= GOAL_SIZE_RATIO,
                                            "tinybert_claim": TINYBERT_CLAIM["size_ratio"]}
    ort = by.get("ort_int8")
    if ort and q:
        cmp = {}
        for t in threads:
            k = f"t{t}_s{s0}"
            a, b = q["results"].get(k, {}).get("p50_ms"), ort["results"].get(k, {}).get("p50_ms")
            if a and b:
                cmp[f"{t} thread(s)"] = {"tflite_int8_ms": a, "ort_int8_ms": b, "ratio": round(b / a, 2)}
        goals["tflite_int8_vs_ort_int8"] = {"value": cmp, "met": bool(cmp) and all(v["tflite_int8_ms"] <= v["ort_int8_ms"] for v in cmp.values())}
    real = {}
    for t in threads:
        r = (q or {}).get("results", {}).get(f"t{t}_real", {})
        if "mean_ratio" in r:
            real[f"{t} thread(s)"] = {"real_mean_ms": r["real"]["mean_ms"], "fixed_mean_ms": r["fixed"]["mean_ms"],
                                     "ratio": r["mean_ratio"], "same_predictions": r["same_predictions"],
                                     "sentences": r["sentences"], "mean_tokens": r["mean_tokens"]}
    if real:
        one = real.get(f"{threads[0]} thread(s)", next(iter(real.values())))
        goals["tflite_int8_real_vs_fixed"] = {"value": real, "goal": GOAL_REAL_RATIO,
                                              "met": one["ratio"] <= GOAL_REAL_RATIO and one["same_predictions"] == 1.0}
    stu = by.get("student_fp32")
    if stu and q:
        gf = {}
        for t in threads:
            flops = stu["results"].get(f"t{t}_s{s0}", {}).get("flops")
            lat = q["results"].get(f"t{t}_s{s0}", {}).get("p50_ms")
            if flops and lat:
                gf[f"{t} thread(s)"] = round(flops / (lat / 1e3) / 1e9, 1)
        goals["tflite_int8_gflops"] = {"value": gf}
    return goals
