"""Names, errors and bookkeeping shared by every converter module.

Nothing here imports torch or TensorFlow: the CLI imports this module to parse `--targets`.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from converters.errors import BertEdgeError

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "logits"
DEFAULT_MAX_SEQ_LENGTH = 128
# Calibration sentences for int8 (the pipeline's convert.num_calibration default too).
DEFAULT_NUM_CALIBRATION = 200
REPORT_NAME = "convert.json"

from converters.backends import ARTIFACTS, BACKENDS, ids  # noqa: E402  (the one backend table)

TFLITE_BACKENDS = ids(format="tflite")
PTE_BACKENDS = ids(format="pte")


class ConversionError(BertEdgeError):
    """A conversion step failed. `str()` is the one-line user message."""

    def __init__(self, step: str, reason: str, op: Optional[str] = None,
                 debug_dir: Optional[str | os.PathLike] = None):
        self.step, self.reason, self.op = step, _one_line(reason), op
        self.debug_dir = str(debug_dir) if debug_dir else None
        super().__init__(self._message())

    def _message(self) -> str:
        msg = f"convert step '{self.step}' failed"
        if self.op:
            msg += f" on op {self.op}"
        msg += f": {self.reason}"
        if self.debug_dir:
            msg += f" (intermediate files kept in {self.debug_dir})"
        return msg

    def with_debug_dir(self, debug_dir) -> "ConversionError":
        self.debug_dir = str(debug_dir)
        self.args = (self._message(),)
        return self


def _one_line(text: str, limit: int = 400) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode_fixed(tokenizer, texts: Sequence[str], pairs: Optional[Sequence[str]] = None,
                 max_length: int = DEFAULT_MAX_SEQ_LENGTH) -> dict:
    """int32 arrays [n, max_length] padded to the full length, as the exported graphs take them."""
    import numpy as np

    enc = tokenizer(list(texts), list(pairs) if pairs else None, padding="max_length",
                    truncation=True, max_length=max_length, return_token_type_ids=True,
                    return_attention_mask=True)
    return {k: np.asarray(enc[k], dtype=np.int32) for k in INPUT_NAMES}


def parse_targets(spec: str | Iterable[str] | None) -> list[str]:
    """'all', None, 'tflite_int8,ptl_int8' or a list -> backend ids in conversion order."""
    if spec is None:
        return list(BACKENDS)
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    items = [s for s in items if s]
    if not items or items == ["all"]:
        return list(BACKENDS)
    unknown = [s for s in items if s not in ARTIFACTS]
    if unknown:
        raise BertEdgeError(f"unknown convert target(s) {', '.join(unknown)} "
                            f"(choose from {', '.join(BACKENDS)}, or 'all')")
    return [b for b in BACKENDS if b in items]


_native_log: Optional[Path] = None  # set by convert_all: where native (C++) stderr goes


def set_native_log(path: Optional[str | os.PathLike]) -> None:
    global _native_log
    _native_log = Path(path) if path else None


@contextlib.contextmanager
def native_stderr():
    """Send what C/C++ code writes to file descriptor 2 (TensorFlow/absl start-up lines, MLIR
    and calibration chatter, LiteRT delegate notices) to the conversion's log file instead of
    the terminal, while a conversion runs. No-op unless convert_all set a log file."""
    if _native_log is None:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with open(_native_log, "ab") as target:
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except ValueError:
                pass
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Silence TF/absl start-up noise; must run before TensorFlow is imported to take effect."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def quiet_executorch() -> None:
    """torchao logs a WARNING per CUDA/Triton kernel library a CPU wheel lacks, and torch's
    pytree one per enum ExecuTorch registers, on every import: nothing a user can act on."""
    import logging

    for name in ("torchao", "torchao.kernel.intmm", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass
class StepLog:
    """Per-step wall times for the conversion report."""

    seconds: dict = field(default_factory=dict)
    cpu_seconds: dict = field(default_factory=dict)  # process CPU time (all threads)
    t0: float = field(default_factory=time.perf_counter)

    def add(self, name: str, seconds: float, cpu: float = 0.0) -> None:
        self.seconds[name] = round(self.seconds.get(name, 0.0) + seconds, 3)
        self.cpu_seconds[name] = round(self.cpu_seconds.get(name, 0.0) + cpu, 3)

    def total(self) -> float:
        return round(time.perf_counter() - self.t0, 3)


def file_size(path: str | Path) -> int:
    return Path(path).stat().st_size
