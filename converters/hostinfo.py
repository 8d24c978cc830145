"""What CPU this runs on, in the terms that decide int8 numerics and speed.

Training numerics and int8 kernels differ between CPU kinds (AVX2 vs AVX-512 VNNI on x86, NEON
dotprod/i8mm on ARM), so every figure the project prints carries this line.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

# /proc/cpuinfo flags that select different int8/fp32 kernels in oneDNN, fbgemm and XNNPACK.
KERNEL_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8",  # x86
                "asimddp", "i8mm", "sve")  # arm64 (dotprod, int8 matmul)
# Environment variables that force other kernels (PyTorch, oneDNN, MKL).
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def cpu_info() -> dict:
    name, mhz, flags = platform.processor() or "?", None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model name") and name in ("?", "", "x86_64", "aarch64"):
                name = value.strip()
            elif key == "cpu MHz" and mhz is None:
                mhz = float(value)
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except (OSError, ValueError):
        pass
    # fp32 FLOPs per cycle per core: AVX-512 with 2 FMA ports = 64, AVX2 = 32.
    per_cycle = 64 if "avx512f" in flags else 32 if "avx2" in flags else 8
    info = {"cpu": name, "arch": platform.machine(), "cores": os.cpu_count(), "mhz": mhz,
            "flags": [f for f in KERNEL_FLAGS if f in flags],
            "fp32_flops_per_cycle": per_cycle, "avx512_vnni": "avx512_vnni" in flags,
            "amx_int8": "amx_int8" in flags,
            "fp32_peak_gflops_per_core": round(mhz * per_cycle / 1e3, 1) if mhz else None,
            "kernel_env": {k: os.environ[k] for k in KERNEL_ENV if os.environ.get(k)}}
    try:
        import torch

        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:  # torch missing or too old: the flags still tell
        pass
    return info


def cpu_summary(info: dict | None = None) -> str:
    """One line: model, the kernel-deciding flags, torch's kernel level and forced settings."""
    info = info or cpu_info()
    text = f"{info['cpu']} ({info['cores']} cores; {' '.join(info['flags']) or 'no SIMD flags read'})"
    if info.get("torch_cpu_capability"):
        text += f", torch kernels {info['torch_cpu_capability']}"
    if info.get("kernel_env"):
        text += ", " + " ".join(f"{k}={v}" for k, v in info["kernel_env"].items())
    return text
