"""The parity report for humans: `report.md` (with PNGs next to it) and a self-contained
`report.html` (the same PNGs embedded as base64), so a user sees at a glance what compression cost.

Plots: accuracy vs size vs latency per model; |logit difference| to the float student per
artifact; confusion of student predictions vs teacher predictions.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from converters.backends import REGISTRY

PLOTS_DIR = "plots"
COLORS = {"PASS": "#2e7d32", "FAIL": "#c62828", "-": "#616161"}


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes; closes it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()


def _color(m: dict) -> str:
    return COLORS.get(m.get("status", "-"), "#616161")


def plot_tradeoff(report: dict) -> bytes:
    """Accuracy (or agreement with the teacher on unlabeled data) vs size and vs latency."""
    plt = pyplot()
    labeled = report["data"]["labeled"]
    key, ylabel = ("accuracy", "accuracy") if labeled else ("agreement_teacher", "agreement with teacher")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (xkey, xlabel) in zip(axes, (("size_mb", "size on disk (MB, log)"),
                                         ("latency_ms", "latency, batch 1, 1 thread (ms, log)"))):
        for m in report["models"]:
            y = m.get(key)
            x = (m["size_bytes"] / 1e6 if m.get("size_bytes") else None) if xkey == "size_mb" else m.get("latency_ms")
            if x is None or y is None or x <= 0:
                continue
            ax.scatter([x], [y], s=60, color=_color(m), zorder=3,
                       marker="s" if m["kind"] != "artifact" else "o")
            i = len(ax.texts)  # stagger labels: models often sit on top of each other
            ax.annotate(m["name"], (x, y), textcoords="offset points", fontsize=8,
                        xytext=(6, 10 - 9 * (i % 4)), ha="left")
        ax.set_xscale("log")
        ax.margins(x=0.25, y=0.15)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{ylabel} vs size and latency (green PASS, red FAIL, grey reference)", fontsize=10)
    return png_bytes(fig)


def plot_diffs(report: dict, logits: dict) -> bytes | None:
    """Histogram of |logit - float student logit| per artifact (all logits of all examples)."""
    arts = [m for m in report["models"] if m["kind"] == "artifact" and m["name"] in logits]
    if not arts or "student" not in logits:
        return None
    plt = pyplot()
    cols = min(3, len(arts))
    rows = (len(arts) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    ref = logits["student"].astype(np.float64)
    thr = report["thresholds"]["max_fp32_abs_diff"]
    diffs = {}
    for m in arts:
        d = np.abs(logits[m["name"]].astype(np.float64) - ref).ravel()
        diffs[m["name"]] = d[np.isfinite(d)]
    allpos = np.concatenate([d[d > 0] for d in diffs.values()] + [np.zeros(0)])
    lo = max(1e-10, float(allpos.min()) if allpos.size else 1e-10)
    hi = max(lo * 100, float(allpos.max()) if allpos.size else 1.0, thr * 2)
    bins = np.logspace(np.log10(lo), np.log10(hi), 50)
    for ax, m in zip(axes.flat, arts):
        d = diffs[m["name"]]
        ax.hist(np.clip(d, lo, None), bins=bins, color=_color(m), alpha=0.85)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.minorticks_off()
        if REGISTRY[m["backend"]].precision == "fp32":
            ax.axvline(thr, color="black", ls="--", lw=1, label=f"gate {thr:g}")
            ax.legend(fontsize=7)
        med = float(np.median(d)) if d.size else float("nan")
        ax.set_title(f"{m['name']} ({m.get('status', '-')}): median {med:.1e}, max {d.max() if d.size else float('nan'):.1e}",
                     fontsize=8)
        ax.set_xlabel("|logit diff| to float student (0 shown at the left edge)", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(arts):]:
        ax.axis("off")
    fig.tight_layout()
    return png_bytes(fig)


def plot_confusion(report: dict) -> bytes:
    plt = pyplot()
    c = np.asarray(report["student_vs_teacher_confusion"])
    labels = report["data"]["labels"]
    k = len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * k, 1.0 + 0.8 * k))
    ax.imshow(c, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(c[i, j]), ha="center", va="center",
                    color="white" if c[i, j] > c.max() / 2 else "black", fontsize=9)
    ax.set_xticks(range(k), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("student prediction")
    ax.set_ylabel("teacher prediction")
    ax.set_title("student vs teacher", fontsize=10)
    return png_bytes(fig)


def _f(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def _rows(report: dict) -> list[list[str]]:
    rows = []
    for m in report["models"]:
        size = m.get("size_bytes")
        rows.append([
            m["name"], m.get("file") or "(PyTorch fp32)", _f(m.get("accuracy"), ".4f"),
            _f(m.get("agreement_teacher"), ".4f"), _f(m.get("agreement_student"), ".4f"),
            _f(m.get("max_abs_diff"), ".2e"), _f(m.get("mean_abs_diff"), ".2e"),
            _f(m.get("kl_teacher"), ".4f"), _f(size / 1e6 if size else None, ".2f"),
            _f(m["params"] / 1e6 if m.get("params") else None, ".2f"), _f(m.get("latency_ms"), ".1f"),
            m.get("status", "-") + ("" if m.get("required") or m["kind"] == "teacher" or m.get("status") != "FAIL"
                                    else " (optional)"),
        ])
    return rows


HEADER = ["model", "file", "accuracy", "agree teacher", "agree student", "max |Δ| student",
          "mean |Δ| student", "KL(teacher‖model)", "size MB", "params M", "latency ms", "gate"]


def _gate_line(report: dict) -> str:
    g = report["gate"]
    if g["passed"] and not g["optional_failed"]:
        return "PASSED: every model is within the thresholds."
    if g["passed"]:
        return (f"PASSED (optional artifact(s) failing and kept out of the bundle: "
                f"{', '.join(g['optional_failed'])}).")
    return f"FAILED: required model(s) breaching a threshold: {', '.join(g['required_failed'])}."


def _thr_lines(report: dict) -> list[str]:
    t = report["thresholds"]
    return [
        f"every artifact: argmax agreement with the float student ≥ {t['min_agreement']:g}",
        f"fp32 artifacts (onnx, tflite_fp32): max |logit diff| to the float student ≤ {t['max_fp32_abs_diff']:g}",
        f"int8 artifacts: accuracy drop vs the float student ≤ {t['max_int8_accuracy_drop']:g} points",
        f"student: accuracy ≥ {t['min_teacher_share']:g} × teacher accuracy",
        f"required (a breach fails the gate): student, {', '.join(t['required'])}; others are reported and not bundled",
    ]


def mediapipe_lines(report: dict) -> list:
    """The MediaPipe TextClassifier rows (raw text in) next to the LiteRT runner."""
    rows = [m for m in report["models"] if m.get("mediapipe")]
    if not rows:
        return []

    def _fmt(v, spec):
        return "-" if v is None else format(v, spec)

    v = next((m["mediapipe"]["version"] for m in rows if m["mediapipe"].get("version")), None)
    lines = [f"MediaPipe TextClassifier {v or ''} (text normalized as the app does, its own "
             "tokenizer; dev + probe set) vs LiteRT runner:"]
    for m in rows:
        mp = m["mediapipe"]
        if mp.get("agreement_litert") is None:
            lines.append(f"  {m['name']:<17} {'not checked' if mp['ready'] is None else 'not MediaPipe-ready'}: "
                         f"{mp['reason']}")
            continue
        lines.append(f"  {m['name']:<17} acc {_fmt(mp.get('accuracy'), '.4f')} (LiteRT "
                     f"{_fmt(mp.get('litert_accuracy'), '.4f')})  agreement {mp['agreement_litert']:.4f}  "
                     f"max|score diff| {_fmt(mp.get('max_abs_score_diff'), '.2e')}  "
                     f"probe {_fmt(mp.get('probe_agreement_litert'), '.4f')} / "
                     f"{_fmt(mp.get('probe_max_abs_score_diff'), '.2e')} ({mp.get('probe_n', 0)} texts)  "
                     + ("MediaPipe-ready" if mp["ready"] else f"not MediaPipe-ready: {mp['reason']}"))
        for d in mp.get("differing") or []:  # every differing text, named (up to the listed cap)
            lines.append(f"    differs ({d['set']}, |score diff| {_fmt(d['score_diff'], '.2e')}"
                         f"{'' if d['same_label'] else ', other label'}): {d['text'][:100]!r}")
    return lines


def render_markdown(report: dict, plots: dict[str, str]) -> str:
    d = report["data"]
    out = [f"# bert-edge parity report", "",
           f"Evaluation set: `{d['source']}`, {d['n']} examples, fixed length {d['max_seq_length']}"
           f"{'' if d['labeled'] else ' (unlabeled: no accuracy)'}.  ",
           f"Teacher `{report['teacher_dir']}`, student `{report['student_dir']}`, "
           f"artifacts `{report['artifacts_dir']}`.", "",
           f"**Gate: {_gate_line(report)}**", ""]
    breaches = report["gate"]["breaches"]
    if breaches:
        out += ["Breaches:", ""] + [f"- {'**required**' if b['required'] else 'optional'}: {b['message']}"
                                    for b in breaches] + [""]
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in _rows(report)]
    out += ["", "Latency: median of a few batch-1 runs with 1 thread on this host (not a phone "
                "benchmark). Params of artifacts: the student's parameter count. Δ: logit difference.",
            "", "## Thresholds", ""] + [f"- {t}" for t in _thr_lines(report)] + [""]
    mp = mediapipe_lines(report)
    if mp:  # reported, not gated
        out += ["## MediaPipe Tasks", "", "```", *mp, "```", ""]
    titles = {"tradeoff": "Accuracy vs size vs latency", "diffs": "Logit difference to the float student",
              "confusion": "Student vs teacher predictions"}
    for key, rel in plots.items():
        out += [f"## {titles[key]}", "", f"![{titles[key]}]({rel})", ""]
    return "\n".join(out)


def render_html(report: dict, pngs: dict[str, bytes]) -> str:
    e = html.escape
    d = report["data"]
    g = report["gate"]
    color = "#2e7d32" if g["passed"] else "#c62828"
    rows = []
    for m, r in zip(report["models"], _rows(report)):
        st = m.get("status", "-")
        cells = "".join(f"<td>{e(c)}</td>" for c in r[:-1])
        rows.append(f"<tr>{cells}<td style='color:{COLORS.get(st, '#000')};font-weight:bold'>{e(r[-1])}</td></tr>")
        for b in m.get("breaches", []):
            rows.append(f"<tr class='breach'><td></td><td colspan='{len(HEADER) - 1}'>↳ {e(b)}</td></tr>")
    imgs = {k: base64.b64encode(v).decode("ascii") for k, v in pngs.items()}
    titles = {"tradeoff": "Accuracy vs size vs latency", "diffs": "Logit difference to the float student",
              "confusion": "Student vs teacher predictions"}
    sections = "".join(f"<h2>{titles[k]}</h2><img alt='{titles[k]}' src='data:image/png;base64,{v}'>"
                       for k, v in imgs.items())
    thr = "".join(f"<li>{e(t)}</li>" for t in _thr_lines(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bert-edge parity report</title>
<style>
body {{ font-family: -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child, td:nth-child(2) {{ text-align: left; }}
tr.breach td {{ text-align: left; color: #c62828; border-top: none; font-size: 12px; }}
.gate {{ font-size: 18px; font-weight: bold; color: {color}; }}
img {{ max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }}
code {{ background: #f6f6f6; padding: 1px 4px; }}
</style></head><body>
<h1>bert-edge parity report</h1>
<p>Evaluation set <code>{e(str(d['source']))}</code>: {d['n']} examples, fixed length {d['max_seq_length']}
{'' if d['labeled'] else '(unlabeled: no accuracy)'}. Teacher <code>{e(report['teacher_dir'])}</code>,
student <code>{e(report['student_dir'])}</code>, artifacts <code>{e(report['artifacts_dir'])}</code>.
Created {e(report['created'])}, pipeline {e(report['pipeline_version'])}.</p>
<p class="gate">Gate: {e(_gate_line(report))}</p>
<table><tr>{''.join(f'<th>{e(h)}</th>' for h in HEADER)}</tr>
{''.join(rows)}</table>
<p style="font-size:12px">Latency: median of a few batch-1 runs with 1 thread on the host (not a phone
benchmark). Params of artifacts: the student's parameter count. Δ: logit difference.</p>
<h2>Thresholds</h2><ul>{thr}</ul>
{sections}
</body></html>
"""


def make_plots(report: dict, logits: dict) -> dict[str, bytes]:
    pngs = {"tradeoff": plot_tradeoff(report)}
    diffs = plot_diffs(report, logits)
    if diffs is not None:
        pngs["diffs"] = diffs
    pngs["confusion"] = plot_confusion(report)
    return pngs


def write_reports(report: dict, logits: dict, out_dir: str | Path) -> dict[str, Path]:
    """report.md + plots/*.png + report.html into `out_dir` (a directory being built)."""
    out_dir = Path(out_dir)
    pngs = make_plots(report, logits)
    (out_dir / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    rel = {}
    for k, data in pngs.items():
        (out_dir / PLOTS_DIR / f"{k}.png").write_bytes(data)
        rel[k] = f"{PLOTS_DIR}/{k}.png"
    (out_dir / "report.md").write_text(render_markdown(report, rel), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(report, pngs), encoding="utf-8")
    return {"md": out_dir / "report.md", "html": out_dir / "report.html"}
