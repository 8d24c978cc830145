"""Every on-device target, defined once: id, artifact file, format, quantization, runtime,
validation tolerances and its role in the gate and the app bundle.

Converters, validation, runtimes, config checks, parity, bundle, bench and their reports read
this table (like optimum's per-target export configs). Adding a target is one entry here plus
its converter step and runner; `tests/test_backends.py` fails until all of them exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

Tol = Optional[tuple]  # (atol, rtol): passes when max|diff| <= atol + rtol * max|reference logit|


def bound(tol: Tol, scale: float) -> Optional[float]:
    """The max |logit diff| a Tol allows against logits whose largest magnitude is `scale`
    (None = no bound: measured and reported only)."""
    return None if tol is None else float(tol[0] + tol[1] * scale)


@dataclass(frozen=True)
class Backend:
    id: str
    file: str  # artifact file name in a conversion output dir
    format: str  # onnx | tflite | ptl | pte: picks the converter step and the runner
    quantization: str  # as written into manifest.json
    precision: str  # fp32 | int8: which parity rule and bundle tolerance apply
    runtime: str  # what runs it, for reports
    label: str  # row name in reports
    # Conversion sanity bounds vs the float student (a broken graph is far outside them; the
    # parity gate applies the product thresholds). None = measured and reported only.
    tolerance: Tol
    # Max change of the logits, beyond the float student's own, when padded positions hold other
    # tokens: how a graph that ignores the attention mask is caught.
    probe_tolerance: Tol
    required: bool  # in parity.required by default: a breach fails the gate
    bundlable: bool  # the Android app can run it
    bundled: bool  # in bundle.backends by default
    calibrated: bool = False  # needs task texts for static activation ranges


REGISTRY: dict[str, Backend] = {b.id: b for b in (
    Backend("onnx", "model.onnx", "onnx", "fp32", "fp32", "onnxruntime", "student ONNX fp32",
            tolerance=(1e-4, 1e-3), probe_tolerance=(1e-4, 1e-3),
            required=True, bundlable=False, bundled=False),
    Backend("tflite_fp32", "model_fp32.tflite", "tflite", "fp32", "fp32", "LiteRT+XNNPACK",
            "student TFLite fp32", tolerance=(1e-4, 1e-3), probe_tolerance=(1e-4, 1e-3),
            required=True, bundlable=True, bundled=True),
    # Weights int8, activations quantized per token row at run time: padding cannot move a row.
    Backend("tflite_int8", "model_int8.tflite", "tflite", "dynamic-range int8", "int8",
            "LiteRT+XNNPACK", "**student TFLite int8 (dynamic)**",
            tolerance=(0.02, 0.1), probe_tolerance=(0.01, 0.02),
            required=True, bundlable=True, bundled=True),
    # Weights and activations int8 (what NPUs and DSPs run), static scales from calibration on
    # an int8-friendly rewrite of the graph (converters/int8_graph.py): measured at conversion,
    # the parity gate decides. Bundled when it passes parity, left out when it does not.
    Backend("tflite_int8_full", "model_int8_full.tflite", "tflite", "full int8", "int8",
            "LiteRT+XNNPACK", "student TFLite full int8",
            tolerance=None, probe_tolerance=(0.01, 0.05),
            required=False, bundlable=True, bundled=True, calibrated=True),
    # PyTorch Mobile is frozen (last Android release 2.1.0): optional, bundled when it passes.
    # One activation scale per tensor at run time (~20% of the largest logit on a fine-tuned
    # MiniLM); the graph cuts trailing padding, so the probe is exact.
    Backend("ptl_int8", "model_int8.ptl", "ptl", "dynamic int8", "int8", "lite interpreter",
            "student .ptl int8", tolerance=(0.02, 0.25), probe_tolerance=(1e-4, 1e-3),
            required=False, bundlable=True, bundled=True),
    # ExecuTorch + XNNPACK: PyTorch's supported on-device path. Dynamic sequence length: the
    # runner and the app feed the real tokens only, so padding cannot move the logits.
    # Optional: ExecuTorch's exporter is young (a failed lowering must not stop the chain).
    Backend("pte_fp32", "model_fp32.pte", "pte", "fp32", "fp32", "ExecuTorch+XNNPACK",
            "student .pte fp32", tolerance=(1e-4, 1e-3), probe_tolerance=(1e-4, 1e-3),
            required=False, bundlable=True, bundled=False),
    # Same thresholds as tflite_int8 (weights int8 incl. embeddings, activations per token).
    Backend("pte_int8", "model_int8.pte", "pte", "dynamic int8", "int8", "ExecuTorch+XNNPACK",
            "student .pte int8", tolerance=(0.02, 0.1), probe_tolerance=(1e-4, 1e-3),
            required=False, bundlable=True, bundled=True),
)}

BACKENDS = tuple(REGISTRY)  # also the conversion order
ARTIFACTS = {b.id: b.file for b in REGISTRY.values()}


def ids(**where) -> tuple:
    """Backend ids whose fields equal the given values, e.g. ids(format="tflite")."""
    return tuple(b.id for b in REGISTRY.values()
                 if all(getattr(b, k) == v for k, v in where.items()))
