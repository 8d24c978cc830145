"""The int8 conversions and their validation under another CPU's kernels.

int8 numerics depend on the kernels a CPU selects (AVX-512 VNNI, AVX2, SSE; NEON on a phone).
The chain once passed on the CPU it was tuned on and failed on the next one, so this converts a
tiny student twice, here with this machine's kernels and in a subprocess forced down to
PyTorch's portable kernels (ATEN_CPU_CAPABILITY=default, oneDNN/MKL capped at SSE4), and checks
that both pass validation, that the padded-position probe is exactly zero where the design says
so, and that the two machines' artifacts agree within the int8 validation tolerance.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_converters import CAL_TEXTS, INPUTS, L, _cases, make_student

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("tflite_int8", "tflite_int8_full", "ptl_int8")
OTHER_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                 "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}


@pytest.fixture(scope="module")
def two_cpus(tmp_path_factory):
    from converters import convert_all

    root = tmp_path_factory.mktemp("kernels")
    student = make_student(root / "student", "bert")
    cal = root / "cal.txt"
    cal.write_text("\n".join(CAL_TEXTS) + "\n", encoding="utf-8")
    here = root / "here"
    convert_all(student, here, targets=list(TARGETS), max_seq_length=L, calibration_texts=CAL_TEXTS,
                num_calibration=8, progress=False)
    other = root / "other"
    env = dict(os.environ, **OTHER_KERNELS, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "convert", "--model", str(student), "--out", str(other),
         "--targets", ",".join(TARGETS), "--max-seq-length", str(L), "--calibration-data", str(cal),
         "--num-calibration", "8", "--no-progress", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((other / "convert.json").read_text())
    return {"student": student, "here": here, "other": other, "other_report": report}


def test_other_kernels_were_used(two_cpus):
    host = two_cpus["other_report"]["host"]
    assert host["cpu"]["kernel_env"] == OTHER_KERNELS
    assert host["cpu"]["torch_cpu_capability"] == "DEFAULT"


@pytest.mark.parametrize("backend", TARGETS)
def test_int8_validation_passes_under_other_kernels(two_cpus, backend):
    from converters import ARTIFACTS

    entry = two_cpus["other_report"]["artifacts"][backend]
    v = entry["validation"]
    assert v["passed"] and (two_cpus["other"] / ARTIFACTS[backend]).is_file()
    if backend != "tflite_int8_full":  # full int8 is measured, not gated, at conversion
        assert v["max_abs_diff"] <= v["tolerance"]
    # Per-row (TFLite) and cut-padding (.ptl) dynamic int8 cannot see what the padding holds.
    if backend in ("tflite_int8", "ptl_int8"):
        assert v["mask_probe_max_abs_diff"] == 0.0


@pytest.mark.parametrize("backend", TARGETS)
def test_artifacts_of_both_kernel_kinds_agree(two_cpus, backend):
    """Artifacts built from one student with different kernels give the same predictions."""
    from converters import ARTIFACTS, load_runner
    from converters.validate import TOLERANCES

    arrays, names = _cases(two_cpus["student"])
    args = [arrays[k] for k in INPUTS]
    ref = load_runner(two_cpus["student"]).logits(*args)
    a = load_runner(two_cpus["here"] / ARTIFACTS[backend], num_threads=1).logits(*args)
    b = load_runner(two_cpus["other"] / ARTIFACTS[backend], num_threads=1).logits(*args)
    tol = TOLERANCES[backend] or (0.05, 0.25)  # full int8: same calibration, same static scales
    bound = tol[0] + tol[1] * float(np.abs(ref).max())
    assert np.abs(a - b).max() <= bound, dict(zip(names, np.abs(a - b).max(1).round(4)))


def test_ptl_output_does_not_depend_on_padding(two_cpus):
    """The .ptl cuts trailing padding in its graph: the same sentence padded to any length, with
    any pad ids, gives bit-identical logits (per-tensor dynamic int8 scales see no padding)."""
    import torch
    from torch.jit.mobile import _load_for_lite_interpreter

    from converters import ARTIFACTS
    from converters.torchscript_mobile import quantized_engine

    arrays, _ = _cases(two_cpus["student"])
    row = 0
    n = int(arrays["attention_mask"][row].sum())
    with quantized_engine():
        m = _load_for_lite_interpreter(str(two_cpus["here"] / ARTIFACTS["ptl_int8"]))

        def run(length, pad_id):
            t = {k: torch.from_numpy(arrays[k][row:row + 1, :length].copy()) for k in INPUTS}
            t["input_ids"][0, n:] = pad_id
            with torch.no_grad():
                return m(*(t[k] for k in INPUTS)).numpy()

        real = run(n, 0)
        for length, pad_id in ((L, 0), (L, 7), (n + 3, 11)):
            np.testing.assert_array_equal(run(length, pad_id), real)
