#!/usr/bin/env python
"""Where a full-int8 TFLite loses accuracy: per-tensor error against the fp32 TFLite.

Runs the two files of one conversion (`bert-edge convert` writes both) on sentences at their
real length with every intermediate tensor kept, dequantizes each int8 tensor with its own
scale and zero point, and prints, in execution order, the relative RMS error
rms(int8 - fp32) / rms(fp32) of each tensor the two graphs share by name, with its int8 step
and the fp32 range. A jump between consecutive rows is the op that loses the precision.
The files' graphs differ where converters/int8_graph.py rewrote LayerNorm and GELU; those
tensors have no partner and are skipped. `--kernels` also runs the int8 file with LiteRT's
builtin kernels (no delegate) and prints the max logit difference to the default (XNNPACK) kernels.

  python scripts/diagnose_full_int8.py --convert-dir runs/demo/convert --texts dev.tsv
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _run(path: str, feeds: list, resolver=None) -> list:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=path, num_threads=1, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=resolver or OpResolverType.AUTO)
    inputs = {d["name"]: d for d in it.get_input_details()}
    out = []
    for feed in feeds:
        for name, arr in feed.items():
            it.resize_tensor_input(inputs[name]["index"], list(arr.shape))
        it.allocate_tensors()
        for name, arr in feed.items():
            it.set_tensor(inputs[name]["index"], arr)
        it.invoke()
        values = {}
        for t in it.get_tensor_details():
            try:
                x = it.get_tensor(t["index"])
            except ValueError:
                continue
            scale, zero = t["quantization"]
            if x.dtype == np.int8 and scale:
                x = (x.astype(np.float32) - zero) * scale
            elif x.dtype != np.float32:
                continue
            values[t["name"]] = (t["index"], np.array(x, np.float32), scale)
        out.append(values)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--convert-dir", required=True,
                    help="a conversion output with model_fp32.tflite and model_int8_full.tflite")
    ap.add_argument("--model", help="student dir for the tokenizer (default: convert.json's)")
    ap.add_argument("--texts", help="TSV/CSV/JSONL/text file of sentences (default: built-in)")
    ap.add_argument("--n", type=int, default=24, help="sentences to run (default 24)")
    ap.add_argument("--kernels", action="store_true",
                    help="also compare XNNPACK with LiteRT's builtin kernels (no delegate)")
    args = ap.parse_args(argv)

    import json
    import warnings

    import numpy as np

    from converters.common import INPUT_NAMES
    from converters.student import load_student
    from converters.validate import VALIDATION_TEXTS, encode

    warnings.filterwarnings("ignore")
    conv = Path(args.convert_dir)
    fp32, int8 = conv / "model_fp32.tflite", conv / "model_int8_full.tflite"
    for f in (fp32, int8):
        if not f.is_file():
            print(f"error: {f} does not exist (convert with both tflite_fp32 and tflite_int8_full)",
                  file=sys.stderr)
            return 2
    report = json.loads((conv / "convert.json").read_text()) if (conv / "convert.json").is_file() else {}
    model_dir = args.model or report.get("model_dir")
    if not model_dir:
        print("error: pass --model (no convert.json with model_dir)", file=sys.stderr)
        return 2
    student = load_student(model_dir)
    texts = list(VALIDATION_TEXTS)
    if args.texts:
        from pipeline.data.readers import read_rows

        _, rows = read_rows(args.texts)
        key = next((k for k in ("sentence", "text", "sentence1") if rows and k in rows[0][1]), None)
        if key is None:
            print(f"error: {args.texts}: no sentence/text column", file=sys.stderr)
            return 2
        texts = [r[key] for _, r in rows]
    texts = texts[: args.n]
    enc = encode(student.tokenizer, texts, int(report.get("max_seq_length") or 128))
    feeds = []
    for i in range(len(texts)):
        k = int(enc["attention_mask"][i].sum())
        feeds.append({n: enc[n][i:i + 1, :k] for n in INPUT_NAMES})
    a, b = _run(str(fp32), feeds), _run(str(int8), feeds)
    rows = []
    for name, (idx, x, scale) in b[0].items():
        if name not in a[0] or a[0][name][1].shape != x.shape:
            continue
        err = np.mean([((vb[name][1] - va[name][1]) ** 2).mean() for va, vb in zip(a, b)])
        ref = np.mean([(va[name][1] ** 2).mean() for va in a])
        rows.append((idx, name, float(np.sqrt(err / max(ref, 1e-20))), scale,
                     float(np.abs(a[0][name][1]).max())))
    print(f"{len(texts)} sentences at their real length; int8 vs fp32 per tensor "
          f"(relative RMS error, int8 step, fp32 max|x| on the first sentence)")
    print(f"{'#':>4} {'rel err':>8} {'step':>9} {'max|x|':>8}  tensor")
    for idx, name, rel, scale, mx in sorted(rows):
        print(f"{idx:4d} {rel:8.3f} {scale:9.3g} {mx:8.3g}  {name[:90]}")
    if args.kernels:
        from ai_edge_litert.interpreter import OpResolverType

        ref = _run(str(int8), feeds, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        worst = max(float(np.abs(r["logits"][1] - d["logits"][1]).max())
                    for r, d in zip(ref, b) if "logits" in r)
        print(f"XNNPACK vs builtin kernels: max |logit diff| {worst:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
