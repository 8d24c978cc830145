"""PyTorch student -> `model_int8.ptl` for the PyTorch lite interpreter (pytorch_android_lite).

Dynamic int8: `nn.Linear` weights int8 (per output channel) with activations quantized at run
time, packed for QNNPACK (the engine of pytorch_android_lite), and the
embedding tables weight-only int8 (`float_qparams_weight_only_qconfig`; without it the 30522 x H
word embedding stays fp32 and is most of the file). Traced through the same export wrapper as
ONNX (int32 inputs, explicit additive mask), saved for the lite interpreter, and checked against
the bytecode versions the Android runtime loads.

Trailing padding is cut off inside the graph (`TrimPadding`, scripted around the traced model):
dynamic int8 picks one activation scale per tensor at run time, so with padded positions in the
tensor the scale, and so the rounding of every real token, depended on what the padding held and
how long it was. That made the int8 logits of one sentence move with its padding, by more than
the probe allowed on some CPUs' students (docs/int8-numerics.md). Cut to the real length, the
graph computes exactly what it computes on an unpadded input, and does less work.

`optimize_for_mobile` is skipped: this torch build has no XNNPACK, and the quantized ops it would
rewrite are already the mobile ones.
"""
from __future__ import annotations

import contextlib
import copy
import shutil
import warnings
from pathlib import Path
from typing import Optional

from converters.common import ConversionError, native_stderr

# The app pins org.pytorch:pytorch_android_lite:2.1.0 (the last release). Its loader accepts
# bytecode versions kMinSupportedBytecodeVersion..kMaxSupportedBytecodeVersion = 4..9
# (caffe2/serialize/versions.h, unchanged since 1.12); torch >= 1.11 writes 8. Target 8: the
# highest version every runtime since 1.11 reads.
ANDROID_RUNTIME = "org.pytorch:pytorch_android_lite:2.1.0"
ANDROID_MIN_BYTECODE = 4
ANDROID_MAX_BYTECODE = 9
TARGET_BYTECODE = 8
# Ops that must not appear in the graph for the pinned runtime / mobile use.
FORBIDDEN_OPS = {
    "aten::scaled_dot_product_attention": "SDPA attention traced in; load the student with "
                                          "attn_implementation='eager'",
}


# pytorch_android_lite runs quantized ops with QNNPACK. Quantizing and checking with the same
# engine on the host gives the numbers the phone will see; with per-channel weights it also
# halves the error on a fine-tuned MiniLM (SST-2 teacher, 15 validation cases, max |dlogit|):
# x86/per-tensor 0.94, x86/per-channel 0.56, qnnpack/per-tensor 0.59, qnnpack/per-channel 0.27.
MOBILE_ENGINE = "qnnpack"


@contextlib.contextmanager
def quantized_engine(name: str = MOBILE_ENGINE):
    """Use `name` as torch's quantized engine for the duration (no-op if not built in)."""
    import torch

    previous = torch.backends.quantized.engine
    if name not in torch.backends.quantized.supported_engines or name == previous:
        yield previous if name not in torch.backends.quantized.supported_engines else name
        return
    torch.backends.quantized.engine = name
    try:
        yield name
    finally:
        torch.backends.quantized.engine = previous


def quantize_student(model, per_channel: bool = True):
    """Deep copy with dynamic int8 Linear (per-channel weights) + weight-only int8 Embedding.
    Call inside `quantized_engine()` so the weights are packed for the mobile engine."""
    import torch
    from torch.ao.quantization import (default_dynamic_qconfig, float_qparams_weight_only_qconfig,
                                       per_channel_dynamic_qconfig, quantize_dynamic)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = quantize_dynamic(copy.deepcopy(model).eval(),
                             {torch.nn.Linear: per_channel_dynamic_qconfig if per_channel
                              else default_dynamic_qconfig,
                              torch.nn.Embedding: float_qparams_weight_only_qconfig},
                             dtype=torch.qint8)
    return q.eval()


def trim_padding_module(traced, context: int = 0):
    """Script `traced(input_ids, attention_mask, token_type_ids)` behind a cut of the trailing
    padding: positions after the last mask==1 (plus `context` more) are dropped before the model
    runs. Interior zeros of the mask stay and are masked as before."""
    import torch

    class TrimPadding(torch.nn.Module):
        def __init__(self, inner, extra: int):
            super().__init__()
            self.inner = inner
            self.extra = extra

        def forward(self, input_ids, attention_mask, token_type_ids):
            length = input_ids.size(1)
            positions = torch.arange(1, length + 1, dtype=torch.long)
            last = int((positions * (attention_mask[0] != 0).to(torch.long)).max().item())
            n = min(max(last, 1) + self.extra, length)
            return self.inner(input_ids[:, :n], attention_mask[:, :n], token_type_ids[:, :n])

    return torch.jit.script(TrimPadding(traced, int(context)))


def convert_ptl(model, path: str | Path, max_seq_length: int, step: str = "ptl_int8",
                model_type: Optional[str] = None) -> dict:
    """Quantize, trace and save `path` (lite interpreter format); returns report facts."""
    import torch
    from torch.jit.mobile import (_backport_for_mobile, _export_operator_list,
                                  _get_model_bytecode_version, _get_model_ops_and_info,
                                  _load_for_lite_interpreter)

    from converters import real_length
    from converters.onnx_export import example_inputs, make_wrapper

    path = Path(path)
    # torch.ao's dynamic Linear always asks for reduce_range (7-bit activations, made for
    # fbgemm's AVX2 saturation); QNNPACK, on the host and on the phone alike, ignores it and
    # warns once on fd 2: same numbers either way, so the warning goes to the conversion log.
    with quantized_engine() as engine, native_stderr():
        try:
            qmodel = quantize_student(model)
        except Exception as e:
            raise ConversionError(step, f"quantize_dynamic failed: {type(e).__name__}: {e}") from e
        wrapper = make_wrapper(qmodel, mask_input="int")
        args = example_inputs(max_seq_length, "int")
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(wrapper, args, check_trace=False)
                context = real_length.trailing_context(model_type)
                module = trim_padding_module(traced, context)
                # The contract rides along as an extra file: runners and apps feed real length.
                module._save_for_lite_interpreter(
                    str(path), _extra_files={real_length.KEY: real_length.dumps(max_seq_length, context)})
        except Exception as e:
            from converters.onnx_export import _op_from_text

            raise ConversionError(step, f"trace/save failed: {type(e).__name__}: {e}",
                                  op=_op_from_text(str(e))) from e

    produced = int(_get_model_bytecode_version(str(path)))
    version = produced
    if produced > TARGET_BYTECODE:
        older = path.with_name(path.name + ".v%d" % TARGET_BYTECODE)
        if not _backport_for_mobile(str(path), str(older), TARGET_BYTECODE):
            raise ConversionError(step, f"bytecode v{produced} could not be backported to "
                                         f"v{TARGET_BYTECODE} for {ANDROID_RUNTIME}")
        shutil.move(str(older), str(path))
        version = int(_get_model_bytecode_version(str(path)))
    if not ANDROID_MIN_BYTECODE <= version <= ANDROID_MAX_BYTECODE:
        raise ConversionError(step, f"bytecode v{version} is outside what {ANDROID_RUNTIME} "
                                     f"loads (v{ANDROID_MIN_BYTECODE}..v{ANDROID_MAX_BYTECODE})")

    with quantized_engine():
        mobile = _load_for_lite_interpreter(str(path))
    ops = sorted(_export_operator_list(mobile))
    for op in ops:
        if op in FORBIDDEN_OPS:
            raise ConversionError(step, f"{op} in the mobile graph: {FORBIDDEN_OPS[op]}", op=op)
    try:
        info = _get_model_ops_and_info(str(path))
        op_args = {k: getattr(v, "num_schema_args", None) for k, v in sorted(info.items())}
    except Exception:  # informational only
        op_args = {}
    return {
        "bytecode_version": version,
        "bytecode_version_produced": produced,
        "android_runtime": ANDROID_RUNTIME,
        "android_supported_bytecode": [ANDROID_MIN_BYTECODE, ANDROID_MAX_BYTECODE],
        "ops": ops,
        "op_num_schema_args": op_args,
        "torch_version": torch.__version__,
        "quantized_engine": engine,
        "quantization": "dynamic int8 Linear (per-channel weights, activations quantized per "
                        "tensor at run time) + weight-only int8 Embedding",
        "trailing_padding": "cut in the graph (runs at the real length)",
    }
