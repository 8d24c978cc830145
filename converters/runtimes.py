"""Run any artifact through its real runtime: `load_runner(path).logits(ids, mask, types)`.

- `.onnx`    -> onnxruntime (CPU)
- `.tflite`  -> ai_edge_litert Interpreter (builtin ops only; there is no Flex delegate), inputs
               bound by tensor/signature NAME, never by position
- `.ptl`     -> torch lite interpreter (`torch.jit.mobile._load_for_lite_interpreter`)
- `.pte`     -> ExecuTorch's runtime (`executorch.runtime`, XNNPACK delegate), each row at its
               real length (tokens up to the last attention-mask 1), as the app runs it
- directory  -> the Hugging Face model itself (fp32, eager attention), the float reference

Inputs are int32 numpy arrays [n, L], run row by row. An artifact with a dynamic sequence
dimension (converters/real_length.py) runs each row at its own length (up to its last real
token plus the artifact's trailing context) unless `padded=True`; a fixed-length one takes
exactly [1, max_seq_length].
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from converters import real_length
from converters.common import INPUT_NAMES, OUTPUT_NAME
from converters.errors import BertEdgeError


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Runner:
    backend: str = ""
    max_seq_length: Optional[int] = None  # longest input (the only one if not dynamic); None = any
    dynamic: bool = False  # dynamic sequence dimension: rows run at their own length
    context: int = 0  # trailing padded positions the model reads (real_length.trailing_context)

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def logits(self, input_ids, attention_mask, token_type_ids, padded: bool = False) -> np.ndarray:
        """Logits [n, labels]. padded=True feeds the rows as given (e.g. padded to
        max_seq_length); otherwise a dynamic artifact gets each row cut after its last real
        token (+ context), as an app feeds it."""
        ids, mask, types = (_as_2d_int32(a, n) for a, n in
                            zip((input_ids, attention_mask, token_type_ids), INPUT_NAMES))
        if not (ids.shape == mask.shape == types.shape):
            raise BertEdgeError(f"{self.path}: input shapes differ: {ids.shape}, {mask.shape}, "
                                f"{types.shape}")
        if self.max_seq_length is not None:
            if self.dynamic and ids.shape[1] > self.max_seq_length:
                raise BertEdgeError(f"{self.path}: inputs have length {ids.shape[1]}, the model "
                                    f"takes at most {self.max_seq_length} tokens")
            if not self.dynamic and ids.shape[1] != self.max_seq_length:
                raise BertEdgeError(f"{self.path}: inputs have length {ids.shape[1]}, the model "
                                    f"takes exactly {self.max_seq_length} (pad to max_seq_length)")
        if padded or not self.dynamic:
            return self._run(ids, mask, types)
        keep = real_length.keep_lengths(mask, self.context)
        return np.concatenate([self._run(ids[i:i + 1, :k], mask[i:i + 1, :k], types[i:i + 1, :k])
                               for i, k in enumerate(keep)], axis=0)

    def _use_contract(self, contract: dict, fixed_length: Optional[int]) -> None:
        """Take dynamic/max_seq_length/context from the artifact's real-length contract."""
        self.dynamic = bool(contract.get("dynamic")) and fixed_length is None
        self.max_seq_length = int(contract.get("max_seq_length") or 0) or fixed_length
        self.context = int(contract.get("trailing_context") or 0)

    def _run(self, ids, mask, types) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.backend} {self.path}>"


def _as_2d_int32(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise BertEdgeError(f"{name}: expected a [n, L] array, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.int32)


class OnnxRunner(Runner):
    backend = "onnx"

    def __init__(self, path, num_threads: Optional[int] = None, max_seq_length: Optional[int] = None):
        super().__init__(path)
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = num_threads or default_threads()
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        missing = [n for n in INPUT_NAMES if n not in self.inputs]
        if missing:
            raise BertEdgeError(f"{path}: ONNX graph has no input(s) {', '.join(missing)}")
        shape = self.inputs["input_ids"].shape
        meta = self.session.get_modelmeta().custom_metadata_map or {}
        self._use_contract(real_length.loads(meta.get(real_length.KEY)),
                           shape[1] if isinstance(shape[1], int) else None)
        if not isinstance(shape[1], int) and not self.dynamic:
            self.dynamic = True  # a dynamic graph of another exporter: no cap, no context
        self._dtypes = {n: np.int64 if "int64" in self.inputs[n].type else np.int32 for n in INPUT_NAMES}

    def _run(self, ids, mask, types):
        rows = []
        for i in range(ids.shape[0]):
            feed = {n: a[i:i + 1].astype(self._dtypes[n]) for n, a in zip(INPUT_NAMES, (ids, mask, types))}
            rows.append(self.session.run([OUTPUT_NAME], feed)[0])
        return np.concatenate(rows, axis=0).astype(np.float32)


def check_tflite_file(path: str | Path) -> None:
    """Walk a .tflite flatbuffer in Python before LiteRT maps it: a truncated or garbled file
    can crash the native interpreter (SIGSEGV) instead of raising. BertEdgeError if broken."""
    path = Path(path)
    data = path.read_bytes()
    try:
        from ai_edge_litert import schema_py_generated as S
    except ImportError:  # pragma: no cover - the schema ships with ai_edge_litert
        return
    try:
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
        m = S.Model.GetRootAs(data, 0)
        nb = m.BuffersLength()
        for i in range(nb):
            b = m.Buffers(i)
            if b.Offset() > 1:
                if b.Offset() + b.Size() > len(data):
                    raise ValueError(f"buffer {i} extends past the end of the file")
            elif b.DataLength() and b.DataAsNumpy().nbytes != b.DataLength():
                raise ValueError(f"buffer {i} is truncated")
        for g in range(m.SubgraphsLength()):
            sg = m.Subgraphs(g)
            for t in range(sg.TensorsLength()):
                tensor = sg.Tensors(t)
                if tensor.Buffer() >= nb:
                    raise ValueError(f"tensor {t} points at buffer {tensor.Buffer()} of {nb}")
                tensor.ShapeAsNumpy()
            for o in range(sg.OperatorsLength()):
                op = sg.Operators(o)
                if op.OpcodeIndex() >= m.OperatorCodesLength():
                    raise ValueError(f"operator {o} has an unknown opcode index")
                op.InputsAsNumpy()
                op.OutputsAsNumpy()
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BertEdgeError(f"{path.name}: corrupt TFLite file ({msg})") from None


def tflite_contract(path: str | Path) -> dict:
    """The real-length contract stored in a .tflite's metadata list ({} if none)."""
    try:
        from ai_edge_litert import schema_py_generated as S
    except ImportError:  # pragma: no cover - the schema ships with ai_edge_litert
        return {}
    m = S.Model.GetRootAs(Path(path).read_bytes(), 0)
    for i in range(m.MetadataLength()):
        md = m.Metadata(i)
        if (md.Name() or b"").decode() == real_length.KEY:
            return real_length.loads(m.Buffers(md.Buffer()).DataAsNumpy().tobytes())
    return {}


class TFLiteRunner(Runner):
    backend = "tflite"

    def __init__(self, path, num_threads: Optional[int] = None, max_seq_length: Optional[int] = None):
        super().__init__(path)
        from ai_edge_litert.interpreter import Interpreter

        check_tflite_file(path)
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads or default_threads())
            self.interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BertEdgeError(f"{path}: LiteRT cannot load the model ({first})") from e
        details = self.interpreter.get_input_details()
        by_name = {d["name"]: d for d in details}
        if all(n in by_name for n in INPUT_NAMES):
            # Tensor names are the clean contract names: bind by tensor index.
            self._in = {n: by_name[n] for n in INPUT_NAMES}
        else:
            # Fall back to the signature's input names (e.g. serving_default_input_ids:0 tensors).
            sigs = self.interpreter.get_signature_list()
            if not sigs:
                raise BertEdgeError(f"{path}: TFLite inputs are {sorted(by_name)}; expected tensors "
                                    f"or a signature named {', '.join(INPUT_NAMES)}")
            key = "serving_default" if "serving_default" in sigs else next(iter(sigs))
            runner = self.interpreter.get_signature_runner(key)
            sig_in = runner.get_input_details()
            if not all(n in sig_in for n in INPUT_NAMES):
                raise BertEdgeError(f"{path}: signature '{key}' inputs are {sorted(sig_in)}; "
                                    f"expected {', '.join(INPUT_NAMES)}")
            self._in = {n: sig_in[n] for n in INPUT_NAMES}
        outs = self.interpreter.get_output_details()
        named = [d for d in outs if d["name"] == OUTPUT_NAME]
        if not named and len(outs) != 1:
            raise BertEdgeError(f"{path}: no output tensor named '{OUTPUT_NAME}'")
        self._out = (named or outs)[0]
        d = self._in["input_ids"]
        sig = d.get("shape_signature")
        is_dynamic = sig is not None and len(sig) == 2 and int(sig[1]) == -1
        self._use_contract(tflite_contract(path) if is_dynamic else {},
                           None if is_dynamic else int(d["shape"][1]))
        if is_dynamic and not self.dynamic:
            self.dynamic = True
            self.max_seq_length = int(d["shape"][1]) if int(d["shape"][1]) > 1 else None
        self._length = int(d["shape"][1])

    def _resize(self, length: int) -> None:
        if length == self._length:
            return
        for d in self._in.values():
            self.interpreter.resize_tensor_input(d["index"], [1, length], strict=True)
        self.interpreter.allocate_tensors()
        self._length = length

    def _run(self, ids, mask, types):
        it = self.interpreter
        rows = []
        for i in range(ids.shape[0]):
            if self.dynamic:
                self._resize(int(ids.shape[1]))
            for n, a in zip(INPUT_NAMES, (ids, mask, types)):
                d = self._in[n]
                it.set_tensor(d["index"], a[i:i + 1].astype(d["dtype"]))
            it.invoke()
            y = it.get_tensor(self._out["index"])
            if self._out["dtype"] != np.float32:  # quantized output: dequantize
                scale, zero = self._out["quantization"]
                y = (y.astype(np.float32) - zero) * scale
            rows.append(np.array(y, dtype=np.float32))
        return np.concatenate(rows, axis=0)


class PtlRunner(Runner):
    backend = "ptl"

    def __init__(self, path, num_threads: Optional[int] = None, max_seq_length: Optional[int] = None):
        super().__init__(path)
        import torch
        from torch.jit.mobile import _load_for_lite_interpreter

        from converters.torchscript_mobile import quantized_engine

        if num_threads:  # process-wide: torch has no per-module thread count
            torch.set_num_threads(num_threads)
        try:
            # Quantized weights are re-packed at load time for the current engine: use the
            # phone's (QNNPACK), at load and at run time, for device-like numerics.
            with quantized_engine():
                self.module = _load_for_lite_interpreter(str(path))
        except Exception as e:
            raise BertEdgeError(f"{path}: the lite interpreter cannot load it ({type(e).__name__}: "
                                f"{str(e).strip().splitlines()[0] if str(e).strip() else ''})") from e
        contract = ptl_contract(self.path)
        if contract:
            self._use_contract(contract, None)
        else:  # written before real length: fixed [1, L]
            self.max_seq_length = max_seq_length or _sidecar_max_len(self.path)

    def _run(self, ids, mask, types):
        import torch

        from converters.torchscript_mobile import quantized_engine

        rows = []
        with torch.no_grad(), quantized_engine():
            for i in range(ids.shape[0]):
                args = [torch.from_numpy(a[i:i + 1].copy()) for a in (ids, mask, types)]
                rows.append(self.module(*args).detach().numpy())
        return np.concatenate(rows, axis=0).astype(np.float32)


def ptl_contract(path: str | Path) -> dict:
    """The real-length contract stored as an extra file in a .ptl archive ({} if none)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            name = next((n for n in z.namelist() if n.endswith("/extra/" + real_length.KEY)), None)
            return real_length.loads(z.read(name)) if name else {}
    except (OSError, zipfile.BadZipFile):
        return {}


def _sidecar_max_len(path: Path) -> Optional[int]:
    """The .ptl has no typed input shapes: take L from convert.json next to it, if present."""
    import json

    report = path.parent / "convert.json"
    try:
        return int(json.loads(report.read_text(encoding="utf-8"))["max_seq_length"])
    except Exception:
        return None


class PteRunner(Runner):
    """ExecuTorch program (`.pte`) through ExecuTorch's own runtime and its XNNPACK delegate."""

    backend = "pte"

    def __init__(self, path, num_threads: Optional[int] = None, max_seq_length: Optional[int] = None):
        super().__init__(path)
        from converters.common import quiet_executorch

        quiet_executorch()
        try:
            # The int8 embedding lookup (quantized_decomposed::embedding_byte) is a kernel of
            # ExecuTorch's quantized-ops library: importing it registers the kernels.
            import executorch.kernels.quantized  # noqa: F401
            from executorch.runtime import Runtime
        except ImportError as e:
            raise BertEdgeError(f"{path}: ExecuTorch is not installed ({e})") from None
        if num_threads:  # XNNPACK's thread pool is process-wide, like torch's
            from executorch.extension.pybindings import portable_lib

            portable_lib._unsafe_reset_threadpool(int(num_threads))
        with open(self.path, "rb") as f:
            head = f.read(8)
        if len(head) < 8 or head[4:6] != b"ET":
            raise BertEdgeError(f"{path}: not an ExecuTorch program (no ET file identifier)")
        try:
            # From the path: a bytes buffer is not copied by the runtime and must outlive it.
            program = Runtime.get().load_program(self.path)
            self.method = program.load_method("forward")
            meta = program.metadata("forward")
            # Upper bound of the dynamic sequence dim = the longest input the graph takes.
            self.limit = int(meta.input_tensor_meta(0).sizes()[1])
            contract = {"dynamic": True, "max_seq_length": self.limit}
            if "trailing_context" in program.method_names:  # real_length contract
                contract["trailing_context"] = int(program.load_method("trailing_context").execute([])[0])
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BertEdgeError(f"{path}: ExecuTorch cannot load the program ({first})") from None
        self._use_contract(contract, None)

    def _run(self, ids, mask, types):
        import torch

        rows = []
        for i in range(ids.shape[0]):  # rows come cut to real length unless padded=True
            feed = [torch.from_numpy(np.ascontiguousarray(a[i:i + 1])) for a in (ids, mask, types)]
            rows.append(self.method.execute(feed)[0].numpy().astype(np.float32))
        return np.concatenate(rows, axis=0)


class HFRunner(Runner):
    """The float student in PyTorch (the reference every artifact is compared with)."""

    backend = "hf"

    def __init__(self, path, num_threads: Optional[int] = None, model=None, batch_size: int = 16):
        super().__init__(path)
        import torch

        if num_threads:
            torch.set_num_threads(num_threads)
        if model is None:
            from converters.student import load_student

            model = load_student(path).model
        self.model = model.eval()
        self.batch_size = batch_size

    def _run(self, ids, mask, types):
        import torch

        out = []
        with torch.no_grad():
            for s in range(0, ids.shape[0], self.batch_size):
                sl = slice(s, s + self.batch_size)
                y = self.model(input_ids=torch.from_numpy(ids[sl]).long(),
                               attention_mask=torch.from_numpy(mask[sl]).long(),
                               token_type_ids=torch.from_numpy(types[sl]).long(),
                               return_dict=False)[0]
                out.append(y.float().numpy())
        return np.concatenate(out, axis=0)


CHUNK = 50  # rows per runner call (progress granularity)


def logits_in_chunks(runner: Runner, inputs: dict, desc: str = "", progress: bool = True,
                     padded: bool = False) -> np.ndarray:
    """runner.logits over many rows with a progress bar (padded: see Runner.logits)."""
    from tqdm.auto import tqdm

    n = len(inputs["input_ids"])
    out = []
    with tqdm(total=n, desc=desc, disable=not progress, leave=False, unit="ex") as bar:
        for s in range(0, n, CHUNK):
            sl = slice(s, s + CHUNK)
            out.append(np.asarray(runner.logits(inputs["input_ids"][sl], inputs["attention_mask"][sl],
                                                inputs["token_type_ids"][sl], padded=padded),
                                  dtype=np.float32))
            bar.update(min(CHUNK, n - s))
    return np.concatenate(out)


# Registry format -> runner class; file suffix -> format.
RUNNERS = {"onnx": OnnxRunner, "tflite": TFLiteRunner, "ptl": PtlRunner, "pte": PteRunner}
SUFFIXES = {".onnx": "onnx", ".tflite": "tflite", ".ptl": "ptl", ".pt": "ptl", ".pte": "pte"}


def load_runner(path: str | Path, num_threads: Optional[int] = None) -> Runner:
    """A runner for an artifact (.onnx, .tflite, .ptl, .pte) or a Hugging Face model directory.
    Whatever a runtime raises on a file it cannot load becomes one line naming the file."""
    p = Path(path)
    if not p.exists():
        raise BertEdgeError(f"model not found: {p}")
    if p.is_dir():
        return HFRunner(p, num_threads)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise BertEdgeError(f"{p}: unknown model format '{p.suffix.lower()}' (expected "
                            f"{', '.join(SUFFIXES)} or a Hugging Face model directory)")
    try:
        return RUNNERS[fmt](p, num_threads)
    except BertEdgeError:
        raise
    except Exception as e:  # a corrupt file makes each runtime raise its own kind of error
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise BertEdgeError(f"{p}: cannot load {p.suffix} artifact: corrupt or not a {fmt} model "
                            f"({type(e).__name__}: {first[:200]})") from None


def backend_of(path: str | Path) -> Optional[str]:
    """Backend id of an artifact from its contract file name (None if not a contract name)."""
    from converters.common import ARTIFACTS

    name = Path(path).name
    for backend, fname in ARTIFACTS.items():
        if name == fname:
            return backend
    return None
