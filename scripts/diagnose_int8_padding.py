#!/usr/bin/env python
"""Why a dynamic-int8 .ptl moved with its padding: per-tensor activation scales, shown with numbers.

PyTorch's dynamic int8 Linear (the lite interpreter's QNNPACK kernels) quantizes each input
tensor with one scale, max|x| / 127 over every position of the tensor. This script prints, for
one validation sentence padded to max_seq_length, the largest |activation| entering each
quantized Linear over the real tokens alone and over all positions (padding included), and the
mask-probe and parity numbers of the padded graph (the old .ptl) next to the graph that cuts the
trailing padding (the current .ptl). Pure PyTorch, no artifact written.

  python scripts/diagnose_int8_padding.py --model runs/demo/student
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a distilled student directory")
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--case", type=int, default=None,
                    help="validation row to show per-layer scales for (default: the worst probe row)")
    args = ap.parse_args(argv)

    import warnings

    import numpy as np
    import torch

    from converters.common import INPUT_NAMES
    from converters.onnx_export import make_wrapper
    from converters.student import load_student
    from converters.real_length import trailing_context
    from converters.torchscript_mobile import (quantize_student, quantized_engine,
                                               trim_padding_module)
    from converters.validate import build_validation_set, compute_reference
    from converters.hostinfo import cpu_summary

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    L = args.max_seq_length
    student = load_student(args.model, L)
    vset = build_validation_set(student.tokenizer, L)
    compute_reference(vset, student.model)
    print(f"CPU: {cpu_summary()} "
)

    def logits(fn, arrays):
        with torch.no_grad():
            return np.concatenate([fn(*[torch.from_numpy(arrays[k][i:i + 1].copy()) for k in INPUT_NAMES]).numpy()
                                   for i in range(arrays["input_ids"].shape[0])])

    def numbers(fn):
        got, probe = logits(fn, vset.arrays), logits(fn, vset.probe_arrays)
        moved = np.abs((probe - got[vset.probe_rows])
                       - (vset.probe_reference - vset.reference[vset.probe_rows])).max(1)
        return float(np.abs(got - vset.reference).max()), moved

    scale = float(np.abs(vset.reference).max())
    with quantized_engine() as engine:
        q = quantize_student(student.model)
        padded = make_wrapper(q)
        with torch.no_grad():
            traced = torch.jit.trace(padded, tuple(torch.from_numpy(vset.arrays[k][:1].copy())
                                                   for k in INPUT_NAMES), check_trace=False)
        trimmed = trim_padding_module(traced, trailing_context(student.model_type))
        diff_p, moved_p = numbers(padded)
        diff_t, moved_t = numbers(trimmed)
        row = args.case if args.case is not None else vset.probe_rows[int(moved_p.argmax())]
        n = int(vset.arrays["attention_mask"][row].sum())
        print(f"quantized engine {engine}; max |float logit| {scale:.3f}")
        print(f"{'graph':<34}{'max|dlogit| vs float':>22}{'mask probe (pads moved logits by)':>36}")
        print(f"{'padded to ' + str(L) + ' (old .ptl)':<34}{diff_p:>22.3g}{moved_p.max():>36.3g}")
        print(f"{'trailing padding cut (new .ptl)':<34}{diff_t:>22.3g}{moved_t.max():>36.3g}")

        # Per-Linear input range on one row: real tokens only vs all positions, [PAD] pads vs
        # the probe's pads (the sentence repeated). The int8 step is max|x| / 127 per tensor.
        seen: dict = {}

        def hook(name):
            def f(_m, inp, _out):
                seen.setdefault(name, []).append(inp[0].detach().abs()[0])
            return f

        handles = [m.register_forward_hook(hook(nm)) for nm, m in q.named_modules()
                   if type(m).__name__ == "Linear" and "quantized" in type(m).__module__]
        for arrays in (vset.arrays, vset.probe_arrays):
            r = row if arrays is vset.arrays else vset.probe_rows.index(row)
            with torch.no_grad():
                padded(*[torch.from_numpy(arrays[k][r:r + 1].copy()) for k in INPUT_NAMES])
        for h in handles:
            h.remove()
    print(f"\nper-tensor activation range entering each int8 Linear, {vset.kinds[row]} padded to {L}:")
    print(f"{'Linear':<42}{'real tokens':>12}{'+[PAD] pads':>12}{'+probe pads':>12}")
    for name, (pad_run, probe_run) in ((k, v) for k, v in seen.items() if len(v) == 2):
        real = float(pad_run[:n].max()) if pad_run.dim() > 1 else float(pad_run.max())
        print(f"{name:<42}{real:>12.3f}{float(pad_run.max()):>12.3f}{float(probe_run.max()):>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
