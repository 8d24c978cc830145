"""Runs INSIDE the emulated arm64 python: imports only the standard library, numpy and
ai_edge_litert (the arm64 wheels), never the pipeline.

    python3.11 golden_runner.py --golden golden.jsonl --model tflite_int8=model_int8.tflite \
        [--model ...] [--threads 1] [--cases 0,5,9]

Writes JSON lines to stdout, flushed one by one, so the host can tell which backend was running
if the native runtime crashes:
    {"event": "env", "machine": "aarch64", "hwcap": ..., "features": {...}, "numpy": ..., ...}
    {"event": "start", "backend": "tflite_int8"}
    {"event": "case", "backend": "tflite_int8", "index": 0, "logits": [...]}   (one per case)
    {"event": "done", "backend": "tflite_int8", "seconds": 1.2}
    {"event": "error", "backend": "tflite_int8", "message": "..."}              (load/run error)
Inputs are bound like the host's converters.runtimes.TFLiteRunner (tensor names, else the
signature's input names); quantized outputs are dequantized the same way. The interpreter is
LiteRT's default: builtin ops with the XNNPACK delegate, as the app's Interpreter.Options
setUseXNNPACK(true).
"""
import argparse
import ctypes
import json
import platform
import sys
import time

import numpy as np

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "logits"
# AT_HWCAP / AT_HWCAP2 bits of arm64 Linux (arch/arm64/include/uapi/asm/hwcap.h)
HWCAP_BITS = {"asimd": 1, "asimddp": 20, "sve": 22}
HWCAP2_BITS = {"sve2": 1, "i8mm": 13, "bf16": 14}


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def cpu_features():
    try:
        libc = ctypes.CDLL(None)
        libc.getauxval.restype = ctypes.c_ulong
        libc.getauxval.argtypes = [ctypes.c_ulong]
        hw, hw2 = int(libc.getauxval(16)), int(libc.getauxval(26))
    except (OSError, AttributeError):
        return None, {}
    feats = {k: bool(hw >> b & 1) for k, b in HWCAP_BITS.items()}
    feats.update({k: bool(hw2 >> b & 1) for k, b in HWCAP2_BITS.items()})
    return hw, feats


def bind(interpreter):
    """{input name: tensor detail}, output detail (same rules as the host runner)."""
    details = {d["name"]: d for d in interpreter.get_input_details()}
    if all(n in details for n in INPUT_NAMES):
        ins = {n: details[n] for n in INPUT_NAMES}
    else:
        sigs = interpreter.get_signature_list()
        if not sigs:
            raise ValueError(f"inputs are {sorted(details)}; expected {', '.join(INPUT_NAMES)}")
        key = "serving_default" if "serving_default" in sigs else next(iter(sigs))
        sig_in = interpreter.get_signature_runner(key).get_input_details()
        if not all(n in sig_in for n in INPUT_NAMES):
            raise ValueError(f"signature '{key}' inputs are {sorted(sig_in)}")
        ins = {n: sig_in[n] for n in INPUT_NAMES}
    outs = interpreter.get_output_details()
    named = [d for d in outs if d["name"] == OUTPUT_NAME]
    if not named and len(outs) != 1:
        raise ValueError(f"no output tensor named '{OUTPUT_NAME}'")
    return ins, (named or outs)[0]


def run_backend(backend, path, cases, threads):
    from ai_edge_litert.interpreter import Interpreter

    emit(event="start", backend=backend)
    t0 = time.time()
    try:
        it = Interpreter(model_path=path, num_threads=threads)
        it.allocate_tensors()
        ins, out = bind(it)
    except Exception as e:  # the host turns this into a failure of this backend on this CPU
        emit(event="error", backend=backend, message=f"cannot load {path}: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
        return
    current = None
    for i, case in cases:
        # A real-length bundle's case says how many positions the app feeds (and its logits
        # are at that length); an older one is fed padded.
        n_feed = int(case.get("length") or len(case["input_ids"]))
        if n_feed != current:
            for n in INPUT_NAMES:
                it.resize_tensor_input(ins[n]["index"], [1, n_feed])
            it.allocate_tensors()
            current = n_feed
        for n in INPUT_NAMES:
            d = ins[n]
            it.set_tensor(d["index"], np.asarray([case[n][:n_feed]], dtype=d["dtype"]))
        it.invoke()
        y = it.get_tensor(out["index"])
        if out["dtype"] != np.float32:
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        emit(event="case", backend=backend, index=i, logits=[float(v) for v in np.asarray(y, np.float32).reshape(-1)])
    emit(event="done", backend=backend, seconds=round(time.time() - t0, 3))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--golden", required=True)
    ap.add_argument("--model", action="append", default=[], metavar="BACKEND=PATH")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", help="comma-separated 0-based case indices (default: all)")
    args = ap.parse_args(argv)
    import ai_edge_litert

    hw, feats = cpu_features()
    emit(event="env", machine=platform.machine(), python=platform.python_version(),
         numpy=np.__version__, ai_edge_litert=getattr(ai_edge_litert, "__version__", "?"),
         hwcap=hw, features=feats)
    with open(args.golden, encoding="utf-8") as fh:
        cases = list(enumerate(json.loads(line) for line in fh if line.strip()))
    if args.cases:
        keep = {int(i) for i in args.cases.split(",")}
        cases = [c for c in cases if c[0] in keep]
    for spec in args.model:
        backend, _, path = spec.partition("=")
        run_backend(backend, path, cases, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
