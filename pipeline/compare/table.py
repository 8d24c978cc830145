"""The comparison's numbers: one row per student x model, read from what the stages wrote
(parity.json: accuracy, size, parameters, gate; convert.json: conversion time; the student's
metrics.json: distillation time; bench.json: latency), the Pareto front of accuracy vs latency,
and the recommendation computed from them.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Optional

RULE = ("among the artifacts that pass the parity gate (their own checks and their student's), "
        "those within {within:g} {quality} points of the best one; of those, the lowest "
        "{latency} latency (ties: the smaller file)")


def _read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def latency_label(key: str) -> str:
    """'real_t1' -> 'real-length, 1 thread'; 'fixed_t2' -> 'padded, 2 threads'."""
    kind, t = key.split("_t")
    return f"{'real-length' if kind == 'real' else 'padded'}, {t} thread{'' if t == '1' else 's'}"


def _latencies(bench_model: Optional[dict], threads: list) -> tuple[dict, list]:
    """p50 ms per sentence, 'fixed_t{n}' (padded) and 'real_t{n}' (own length), from one bench.json
    model's real-distribution results; errors as text."""
    lat, errors = {}, []
    res = (bench_model or {}).get("results", {})
    for t in threads:
        r = res.get(f"t{t}_real") or {}
        lat[f"fixed_t{t}"] = (r.get("fixed") or {}).get("p50_ms")
        lat[f"real_t{t}"] = (r.get("real") or {}).get("p50_ms")
        if r.get("error"):
            errors.append(f"{t} thread(s): {r['error']}")
        elif not r:
            errors.append(f"{t} thread(s): not timed")
    return lat, errors


def student_rows(run: dict, threads: list, quality: str) -> tuple[list[dict], dict]:
    """(rows, facts) for one finished student (`run`: a StudentRun as a dict)."""
    from converters.backends import REGISTRY
    from pipeline.bench.measure import RUNTIMES

    out = Path(run["out"])
    parity = _read_json(out / "parity" / "parity.json") or {"models": []}
    convert = _read_json(out / "convert" / "convert.json") or {}
    metrics = _read_json(out / "student" / "metrics.json") or {}
    bench = _read_json(out / "bench" / "bench.json") or {}
    bench_by = {m["name"]: m for m in bench.get("models", [])}
    teacher = next((m for m in parity["models"] if m["kind"] == "teacher"), {})
    t_q = teacher.get(quality)
    facts = {"distill_seconds": metrics.get("seconds"), "convert_seconds": convert.get("total_seconds"),
             "student": metrics.get("student") or {}, "teacher": teacher, "data": parity.get("data"),
             "missing": {}}
    rows = []
    for m in parity["models"]:
        if m["kind"] == "teacher":
            continue
        name = "student_fp32" if m["kind"] == "student" else m["name"]
        if m["kind"] == "artifact" and m.get("size_bytes") is None:  # not produced
            facts["missing"][name] = m.get("error") or "not produced"
            continue
        lat, lat_err = _latencies(bench_by.get(name), threads)
        art = (convert.get("artifacts") or {}).get(name) or {}
        conv = None
        if art.get("convert_seconds") is not None:
            conv = round(art["convert_seconds"] + (art.get("validate_seconds") or 0.0), 2)
        q = m.get(quality)
        backend = REGISTRY.get(name)
        rows.append({
            "student": run["preset"], "model": name, "kind": m["kind"],
            "label": backend.label.strip("*") if backend else "float student (PyTorch fp32)",
            "runtime": RUNTIMES.get(name, "PyTorch"),
            "precision": backend.precision if backend else "fp32",
            "quality": q, "teacher_pct": (100.0 * q / t_q) if q is not None and t_q else None,
            "size_bytes": m.get("size_bytes"), "params": m.get("params"),
            "latency": lat, "latency_errors": lat_err,
            "convert_seconds": conv, "distill_seconds": facts["distill_seconds"],
            "gate": m.get("status", "-"), "breaches": m.get("breaches", []),
            "shippable": m["kind"] == "artifact" and m.get("status") == "PASS" and run.get("gate_passed") is True,
            "pareto": False,
        })
    return rows, facts


def latency_key(rows: list[dict], threads: list) -> str:
    """Real-length latency at the first thread count when every timed artifact has it (what the
    app does per sentence), else the padded one."""
    arts = [r for r in rows if r["kind"] == "artifact"]
    real = f"real_t{threads[0]}"
    if arts and all(r["latency"].get(real) is not None for r in arts):
        return real
    return f"fixed_t{threads[0]}"


def _point(r: dict, key: str):
    lat = r["latency"].get(key)
    return None if lat is None or r["quality"] is None else (lat, r["quality"])


def mark_pareto(rows: list[dict], key: str) -> None:
    """pareto=True on artifacts no other artifact beats on both accuracy and latency."""
    pts = [(r, _point(r, key)) for r in rows if r["kind"] == "artifact"]
    pts = [(r, p) for r, p in pts if p is not None]
    for r, (lat, q) in pts:
        r["pareto"] = not any(l2 <= lat and q2 >= q and (l2 < lat or q2 > q) for _, (l2, q2) in pts)


def recommend(rows: list[dict], key: str, within: float, quality: str = "accuracy") -> dict:
    """The rule of RULE, applied; falls back to ignoring the gate (and says so) when no artifact
    passes it."""
    qname = quality.replace("_", " with ")  # accuracy | agreement with teacher
    rule = RULE.format(within=within, quality=qname, latency=latency_label(key))
    arts = [r for r in rows if r["kind"] == "artifact" and _point(r, key) is not None]
    passing = [r for r in arts if r["shippable"]]
    pool = passing or arts
    if not pool:
        return {"rule": rule, "student": None, "model": None, "gate_passed": None,
                "text": "nothing to recommend: no artifact has both an accuracy and a latency"}
    best = max(r["quality"] for r in pool)
    near = [r for r in pool if r["quality"] >= best - within / 100.0 - 1e-12]
    pick = min(near, key=lambda r: (r["latency"][key], r["size_bytes"] or 0, r["student"], r["model"]))
    why = (f"{100 * pick['quality']:.2f}% {qname} (best {100 * best:.2f}%), {pick['latency'][key]:.2f} ms "
           f"({latency_label(key)}), {pick['size_bytes'] / 1e6:.3g} MB")
    if passing:
        text = f"ship {pick['student']} as {pick['model']}: {why}"
    else:
        text = (f"no artifact passes the parity gate; ignoring the gate, {pick['student']} as "
                f"{pick['model']} would be picked: {why}")
    return {"rule": rule, "student": pick["student"], "model": pick["model"], "gate_passed": bool(passing),
            "best_quality": best, "text": text}


def build(cfg, runs: list[dict]) -> dict:
    """compare.json: settings, teacher, students (status, times, failures), rows, recommendation."""
    from converters.hostinfo import cpu_info
    from pipeline import __version__
    from pipeline.compare.bench import settings

    s = settings(cfg)
    threads = s["threads"]
    rows, students, teacher, data = [], [], None, None
    quality = "accuracy"
    for run in runs:
        entry = {k: run.get(k) for k in ("preset", "status", "error", "gate_passed", "bench", "stages", "out")}
        if run["status"] == "done":
            parity = _read_json(Path(run["out"]) / "parity" / "parity.json") or {}
            if not (parity.get("data") or {}).get("labeled", True):
                quality = "agreement_teacher"
        students.append(entry)
    for run, entry in zip(runs, students):
        if run["status"] != "done":
            continue
        r, facts = student_rows(run, threads, quality)
        rows += r
        entry.update(distill_seconds=facts["distill_seconds"], convert_seconds=facts["convert_seconds"],
                     missing=facts["missing"], description=facts["student"].get("description"),
                     family=facts["student"].get("family"))
        teacher = teacher or facts["teacher"]
        data = data or facts["data"]
    key = latency_key(rows, threads)
    mark_pareto(rows, key)
    t_keys = ("path", "accuracy", "agreement_teacher", "size_bytes", "params")
    return {
        "format_version": 1, "pipeline_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "output_dir": str(cfg.output_dir), "machine": cpu_info(),
        "settings": {**s, "within_points": cfg.compare.within_points},
        "quality": quality, "data": data,
        "teacher": {k: (teacher or {}).get(k) for k in t_keys} if teacher else None,
        "students": students, "rows": rows, "latency_key": key,
        "recommendation": recommend(rows, key, cfg.compare.within_points, quality),
    }
