#!/usr/bin/env python
"""SST-2 distillation ablation: teacher vs TinyBERT-4L (general + task), labels-only, MobileBERT,
distilbert-style, augmentation, and epoch wall time with / without the teacher cache.

Each run is one `bert-edge distill` subprocess (so runs are independent and resumable); finished
runs (a metrics.json in their output dir) are skipped unless --rerun. At the end (or with
--table), a markdown table is printed and written to OUT/results.md.

    python scripts/benchmark_distill.py --data ../shared/data/sst2 --teacher runs/sst2-teacher \\
        --out runs/sst2-bench --train-examples 16000 [--only tinybert4,labels-only] [--threads 1]

The general-distillation corpus is the SST-2 training text beyond the task subset, labels dropped
(`--unlabeled FILE` to use another one): there is no Wikipedia offline.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def runs(a, out: Path) -> dict[str, dict]:
    """name -> {"what", "method", "student", "phases", "extra": [--set ...], "needs": [...], ...}.

    Three TinyBERT-4L series: `slice-*` (the default: the student starts as a slice of the
    teacher, student.init_encoder=teacher), `emb-*` (only the embeddings start from the teacher's,
    PCA-projected) and the TinyBERT paper's random init (no prefix)."""
    ep_i, ep_p, ep_g = a.intermediate_epochs, a.prediction_epochs, a.general_epochs
    common = [f"distill.task_intermediate.epochs={ep_i}", f"distill.task_prediction.epochs={ep_p}",
              f"distill.general.epochs={ep_g}", f"distill.task_prediction.learning_rate={a.prediction_lr}",
              f"distill.task_intermediate.learning_rate={a.intermediate_lr}"]
    rand = ["student.init_embeddings=random", "student.init_encoder=random"]
    labels_only = [f"distill.task_prediction.epochs={a.labels_epochs}",
                   f"distill.task_prediction.learning_rate={a.labels_lr}"]
    # 2x more task data, 1 + 1 epochs: about the step budget of the 4 + 3 epochs on 1x data
    short = ["distill.task_intermediate.epochs=1", "distill.task_prediction.epochs=1"]
    task = "task-intermediate,task-prediction"
    out_of = lambda name: str(out / name / "student")  # noqa: E731
    r = {}
    for pre, init, what in (("slice-", [], "sliced from the teacher"),
                            ("emb-", ["student.init_encoder=random"], "teacher-init embeddings"),
                            ("", rand, "random init")):
        gen = out_of(f"{pre}tinybert4-general")
        r[f"{pre}tinybert4-general"] = dict(
            what=f"TinyBERT-4L general distillation, no labels ({what})", method="tinybert",
            student="tinybert-4l-312d", phases="general", extra=common + init, cache=False)
        r[f"{pre}tinybert4"] = dict(
            what=f"TinyBERT-4L: general + task distillation ({what})", method="tinybert", student=gen,
            phases=task, extra=common, needs=[f"{pre}tinybert4-general"])
        r[f"{pre}tinybert4-aug"] = dict(
            what=f"TinyBERT-4L: general + task distillation, {a.augment_factor}x augmentation, 1+1 epochs ({what})",
            method="tinybert", student=gen, phases=task,
            extra=common + short + [f"distill.augment_factor={a.augment_factor}"], augment=True,
            needs=[f"{pre}tinybert4-general"])
        r[f"{pre}tinybert4-unlabeled"] = dict(
            what=f"TinyBERT-4L: general + task distillation + 32k unlabeled sentences labelled by the teacher, "
                 f"1+1 epochs ({what})", method="tinybert", student=gen, phases=task,
            extra=common + short + ["distill.task_unlabeled=true"], unlabeled=str(out / "unlabeled-32k.txt"),
            needs=[f"{pre}tinybert4-general"])
        r[f"{pre}tinybert4-task-only"] = dict(
            what=f"TinyBERT-4L: task distillation only ({what})", method="tinybert",
            student="tinybert-4l-312d", phases=task, extra=common + init)
        r[f"{pre}labels-only"] = dict(
            what=f"TinyBERT-4L: labels only, no teacher ({what})", method="labels-only",
            student="tinybert-4l-312d", phases="task-prediction", extra=common + init + labels_only)
        r[f"{pre}labels-only-general"] = dict(
            what=f"TinyBERT-4L: general distillation, then labels only ({what})", method="labels-only",
            student=gen, phases="task-prediction", extra=common + labels_only,
            needs=[f"{pre}tinybert4-general"])
    r["mobilebert-general"] = dict(what="MobileBERT general distillation (feature maps + attention, random init)",
                                   method="mobilebert", student="mobilebert", phases="general",
                                   extra=common + rand, cache=False)
    r["mobilebert"] = dict(what="MobileBERT: general + task distillation (random init)", method="mobilebert",
                           student=out_of("mobilebert-general"), phases=task, extra=common,
                           needs=["mobilebert-general"])
    r["distilbert"] = dict(what="distilbert-style (3L, init from teacher layers 0,2,4): task distillation",
                           method="distilbert", student="distilbert-style", phases="task-prediction", extra=common)
    # epoch time with / without the teacher cache: same student, 4,000 examples, 2 epochs each
    for name, cache in (("timing-cache", True), ("timing-live", False)):
        r[name] = dict(what=f"timing: 2 task-intermediate epochs on 4,000 examples, teacher "
                            f"{'from a fresh cache' if cache else 'live'}", method="tinybert",
                       student="tinybert-4l-312d", phases="task-intermediate", cache=cache,
                       train_examples=4000,
                       extra=common + ["distill.task_intermediate.epochs=2",
                                       f"distill.cache_dir={out / name / 'cache'}"])
    return r


def run_one(name: str, spec: dict, a, out: Path) -> dict | None:
    run_dir = out / name
    student_dir = run_dir / "student"
    if (student_dir / "metrics.json").is_file() and not (a.rerun or name in a.rerun_only.split(",")):
        return json.loads((student_dir / "metrics.json").read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pipeline.cli", "distill", "--teacher", str(a.teacher),
           "--out", str(student_dir), "--method", spec["method"], "--student", spec["student"],
           "--phases", spec["phases"], "--train", str(a.data / "train.tsv"), "--dev", str(a.dev or a.data / "dev.tsv"),
           "--unlabeled", spec.get("unlabeled", str(a.unlabeled)),
           "--max-train-examples", str(spec.get("train_examples", a.train_examples)),
           "--set", "data.label_names=[negative, positive]", "--set", f"seed={a.seed}",
           "--set", f"distill.cache_dir={out / 'teacher-cache'}"]
    if a.batch_size:
        cmd += ["--batch-size", str(a.batch_size)]
    if a.max_seq_length:
        cmd += ["--max-seq-length", str(a.max_seq_length)]
    for item in spec.get("extra", []):
        cmd += ["--set", item]
    if spec.get("augment"):
        cmd.append("--augment")
    if spec.get("cache") is False:
        cmd.append("--no-cache")
    if a.no_progress:
        cmd.append("--no-progress")
    if (run_dir / "student.work" / "checkpoints" / "LATEST").is_file():
        cmd.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    (run_dir / "command.txt").write_text(" ".join(cmd) + "\n")
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {spec['what']}", flush=True)
    t0 = time.time()
    with open(run_dir / "log.txt", "a") as log:
        rc = subprocess.call(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    if rc != 0:
        print(f"  {name} failed (exit {rc}); see {run_dir / 'log.txt'}", flush=True)
        return None
    m = json.loads((student_dir / "metrics.json").read_text())
    print(f"  {name}: dev accuracy {m['dev_accuracy']:.4f} in {time.time() - t0:.0f} s", flush=True)
    return m


def table(results: dict, specs: dict, teacher_acc: float | None, m_status=lambda name: "failed") -> str:
    lines = ["| run | what | params | dev acc | % of teacher | train time |",
             "|---|---|---:|---:|---:|---:|"]
    if teacher_acc is not None:
        lines.append(f"| teacher | MiniLM-L6-H384 fine-tuned | 22.7M | {teacher_acc:.4f} | 100.0 | |")
    for name, m in results.items():
        if m is None:
            lines.append(f"| {name} | {specs[name]['what']} | | {m_status(name)} | | |")
            continue
        share = f"{100 * m['dev_accuracy'] / teacher_acc:.1f}" if teacher_acc else ""
        lines.append(f"| {name} | {specs[name]['what']} | {m['student']['params'] / 1e6:.1f}M | "
                     f"{m['dev_accuracy']:.4f} | {share} | {m['seconds'] / 60:.0f} min |")
    # cache timing (CPU seconds: on a shared machine wall time mostly measures the neighbours)
    on, off = results.get("timing-cache"), results.get("timing-live")
    if on and off:
        def phases(m):  # metrics.json written before the rename to "phases" say "stages"
            return m.get("phases") or m.get("stages") or []

        def epochs(m):
            return [e for s in phases(m) for e in s.get("epochs", []) if e.get("complete")]

        on_e, off_e = epochs(on), epochs(off)
        build = phases(on)[0].get("cache", {})
        if on_e and off_e:
            on_s = sum(e["cpu_seconds"] for e in on_e) / len(on_e)
            off_s = sum(e["cpu_seconds"] for e in off_e) / len(off_e)
            on_w = sum(e["seconds"] for e in on_e) / len(on_e)
            off_w = sum(e["seconds"] for e in off_e) / len(off_e)
            lines += ["", "| task-intermediate epoch, 4,000 SST-2 examples | CPU s | wall s |", "|---|---:|---:|",
                      f"| teacher live (no cache) | {off_s:.0f} | {off_w:.0f} |",
                      f"| teacher from the cache | {on_s:.0f} | {on_w:.0f} |",
                      f"| one-time cache build ({build.get('bytes', 0) / 1e6:.0f} MB float16) | "
                      f"{build.get('build_cpu_seconds', 0):.0f} | {build.get('build_seconds', 0):.0f} |",
                      f"| speedup per cached epoch | {off_s / on_s:.2f}x | {off_w / on_w:.2f}x |"]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/data/sst2", help="dir with train.tsv, dev.tsv")
    p.add_argument("--dev", type=Path, help="dev file (default DATA/dev.tsv)")
    p.add_argument("--teacher", type=Path, required=True, help="fine-tuned teacher dir")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--unlabeled", type=Path, help="general-distillation corpus (default: SST-2 train rows "
                                                   "after --train-examples, text only)")
    p.add_argument("--train-examples", type=int, default=16000)
    p.add_argument("--only", help="comma-separated run names (default: all)")
    p.add_argument("--general-epochs", type=float, default=1.0)
    p.add_argument("--intermediate-epochs", type=float, default=4.0)
    p.add_argument("--prediction-epochs", type=float, default=3.0)
    p.add_argument("--intermediate-lr", type=float, default=1e-4)
    p.add_argument("--prediction-lr", type=float, default=1e-4)
    p.add_argument("--labels-lr", type=float, default=1e-4)
    p.add_argument("--labels-epochs", type=float, default=7.0, help="labels-only epochs (= 4 + 3 task epochs)")
    p.add_argument("--augment-factor", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS per run (1 on a shared CPU)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--rerun", action="store_true", help="run again even when finished")
    p.add_argument("--rerun-only", default="", help="comma-separated runs to run again even when finished")
    p.add_argument("--table", action="store_true", help="only print the table of finished runs")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.unlabeled is None:
        a.unlabeled = a.out / "unlabeled.txt"
        if not a.unlabeled.is_file():
            rows = (a.data / "train.tsv").read_text(encoding="utf-8").splitlines()[1 + a.train_examples:]
            a.unlabeled.write_text("".join(r.split("\t")[0] + "\n" for r in rows), encoding="utf-8")
    small = a.out / "unlabeled-32k.txt"
    if not small.is_file():
        small.write_text("".join(a.unlabeled.read_text(encoding="utf-8").splitlines(True)[:32000]), encoding="utf-8")
    specs = runs(a, a.out)
    names = [n.strip() for n in a.only.split(",")] if a.only else list(specs)
    for n in names:
        if n not in specs:
            p.error(f"unknown run '{n}'; runs: {', '.join(specs)}")
    results = {}
    for n in names:
        spec = specs[n]
        if a.table:
            f = a.out / n / "student" / "metrics.json"
            if f.is_file():
                results[n] = json.loads(f.read_text())
            elif a.only:
                results[n] = None
            continue
        for dep in spec.get("needs", []):
            if not (a.out / dep / "student" / "metrics.json").is_file():
                results[dep] = run_one(dep, specs[dep], a, a.out)
        results[n] = run_one(n, spec, a, a.out)
    teacher_acc = None
    tm = a.teacher / "metrics.json"
    if tm.is_file():
        teacher_acc = json.loads(tm.read_text()).get("dev", {}).get("accuracy")
    for m in results.values():
        if m and m.get("teacher_dev_accuracy"):
            teacher_acc = m["teacher_dev_accuracy"]
    status = (lambda name: "not run") if a.table else (lambda name: "failed")
    text = table(results, specs, teacher_acc, status)
    print(text)
    (a.out / "results.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
