"""The comparison for humans: OUTPUT_DIR/compare/ holds compare.json, report.md (PNGs beside it),
a self-contained report.html (the same PNGs embedded) and the two plots: accuracy vs latency
with the Pareto front marked, and accuracy vs size. Written into a temp directory and swapped in,
so a failed or interrupted run never leaves a half-written report.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from pipeline.compare.table import latency_label
from pipeline.report import png_bytes, pyplot

REPORT_DIR = "compare"
REPORT_JSON = "compare.json"
PLOTS = {"accuracy_latency": "Accuracy vs latency (Pareto front marked)", "accuracy_size": "Accuracy vs size"}
MARKERS = {"fp32": "s", "int8": "o"}


def _f(v, spec: str, scale: float = 1.0) -> str:
    return "-" if v is None else format(v * scale, spec)


def _params(n) -> str:
    return "-" if not n else (f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k")


def header(comp: dict) -> list[str]:
    q = "acc %" if comp["quality"] == "accuracy" else "agree(T) %"
    lat = [f"{'real' if k.startswith('real') else 'padded'} {k.split('_t')[1]}t ms"
           for k in _lat_keys(comp)]
    return ["student", "model", "runtime", q, "% of teacher", "size MB", "params", *lat,
            "convert s", "distill s", "gate", "Pareto"]


def _lat_keys(comp: dict) -> list[str]:
    threads = comp["settings"]["threads"]
    return [f"fixed_t{t}" for t in threads] + [f"real_t{t}" for t in threads]


def rows(comp: dict) -> list[list[str]]:
    rec = comp["recommendation"]
    out = []
    for r in comp["rows"]:
        name = r["model"] + (" (recommended)" if (r["student"], r["model"]) == (rec["student"], rec["model"]) else "")
        out.append([r["student"], name, r["runtime"], _f(r["quality"], ".2f", 100), _f(r["teacher_pct"], ".2f"),
                    _f(r["size_bytes"], ".2f", 1e-6), _params(r["params"]),
                    *[_f(r["latency"].get(k), ".2f") for k in _lat_keys(comp)],
                    _f(r["convert_seconds"], ".1f"), _f(r["distill_seconds"], ".0f"), r["gate"],
                    "yes" if r["pareto"] else ""])
    return out


# --- plots -----------------------------------------------------------------------------------

def _scatter(comp: dict, xof, xlabel: str, title: str, front: bool) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5))
    students = [s["preset"] for s in comp["students"]]
    colors = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(students)}
    rec = comp["recommendation"]
    pts = []
    for r in comp["rows"]:
        x, y = xof(r), r["quality"]
        if x is None or y is None or x <= 0:
            continue
        y = 100 * y
        art = r["kind"] == "artifact"
        c = colors[r["student"]]
        style = {"color": c} if art else {"facecolors": "none", "edgecolors": c}
        ax.scatter([x], [y], s=55, marker=MARKERS.get(r["precision"], "o") if art else "^", zorder=3,
                   label=r["student"], **style)
        ax.annotate(r["model"], (x, y), textcoords="offset points", xytext=(5, 5 - 9 * (len(ax.texts) % 3)),
                    fontsize=7)
        if (r["student"], r["model"]) == (rec["student"], rec["model"]):
            ax.scatter([x], [y], s=320, marker="*", facecolors="none", edgecolors="black", zorder=4,
                       label="recommended")
        if front and r["pareto"]:
            pts.append((x, y))
    if pts:
        pts.sort()
        ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", color="black", lw=1, ls="--",
                zorder=2, label="Pareto front")
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=140, facecolors="none", edgecolors="black",
                   zorder=2)
    if not ax.collections:
        ax.text(0.5, 0.5, "no student produced numbers", ha="center", va="center", transform=ax.transAxes)
    else:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="minor", labelsize=7)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    if uniq:
        ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="best")
    ax.margins(x=0.2, y=0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy, %" if comp["quality"] == "accuracy" else "agreement with teacher, %")
    ax.set_title(title + " (square fp32, circle int8, open triangle float student in PyTorch)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    return png_bytes(fig)


def make_plots(comp: dict) -> dict[str, bytes]:
    key = comp["latency_key"]
    return {
        "accuracy_latency": _scatter(comp, lambda r: r["latency"].get(key),
                                     f"p50 latency per sentence, ms ({latency_label(key)}, batch 1, log)",
                                     PLOTS["accuracy_latency"], front=True),
        "accuracy_size": _scatter(comp, lambda r: r["size_bytes"] / 1e6 if r["size_bytes"] else None,
                                  "size on disk, MB (log)", PLOTS["accuracy_size"], front=False),
    }


# --- text ------------------------------------------------------------------------------------

def _student_lines(comp: dict) -> list[str]:
    out = []
    for s in comp["students"]:
        if s["status"] != "done":
            out.append(f"{s['preset']}: FAILED: {s['error']}")
            continue
        stages = ", ".join(f"{k} {v['status']}" for k, v in (s.get("stages") or {}).items())
        gate = {True: "gate PASSED", False: "gate FAILED", None: "gate not run"}[s.get("gate_passed")]
        extra = [f"{b} not produced ({why})" for b, why in (s.get("missing") or {}).items()]
        if s.get("error"):
            extra.append(s["error"])
        out.append(f"{s['preset']}: {gate}; distillation {_f(s.get('distill_seconds'), '.0f')} s, "
                   f"conversion {_f(s.get('convert_seconds'), '.1f')} s; {stages}; bench {s.get('bench') or '-'}"
                   + "".join(f"; {e}" for e in extra))
    return out


def _notes(comp: dict) -> list[str]:
    from converters.hostinfo import cpu_summary

    s = comp["settings"]
    t = comp.get("teacher") or {}
    d = comp.get("data") or {}
    q = comp["quality"]
    return [
        f"Teacher `{t.get('path')}`: {_f(t.get(q), '.2f', 100)}% {q.replace('_', ' with ')} on "
        f"`{d.get('source')}` ({d.get('n')} examples), {_f(t.get('size_bytes'), '.1f', 1e-6)} MB, "
        f"{_params(t.get('params'))} parameters. Every student learned from this one teacher.",
        f"Accuracy: parity's dev-set accuracy of each model through its real runtime; % of teacher = "
        "accuracy / teacher accuracy. Size: the file on disk (float student: its weights). Params: the "
        "student's parameter count (its artifacts hold the same weights).",
        f"Latency: median (p50) per sentence, batch 1, tokenization included, over "
        f"{s['sentences'] or 'all'} dev sentences (after {s['warmup']} untimed), measured by `bert-edge "
        f"bench`'s real-distribution worker (a fresh process per model and thread count) on "
        f"{cpu_summary(comp['machine'])}: real = each sentence at its own length (what the app "
        f"feeds), padded = the same sentence padded to {s['seq']} tokens (a fixed-shape app), "
        "alternating. A host CPU figure, not a phone benchmark.",
        "convert s: that artifact's conversion step plus its validation (convert.json); distill s: the "
        "student's whole distillation (metrics.json). Gate: parity's verdict for the model; an artifact "
        "is shippable only if it and its student pass. Pareto: no other artifact is both faster and "
        "more accurate.",
    ]


def render_markdown(comp: dict, plots: dict[str, str]) -> str:
    rec = comp["recommendation"]
    h = header(comp)
    out = ["# bert-edge compare: which student to ship", "",
           f"**Recommendation: {rec['text']}.**", "", f"Rule: {rec['rule']}.", "",
           "| " + " | ".join(h) + " |", "|" + "---|" * len(h)]
    out += ["| " + " | ".join(r) + " |" for r in rows(comp)]
    out += ["", "## Students", ""] + [f"- {line}" for line in _student_lines(comp)]
    out += ["", "## How the numbers were made", ""] + [f"- {n}" for n in _notes(comp)] + [""]
    for key, rel in plots.items():
        out += [f"## {PLOTS[key]}", "", f"![{PLOTS[key]}]({rel})", ""]
    return "\n".join(out)


def render_html(comp: dict, pngs: dict[str, bytes]) -> str:
    e = html.escape
    rec = comp["recommendation"]
    h = header(comp)
    body = []
    for r, cells in zip(comp["rows"], rows(comp)):
        style = " class='rec'" if (r["student"], r["model"]) == (rec["student"], rec["model"]) else ""
        color = {"PASS": "#2e7d32", "FAIL": "#c62828"}.get(r["gate"], "#222")
        tds = "".join(f"<td>{e(c)}</td>" for c in cells[:-2])
        body.append(f"<tr{style}>{tds}<td style='color:{color};font-weight:bold'>{e(cells[-2])}</td>"
                    f"<td>{e(cells[-1])}</td></tr>")
    imgs = "".join(f"<h2>{e(PLOTS[k])}</h2><img alt='{e(PLOTS[k])}' "
                   f"src='data:image/png;base64,{base64.b64encode(v).decode('ascii')}'>" for k, v in pngs.items())
    students = "".join(f"<li>{e(line)}</li>" for line in _student_lines(comp))
    notes = "".join(f"<li>{e(n)}</li>" for n in _notes(comp))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bert-edge compare</title>
<style>
body {{ font-family: -apple-system, Segoe UI, Roboto, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f3f3f3; }} td:nth-child(-n+3) {{ text-align: left; }}
tr.rec td {{ background: #e8f5e9; font-weight: bold; }}
.rec-line {{ font-size: 18px; font-weight: bold; }}
img {{ max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }}
</style></head><body>
<h1>bert-edge compare: which student to ship</h1>
<p class="rec-line">Recommendation: {e(rec['text'])}.</p>
<p>Rule: {e(rec['rule'])}.</p>
<table><tr>{''.join(f'<th>{e(c)}</th>' for c in h)}</tr>
{''.join(body)}</table>
<h2>Students</h2><ul>{students}</ul>
<h2>How the numbers were made</h2><ul>{notes}</ul>
{imgs}
<p style="font-size:12px">Created {e(comp['created'])}, pipeline {e(comp['pipeline_version'])}.</p>
</body></html>
"""


def write_report(comp: dict, out_dir: str | Path) -> dict[str, Path]:
    """compare.json, report.md, report.html and the PNGs, swapped in whole."""
    from pipeline.fsutil import atomic_dir

    out_dir = Path(out_dir)
    pngs = make_plots(comp)
    with atomic_dir(out_dir, "compare report", REPORT_JSON) as tmp:
        rel = {}
        for k, data in pngs.items():
            (tmp / f"{k}.png").write_bytes(data)
            rel[k] = f"{k}.png"
        (tmp / REPORT_JSON).write_text(json.dumps(comp, indent=2) + "\n", encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(comp, rel), encoding="utf-8")
        (tmp / "report.html").write_text(render_html(comp, pngs), encoding="utf-8")
    return {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / REPORT_JSON,
            **{k: out_dir / f"{k}.png" for k in pngs}}


def summary(comp: dict, paths: dict) -> str:
    """The console table: the Markdown table plus the recommendation and where the report is."""
    h = header(comp)
    lines = ["", "bert-edge compare: " + comp["output_dir"], "| " + " | ".join(h) + " |", "|" + "---|" * len(h)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(comp)]
    lines += [""] + _student_lines(comp) + ["", f"recommendation: {comp['recommendation']['text']}",
                                             f"rule: {comp['recommendation']['rule']}",
                                             f"report: {paths['html']} (and {paths['md'].name}, plots beside it)"]
    return "\n".join(lines)
