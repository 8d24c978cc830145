"""Quick latency measurement of one model on one fixed input (reusable by `bert-edge bench`).

`measure(fn, runs, warmup)` times a zero-argument callable; `runner_latency(path, inputs)` loads
an artifact (or HF directory) with a given thread count through `converters.runtimes` and times
single-example inference on it. Numbers are wall-clock milliseconds on this host: good enough to
compare models with each other on the same machine, not a phone benchmark.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np


def measure(fn: Callable[[], object], runs: int = 5, warmup: int = 1) -> dict:
    """Call `fn` `warmup` times untimed, then `runs` times timed; milliseconds."""
    for _ in range(max(0, warmup)):
        fn()
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {
        "runs": len(times),
        "median_ms": round(statistics.median(times), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "min_ms": round(min(times), 3),
        "max_ms": round(max(times), 3),
    }


@contextlib.contextmanager
def torch_threads(n: Optional[int]):
    """Temporarily set torch's intra-op thread count (the lite interpreter and HF models use it)."""
    if not n:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def one_example(inputs: dict[str, np.ndarray], index: int = 0) -> tuple[np.ndarray, ...]:
    """Row `index` of fixed-padded int32 inputs as three [1, L] arrays (what the phone runs)."""
    from pipeline.data.tokenize import INPUT_NAMES

    return tuple(np.ascontiguousarray(inputs[k][index:index + 1]) for k in INPUT_NAMES)


def runner_latency(path: str | Path, example: tuple[np.ndarray, ...], runs: int = 5,
                   warmup: int = 1, num_threads: int = 1, runner=None) -> dict:
    """Latency of batch-1 inference of the model at `path` with `num_threads` threads.

    A fresh runner is loaded with that thread count unless `runner` is given (then its own
    thread setting applies to ONNX/TFLite; torch-based runners get `num_threads` here)."""
    from converters.runtimes import load_runner

    with torch_threads(num_threads):
        r = runner if runner is not None else load_runner(path, num_threads=num_threads)
        stats = measure(lambda: r.logits(*example), runs=runs, warmup=warmup)
    stats["threads"] = num_threads
    return stats
