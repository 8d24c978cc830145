#!/usr/bin/env python
"""Which activations set a BERT student's full-int8 scales, and which int8 points cost it.

1. Outliers: per LayerNorm input (the residual stream), over the converter's calibration
   sample (same texts, seed and padding as `bert-edge convert`), the max |x|, its channel, the
   median per-channel max, and which real tokens go above --threshold. One token carrying a
   huge channel (BERT students: [CLS]) is what converters/cls_split.py gives its own tensors.
2. --ablate: the PyTorch simulation of the full-int8 file (converters/qat.py) on the --eval
   texts at real length, with one group of int8 points at a time left in float ("all but") or
   alone quantized ("only"): argmax agreement, flips and mean |logit diff| against the float
   student. --cls-split simulates the split graph the converter now builds.

  python scripts/full_int8_outliers.py --model runs/sst2/student \\
      --calibration ../shared/data/sst2/train.tsv --eval ../shared/data/sst2/dev.tsv --ablate
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _group(name: str) -> str:
    """A quantization point's kind, from its module path in the simulated model."""
    leaf, parent = name.split(".")[-1], name.split(".")[-2]
    if "int8_points" in name:
        return "attention." + leaf
    if "LayerNorm" in name:
        return "layernorm." + leaf
    if parent == "intermediate_act_fn":
        return "gelu"
    if parent in ("query", "key", "value"):
        return "linear.qkv"
    if parent == "dense":
        return "linear." + name.split(".")[-3]
    return "linear." + parent


def outliers(model, tokenizer, batches, threshold: float) -> None:
    import torch

    seen: dict = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: seen.setdefault(n, []).append(inp[0]))
             for n, m in model.named_modules() if isinstance(m, torch.nn.LayerNorm)]
    with torch.no_grad():
        for b in batches:
            model(**b)
    for h in hooks:
        h.remove()
    mask = torch.cat([b["attention_mask"] for b in batches]).bool()
    ids = torch.cat([b["input_ids"] for b in batches])
    print(f"{'LayerNorm input':50s} {'max|x|':>8s} {'channel':>7s} {'median ch max':>13s}  "
          f"real tokens above {threshold:g}")
    for name, xs in seen.items():
        x = torch.cat(xs)  # [N, L, H]
        per_channel = x.abs().amax(dim=(0, 1))
        token_max = x.abs().amax(-1)
        big = (token_max > threshold) & mask
        common = Counter(tokenizer.convert_ids_to_tokens(ids[big].tolist())).most_common(4)
        print(f"{name:50s} {float(per_channel.max()):8.1f} {int(per_channel.argmax()):7d} "
              f"{float(per_channel.median()):13.2f}  {int(big.sum())} of {int(mask.sum())}"
              + (f": {', '.join(f'{t} {c}' for t, c in common)}" if common else ""))


def ablate(model, tokenizer, batches, texts, cls_split: bool) -> None:
    import numpy as np
    import torch

    from converters import qat
    from converters.tflite import FULL_INT8_MASK_VALUE

    order = np.argsort([len(t) for t in texts])
    evals = [tokenizer([texts[j] for j in order[i:i + 32]], padding=True, truncation=True,
                       max_length=batches[0]["input_ids"].shape[1], return_tensors="pt")
             for i in range(0, len(texts), 32)]

    def logits(m):
        with torch.no_grad():
            out = torch.cat([m(**b).logits for b in evals]).numpy()
        res = np.empty_like(out)
        res[order] = out
        return res

    ref = logits(model)
    sim = qat.Simulated(copy.deepcopy(model), FULL_INT8_MASK_VALUE, cls_split)
    sim.calibrate(batches)
    point_type = type(sim.points[0])
    groups: dict = {}
    for name, m in sim.model.named_modules():
        if isinstance(m, point_type):
            groups.setdefault(_group(name), []).append(m)
    original = point_type._quantize

    def run(off) -> str:
        skip = {id(m) for m in off}
        point_type._quantize = lambda self, x, part: x if id(self) in skip else original(self, x, part)
        try:
            q = logits(sim.model)
        finally:
            point_type._quantize = original
        flips = int((q.argmax(1) != ref.argmax(1)).sum())
        return (f"agreement {100 * (1 - flips / len(q)):6.2f}%  flips {flips:3d}  "
                f"mean |dlogit| {np.abs(q - ref).mean():.4f}")

    print(f"\nsimulated full int8 ({'[CLS] split' if cls_split else 'one tensor per activation'}, "
          f"{len(texts)} texts at real length; weights always quantized)")
    print(f"{'all points':34s} {run([])}")
    everything = [m for ms in groups.values() for m in ms]
    for g in sorted(groups):
        print(f"{'all but ' + g:34s} {run(groups[g])}")
    for g in sorted(groups):
        print(f"{'only ' + g:34s} {run([m for m in everything if m not in groups[g]])}")


def main(argv=None) -> int:
    from converters.common import DEFAULT_MAX_SEQ_LENGTH, DEFAULT_NUM_CALIBRATION

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="student dir (Hugging Face BERT classifier)")
    p.add_argument("--calibration", required=True, help="texts the converter calibrates on "
                   "(TSV/CSV/JSONL/txt, e.g. the training file)")
    p.add_argument("--num-calibration", type=int, default=DEFAULT_NUM_CALIBRATION,
                   help=f"texts sampled (default {DEFAULT_NUM_CALIBRATION})")
    p.add_argument("--max-seq-length", type=int, default=DEFAULT_MAX_SEQ_LENGTH,
                   help=f"padded length (default {DEFAULT_MAX_SEQ_LENGTH})")
    p.add_argument("--threshold", type=float, default=20.0, help="|x| that counts as an outlier")
    p.add_argument("--ablate", action="store_true", help="also run the simulation ablation")
    p.add_argument("--eval", help="texts for --ablate (default: the calibration file)")
    p.add_argument("--cls-split", action="store_true", help="simulate the [CLS]-split graph")
    a = p.parse_args(argv)

    import numpy as np
    import torch

    from converters import validate
    from converters.common import INPUT_NAMES
    from converters.convert import sample_calibration_texts
    from converters.student import load_student
    from pipeline.data import load_texts

    try:
        student = load_student(a.model, a.max_seq_length)
        texts, _ = sample_calibration_texts(load_texts(a.calibration), a.num_calibration)
        eval_texts = load_texts(a.eval) if a.eval else texts
    except Exception as e:  # a bad path or file: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    if student.model_type != "bert":
        print(f"error: {a.model} is a {student.model_type} student; this script reads BERT's "
              "LayerNorms", file=sys.stderr)
        return 2
    enc = validate.encode(student.tokenizer, texts, a.max_seq_length)
    batches = [{k: torch.as_tensor(np.asarray(enc[k][i:i + 20]), dtype=torch.long)
                for k in INPUT_NAMES} for i in range(0, len(texts), 20)]
    model = student.model.eval()
    outliers(model, student.tokenizer, batches, a.threshold)
    if a.ablate:
        ablate(model, student.tokenizer, batches, eval_texts, a.cls_split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
