"""Render benchmark results: bench.json, a Markdown table, a plot, and the README section."""
from __future__ import annotations

import re

from converters.backends import REGISTRY
from converters.hostinfo import cpu_summary
from pathlib import Path

from pipeline.fsutil import atomic_path, write_json_atomic, write_text_atomic

README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"

LABELS = {
    "bert_base_fp32": "BERT-base (random weights) fp32", "teacher_fp32": "teacher fp32",
    "student_fp32": "student fp32", "ort_int8": "student ORT dynamic int8",
    **{b.id: b.label for b in REGISTRY.values()},
}


def _ms(r: dict, key: str, field: str = "p50_ms") -> str:
    v = r.get(key, {})
    if "error" in v:
        return "error"
    return f"{v[field]:.1f}" if field in v else "-"


def markdown(bench: dict) -> str:
    threads, seqs = bench["threads"], bench["seqs"]
    s0 = seqs[0]
    head = ["model", "runtime", "size MB", "params M", "accuracy"]
    for t in threads:
        head += [f"p50 ms {t}T L{s0}", f"p90 ms {t}T L{s0}"]
    for s in seqs[1:]:
        head += [f"p50 ms {threads[0]}T L{s}"]
    real = any(f"t{t}_real" in m["results"] for m in bench["models"] for t in threads)
    if real:
        t = threads[0]
        head += [f"real-length mean / p50 / p90 ms {t}T", f"padded-{s0} mean ms {t}T", "real / padded"]
    head += ["peak RSS MB", "model RSS MB"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in bench["models"]:
        r = m["results"]
        acc = f"{m['accuracy'] * 100:.2f}%" if m.get("accuracy") is not None else "-"
        cells = [LABELS.get(m["name"], m["name"]), m["runtime"], f"{m['size_bytes'] / 1e6:.1f}",
                 f"{m['params'] / 1e6:.1f}", acc]
        for t in threads:
            cells += [_ms(r, f"t{t}_s{s0}"), _ms(r, f"t{t}_s{s0}", "p90_ms")]
        for s in seqs[1:]:
            cells += [_ms(r, f"t{threads[0]}_s{s}")]
        if real:
            cells += _real_cells(r.get(f"t{threads[0]}_real"))
        k = f"t{threads[0]}_s{s0}"
        cells += [f"{r.get(k, {}).get('peak_rss_mb', '-')}", f"{r.get(k, {}).get('model_rss_mb', '-')}"]
        rows.append("| " + " | ".join(cells) + " |")
    lines = rows + ["", *goal_lines(bench)]
    return "\n".join(lines) + "\n"


def _real_cells(v) -> list[str]:
    if not v:
        return ["-", "-", "-"]
    if "error" in v:
        return ["error", "-", "-"]
    r, f = v["real"], v["fixed"]
    return [f"{r['mean_ms']:.1f} / {r['p50_ms']:.1f} / {r['p90_ms']:.1f}", f"{f['mean_ms']:.1f}",
            f"{v['mean_ratio']:.2f}"]


def goal_lines(bench: dict) -> list[str]:
    g, out = bench.get("goals", {}), []
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    if "speedup_vs_bert_base" in g:
        s, z = g["speedup_vs_bert_base"], g["size_ratio_vs_bert_base"]
        out.append(f"- int8 TFLite student vs BERT-base fp32 (1 thread): **{s['value']}x faster** "
                   f"(goal {s['goal']:.0f}x, {mark(s['met'])}; TinyBERT paper: {s['tinybert_claim']}x), "
                   f"**{z['value']}x smaller** (goal {z['goal']:.0f}x, {mark(z['met'])}; paper: {z['tinybert_claim']}x).")
    if "tflite_int8_real_vs_fixed" in g:
        c = g["tflite_int8_real_vs_fixed"]
        parts = [f"{_threads(k)}: {v['real_mean_ms']:.1f} vs {v['fixed_mean_ms']:.1f} ms = {v['ratio']:.2f}, "
                 f"same prediction on {100 * v['same_predictions']:.1f}% of {v['sentences']} sentences "
                 f"({v['mean_tokens']:.1f} tokens on average)" for k, v in c["value"].items()]
        out.append(f"- int8 TFLite per sentence (tokenize + infer) at real length vs padded to "
                   f"{bench['seqs'][0]}: {'; '.join(parts)}; goal <= {c['goal']} with identical "
                   f"predictions {mark(c['met'])}.")
    if "tflite_int8_vs_ort_int8" in g:
        c = g["tflite_int8_vs_ort_int8"]
        parts = [f"{_threads(k)}: {v['tflite_int8_ms']:.1f} vs {v['ort_int8_ms']:.1f} ms" for k, v in c["value"].items()]
        out.append(f"- int8 TFLite vs onnxruntime dynamic int8 ({'; '.join(parts)}): goal 'at least as fast' {mark(c['met'])}.")
    if "tflite_int8_gflops" in g:
        cpu = bench["machine"]
        gf = g["tflite_int8_gflops"]["value"]
        peaks = bench.get("sgemm_gflops", {})
        core_peak = cpu.get("fp32_peak_gflops_per_core")
        int8_core = 4 * core_peak if core_peak and cpu.get("avx512_vnni") else None
        parts = []
        for k, v in gf.items():
            n = k.split()[0]  # "2 thread(s)" -> "2", the key of sgemm_gflops
            share = f", {100 * v / (int8_core * int(n)):.0f}% of the int8 VNNI peak" if int8_core else ""
            parts.append(f"{_threads(k)}: {v} GFLOP/s{share} (fp32 SGEMM measured here: {peaks.get(n, '?')})")
        out.append(f"- Achieved by the int8 TFLite student: {'; '.join(parts)}. Peaks at the nominal "
                   f"{cpu.get('mhz') or 0:.0f} MHz: fp32 {core_peak} GFLOP/s per core "
                   f"({'AVX-512' if cpu.get('fp32_flops_per_cycle') == 64 else 'AVX2'}, 2 FMA units)"
                   f"{f', int8 {int8_core:.0f} (VNNI, 4x)' if int8_core else ''}; a measured SGEMM above the fp32 "
                   "figure means the core ran at turbo clock.")
    return out


def _threads(key: str) -> str:
    """'1 thread(s)' -> '1 thread', '2 thread(s)' -> '2 threads' (bench.json keeps the old keys)."""
    n = key.split()[0]
    return f"{n} thread" + ("" if n == "1" else "s")


def plot(bench: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = f"t{bench['threads'][0]}_s{bench['seqs'][0]}"
    fig, ax = plt.subplots(figsize=(8, 5))
    for m in bench["models"]:
        lat = m["results"].get(key, {}).get("p50_ms")
        if not lat:
            continue
        acc = m.get("accuracy")
        y = acc * 100 if acc is not None else None
        size_mb = m["size_bytes"] / 1e6
        if y is None:
            ax.axvline(lat, color="grey", ls="--", lw=1)
            ax.text(lat, ax.get_ylim()[0], f" {m['name']} ({size_mb:.0f} MB)", rotation=90, va="bottom", fontsize=8)
            continue
        ax.scatter(lat, y, s=max(size_mb * 4, 20), alpha=0.5)
        ax.annotate(f"{m['name']}\n{size_mb:.1f} MB", (lat, y), fontsize=8, ha="center", va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel(f"p50 latency, ms (batch 1, {bench['threads'][0]} thread, seq {bench['seqs'][0]}, log scale)")
    ax.set_ylabel("accuracy, %")
    ax.set_title("Latency vs accuracy (bubble area = size on disk)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_outputs(bench: dict, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = markdown(bench)
    write_json_atomic(out_dir / "bench.json", bench)
    write_text_atomic(out_dir / "bench.md", md)
    plot(bench, out_dir / "bench.png")
    return {"json": out_dir / "bench.json", "md": out_dir / "bench.md", "png": out_dir / "bench.png"}


def check_readme(readme: Path) -> None:
    """Before benchmarking: the README exists, is UTF-8, has the section, and can be rewritten."""
    from pipeline.errors import BertEdgeError
    from pipeline.outdir import check_writable_file

    if not readme.is_file():
        raise BertEdgeError(f"--update-readme {readme}: file not found")
    try:
        text = readme.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BertEdgeError(f"--update-readme {readme}: not UTF-8 text") from None
    if README_BEGIN not in text or README_END not in text:
        raise BertEdgeError(f"--update-readme {readme}: no '{README_BEGIN}' ... '{README_END}' section to update")
    check_writable_file(readme, "--update-readme")


def update_readme(readme: Path, bench: dict, command: str) -> None:
    """Replace the README's results section (between the bench markers) with this run."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        from pipeline.errors import BertEdgeError

        raise BertEdgeError(f"{readme}: no '{README_BEGIN}' ... '{README_END}' section to update")
    m = bench["machine"]
    section = (f"{README_BEGIN}\nMeasured {bench['date']} on {cpu_summary(m) if 'flags' in m else m['cpu']}, "
               f"batch 1, `{command}`:\n\n{markdown(bench)}{README_END}")
    text = re.sub(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), lambda _: section, text, flags=re.S)
    write_text_atomic(readme, text)
