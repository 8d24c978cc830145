"""ONNX -> TFLite (fp32, dynamic-range int8, full int8), builtin ops only.

Where a plain `onnx2tf` run spends its time on a 4L-312D BERT (2 cores, ~270 s) and what this
module does instead (about 30 CPU-seconds for all five targets, see convert.py):
- onnxsim three times in subprocesses          -> once, in-process, before (onnx_export.py)
- onnx2tf's "accuracy correction": the whole ONNX graph in onnxruntime with every tensor as an
  output, then per-op TF sub-models              -> skipped (half of onnx2tf's build time); the
  built TF graph is checked against the float student instead, and rebuilt with the reference
  run only if it disagrees (`build_keras_model(reference_run=True)`)
- SavedModel/Keras/TF-v1 exports, fp16 file    -> not written (`disable_model_save=True`)
- TFLiteConverter from a Keras model or with a trackable object -> `from_concrete_functions`
  WITHOUT one: with it TF re-saves/re-loads the model as a SavedModel per variant (~50 s each)
- re-freezing the graph for every variant       -> frozen once (`ServingGraph`), shared by fp32,
  dynamic int8 and full int8 (which only edits the mask constant in a copy)
- TF's calibrator: a single-threaded logging interpreter, ~0.2-0.5 s per [1, 128] sample ->
  `_FastCalibrator`: the same float flatbuffer in LiteRT's optimized kernels with all tensors
  preserved, ranges written into the model, TF's own MLIR quantizer does the rest
- onnx2tf's int8 path (casts int token inputs to float and fails) -> our representative dataset

The graph handed to onnx2tf takes the additive attention bias as a float input; the signature
takes the int32 0/1 mask and computes `bias = (1 - mask) * mask_value` in front of it. Float
variants use -10000 (exact: exp(-10000) == 0); full int8 uses `FULL_INT8_MASK_VALUE` (-40) so the
calibrated int8 range of `scores + bias` is not blown up by the mask: with -10000 the int8 step
of that tensor is ~40, every real score rounds to the same value and attention turns uniform
(argmax agreement 69.5% vs 88% with -40 on a fine-tuned SST-2 MiniLM; exp(-40) is still 0 at
int8 resolution). Output tensors are renamed to the contract names and a `serving_default`
signature is added.

Real length: onnx2tf builds from the graph fixed at [1, L] (its layout guesses need static
shapes; onnx_export.static_copy), the serving function is traced with [1, None] inputs, and
`make_sequence_dynamic` rewrites the few Reshape constants that still hold L to -1 and marks
the inputs [1, -1] (shape_signature; default shape stays [1, L] for apps that never resize).
The onnx_export wrapper leaves no other op that depends on the length; validation runs every
file at many lengths and fails it if that ever stops being true.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from converters.common import (INPUT_NAMES, OUTPUT_NAME, ConversionError, native_stderr,
                               quiet_tensorflow)

FULL_INT8_MASK_VALUE = -40.0


def import_frameworks() -> None:
    """Import TensorFlow, tf_keras and onnx2tf (a few seconds; timed separately)."""
    with native_stderr():
        _tf()
        import onnx2tf  # noqa: F401
        import tf_keras  # noqa: F401


def _tf():
    quiet_tensorflow()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def _skip_onnx2tf_reference_run(skip: bool):
    """onnx2tf runs the whole ONNX graph in onnxruntime with every intermediate tensor as an
    output, then per-op TF sub-models against it, to patch layout guesses ("accuracy
    correction"); for this graph family it is half of the build time and changes nothing. When
    skipped, onnx2tf falls back to its shape rules; the caller checks the built graph against
    the float student and rebuilds with the reference run if they disagree."""
    mod = None
    if skip:
        try:
            import onnx2tf.onnx2tf as mod
        except ImportError:
            mod = None
    original = getattr(mod, "dummy_onnx_inference", None) if mod else None
    if original is None:
        yield
        return

    def skipped(*args, **kwargs):
        raise RuntimeError("reference run skipped by bert-edge (graph is checked afterwards)")

    mod.dummy_onnx_inference = skipped
    try:
        yield
    finally:
        mod.dummy_onnx_inference = original


def build_keras_model(onnx_path: str | Path, work_dir: str | Path, step: str = "tflite_graph",
                      reference_run: bool = False):
    """onnx2tf: ONNX graph -> tf_keras functional model (nothing written but scratch files).

    reference_run=False skips onnx2tf's per-op accuracy correction (see
    _skip_onnx2tf_reference_run); check the result with `graph_logits` against the float student."""
    import onnx

    from converters.onnx_export import POSITION_ROWS

    quiet_tensorflow()
    _tf()
    extra_inputs = [i.name for i in onnx.load(str(onnx_path), load_external_data=False).graph.input
                    if i.name == POSITION_ROWS]
    try:
        import onnx2tf
    except ImportError as e:
        raise ConversionError(step, f"onnx2tf is not installed ({e})") from e
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), native_stderr(), \
                _skip_onnx2tf_reference_run(not reference_run):
            model = onnx2tf.convert(
                input_onnx_file_path=str(onnx_path),
                output_folder_path=str(Path(work_dir) / "onnx2tf"),
                not_use_onnxsim=True,          # already simplified, once, in-process
                disable_model_save=True,       # no SavedModel/Keras/TFLite files: we convert ourselves
                output_signaturedefs=True,     # sanitized op names (no leading '/')
                non_verbose=True,
                # [1, L, hidden] position rows (onnx_export.static_copy) are not an NCW image
                keep_shape_absolutely_input_names=extra_inputs or None,
            )
    except SystemExit as e:  # onnx2tf calls sys.exit(1) on some errors
        raise ConversionError(step, f"onnx2tf exited ({e.code}): {_last_line(out.getvalue())}",
                              op=_onnx2tf_op(out.getvalue())) from None
    except Exception as e:
        op = getattr(e, "onnx_op_name", None) or _onnx2tf_op(out.getvalue() + str(e))
        raise ConversionError(step, f"onnx2tf failed: {type(e).__name__}: {e}", op=op) from e
    finally:
        log = Path(work_dir) / "onnx2tf.log"
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"--- onnx2tf {onnx_path} (reference_run={reference_run})\n{out.getvalue()}")
    return model


def graph_logits(graph: "ServingGraph", arrays: dict) -> np.ndarray:
    """Run the traced TF serving function (before TFLite conversion) row by row. A graph built
    at another length than max_seq_length (student.build_length) only cuts inputs of its build
    length correctly until make_sequence_dynamic opens its slices, and padding the rows to it
    would change what MobileBERT's last token reads: that graph runs as a length-agnostic fp32
    TFLite instead."""
    if graph.build_length != graph.max_seq_length:
        from converters.runtimes import TFLiteRunner

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "graph_check.tflite"
            path.write_bytes(convert_variant(graph, "fp32", "tflite_graph"))
            runner = TFLiteRunner(path, num_threads=1)
            return runner.logits(*(arrays[n] for n in INPUT_NAMES), padded=True)
    tf = _tf()
    rows = []
    with native_stderr():
        for i in range(int(arrays["input_ids"].shape[0])):
            args = [tf.constant(arrays[n][i:i + 1].astype(np.int32)) for n in graph.input_order]
            rows.append(graph.fn(*args)[OUTPUT_NAME].numpy())
    return np.concatenate(rows, axis=0).astype(np.float32)


MASK_VALUE_NODE = "attention_mask_value"


class ServingGraph:
    """The traced serving function, frozen once and reused by every TFLite variant (TF would
    otherwise re-freeze the whole graph, ~2.5 s for 4L-312D, for each conversion). Variants
    that only differ in the attention-mask constant share the frozen graph: `with_mask_value`
    edits that one Const node in a copy of the frozen GraphDef."""

    def __init__(self, keras_model, max_seq_length: int, mask_value: float, _parent=None,
                 position_table: Optional[np.ndarray] = None, build_length: Optional[int] = None,
                 split_rows: int = 0):
        self.mask_value = float(mask_value)
        if _parent is not None:
            self.fn, self.input_order, self._base = _parent.fn, _parent.input_order, _parent
            self.keras_model = _parent.keras_model
            self.max_seq_length = _parent.max_seq_length
            self.build_length = _parent.build_length
            self.split_rows = _parent.split_rows
        else:
            # The traced function refers to the Keras variables weakly: keep the model alive.
            self.keras_model = keras_model
            self.fn = make_serving_function(keras_model, max_seq_length, mask_value, position_table)
            self.max_seq_length = int(max_seq_length)
            # the length onnx2tf built the Keras model at (student.build_length)
            self.build_length = int(build_length or max_seq_length)
            # rows after the first split_rows are tensors of their own (cls_split.py: 1)
            self.split_rows = int(split_rows)
            self.input_order = [s.name for s in _tf().nest.flatten(self.fn.structured_input_signature)]
            self._base = None
        self._frozen = None
        # the fp32 flatbuffer, once converted: a graph built at another length is checked
        # through it (graph_logits) and the tflite_fp32 target reuses it
        self.fp32_flatbuffer: Optional[bytes] = None

    def with_mask_value(self, mask_value: float) -> "ServingGraph":
        if float(mask_value) == self.mask_value:
            return self
        return ServingGraph(None, 0, mask_value, _parent=self)

    def _freeze(self, conv):
        if self._base is not None:
            graph_def, inputs, outputs, frozen_func = self._base._freeze(conv)
            from tensorflow.core.framework import graph_pb2
            from tensorflow.python.framework import tensor_util

            edited = graph_pb2.GraphDef()
            edited.CopyFrom(graph_def)
            nodes = [n for n in edited.node if n.name == MASK_VALUE_NODE and n.op == "Const"]
            if len(nodes) != 1:
                raise ConversionError("tflite", f"cannot find the {MASK_VALUE_NODE} constant in "
                                                "the frozen graph")
            nodes[0].attr["value"].tensor.CopyFrom(
                tensor_util.make_tensor_proto(np.float32(self.mask_value)))
            return edited, inputs, outputs, frozen_func
        if self._frozen is None:
            graph_def, inputs, outputs, frozen_func = conv._freeze_concrete_function()
            try:  # name the TFLite output tensor 'logits' (not 'Identity')
                outputs = [frozen_func.graph.get_tensor_by_name(f"{OUTPUT_NAME}:0")]
            except (KeyError, ValueError):
                pass
            self._frozen = (graph_def, inputs, outputs, frozen_func)
        return self._frozen

    def converter(self):
        tf = _tf()
        # No trackable object on purpose: with one, TF lowers via a temporary SavedModel (slow).
        conv = tf.lite.TFLiteConverter.from_concrete_functions([self.fn])
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # Flex ops fail loudly
        if not callable(getattr(conv, "_freeze_concrete_function", None)):
            if self._base is not None:
                raise ConversionError("tflite", "this TensorFlow has no _freeze_concrete_function")
            return conv  # a TF without this internal: let it freeze each time
        frozen = self._freeze(conv)
        conv._freeze_concrete_function = lambda: frozen
        return conv


def make_serving_function(keras_model, max_seq_length: int, mask_value: float,
                          position_table: Optional[np.ndarray] = None):
    """Concrete tf.function (input_ids, attention_mask, token_type_ids) int32 [1, seq] -> logits
    (the Keras model was built at [1, max_seq_length]; its ops are length-agnostic but for
    Reshape constants, which `make_sequence_dynamic` fixes in the .tflite). With a position
    table (onnx_export.static_copy), the model's `position_rows` input gets its first seq rows."""
    from converters.onnx_export import POSITION_ROWS

    tf = _tf()
    names = [t.name.split(":")[0] for t in keras_model.inputs]
    expected = list(INPUT_NAMES) + ([POSITION_ROWS] if position_table is not None else [])
    if sorted(names) != sorted(expected):
        raise ConversionError("tflite_graph", f"onnx2tf model inputs are {names}, expected "
                                              f"{expected}")
    specs = [tf.TensorSpec([1, None], tf.int32, name=n) for n in INPUT_NAMES]

    @tf.function(input_signature=specs)
    def serving(input_ids, attention_mask, token_type_ids):
        # Longer inputs are cut to max_seq_length in the graph: MediaPipe's BERT preprocessor
        # does not truncate for a dynamic model, and the position rows end there. A Slice with
        # a computed size, not a StridedSlice with a constant end (make_sequence_dynamic
        # would open that one up).
        n = tf.minimum(tf.shape(input_ids)[1], max_seq_length)
        input_ids, attention_mask, token_type_ids = (
            tf.slice(x, [0, 0], tf.stack([1, n])) for x in (input_ids, attention_mask, token_type_ids))
        value = tf.constant(mask_value, tf.float32, name=MASK_VALUE_NODE)
        bias = (1.0 - tf.cast(attention_mask, tf.float32)) * value
        feed = {"input_ids": input_ids, "attention_mask": bias, "token_type_ids": token_type_ids}
        if position_table is not None:
            table = tf.constant(position_table, tf.float32, name="position_table")
            feed[POSITION_ROWS] = tf.slice(table, [0, 0], tf.stack([n, -1]))[None]
        logits = keras_model([feed[n] for n in names])
        if isinstance(logits, (list, tuple)):
            logits = logits[0]
        return {OUTPUT_NAME: tf.identity(logits, name=OUTPUT_NAME)}

    return serving.get_concrete_function()


def convert_variant(graph: ServingGraph, variant: str, step: str,
                    representative: Optional[Callable[[], Iterable[dict]]] = None,
                    per_channel: bool = True, calibration: str = "minmax",
                    num_threads: int = 1, valid_tokens_only: bool = False,
                    trailing_context: int = 0) -> bytes:
    """variant: 'fp32' | 'int8' (dynamic range) | 'int8_full' (weights+activations); the result
    has a dynamic sequence dimension (make_sequence_dynamic).

    calibration (int8_full): 'minmax' / 'mean' through _FastCalibrator, or 'tf' for TF's own
    (slow) calibrator."""
    if variant == "fp32" and graph.fp32_flatbuffer is not None:
        return _finish(graph, graph.fp32_flatbuffer, step, trailing_context)
    tf = _tf()
    with native_stderr():  # freezing starts a TF session that logs on fd 2
        conv = graph.converter()
    if variant == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8_full":
        if representative is None:
            raise ConversionError(step, "full int8 needs a representative dataset")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        # The converted graph has no SignatureDef yet (we add it afterwards), so the calibrator
        # takes positional lists: order them by the function's own input names, which is the
        # order of the TFLite input tensors (checked below, by name).
        order = graph.input_order
        if sorted(order) != sorted(INPUT_NAMES):
            raise ConversionError(step, f"serving function inputs are {order}")

        def positional():
            for sample in representative():
                yield [np.asarray(sample[n], dtype=np.int32) for n in order]

        conv.representative_dataset = positional
        # INT8 kernels where they exist; the few int-typed index ops (Cast of the int32 inputs,
        # Gather indices) stay builtin int32. Inputs stay int32, logits stay float32.
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                          tf.lite.OpsSet.TFLITE_BUILTINS]
        conv.inference_output_type = tf.float32
        conv._experimental_disable_per_channel = not per_channel
    elif variant != "fp32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
    fast = variant == "int8_full" and calibration != "tf"
    mask_pos = graph.input_order.index("attention_mask")
    try:
        with native_stderr(), warnings.catch_warnings(), \
                _fast_calibration(fast, calibration, num_threads, mask_pos, valid_tokens_only,
                                  (graph.max_seq_length, graph.build_length, graph.split_rows)
                                  if graph.build_length != graph.max_seq_length else None):
            # int32 token inputs are not quantized; TF warns that it has no stats for them
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            data = conv.convert()
    except Exception as e:
        ops = _flex_ops(str(e))
        reason = (f"TFLite converter needs non-builtin ops {', '.join(ops)} (only TFLite builtin "
                  f"ops are allowed; no Flex delegate on the phone)") if ops else \
            f"TFLite converter failed: {type(e).__name__}: {_last_line(str(e))}"
        raise ConversionError(step, reason, op=ops[0] if ops else None) from e
    if variant == "int8_full":
        got = _input_names(data)
        if got != order:
            raise ConversionError(step, f"TFLite input order {got} differs from the calibration "
                                         f"order {order}")
    if variant == "fp32":
        graph.fp32_flatbuffer = data
    return _finish(graph, data, step, trailing_context)


def _finish(graph: ServingGraph, data: bytes, step: str, trailing_context: int) -> bytes:
    """The converter's flatbuffer with our tensor names and a dynamic sequence dimension."""
    from converters import real_length

    L = graph.max_seq_length
    return make_sequence_dynamic(rename_io_tensors(data), L,
                                 real_length.dumps(L, trailing_context), step, graph.split_rows,
                                 graph.build_length)


def _input_names(data: bytes) -> list:
    from tensorflow.lite.python import schema_py_generated as fb

    model = fb.Model.GetRootAs(bytes(data), 0)
    sub = model.Subgraphs(0)
    return [sub.Tensors(sub.Inputs(i)).Name().decode().split(":")[0] for i in range(sub.InputsLength())]


class _FastCalibrator:
    """Drop-in for TF's `Calibrator.calibrate()` used by TFLiteConverter's full-int8 path.

    TF's calibrator runs the float model once per sample in a logging interpreter that is
    single-threaded and slow (~0.2-0.5 s per [1, 128] sample for a 4L-312D BERT on this
    machine, most of the full-int8 time). This runs the same float flatbuffer in LiteRT's
    optimized builtin kernels with all tensors preserved, records each float activation's range
    and writes it into the tensors' quantization min/max, exactly the model `calibrate()`
    returns; TF's own MLIR quantizer then does the rest. `range_mode`:
      'minmax'  - global min/max over all samples (what TF's calibrator does)
      'mean'    - mean over samples of each sample's min/max (robust to a few outlier samples)
    """

    range_mode = "minmax"
    num_threads = 1
    # Operands of activation x activation BATCH_MATMULs (Q.K^T, P.V) get zero point 0: LiteRT
    # 2.1's int8 BATCH_MATMUL on x86 gives outputs offset by the right operand's zero point
    # (measured: attention context +0.2 on values of +-0.1; scripts/diagnose_full_int8.py).
    symmetric_matmul = True
    # Record ranges over real tokens only (positions with attention_mask 1, on the first axis of
    # length L of every per-token tensor); padded positions are computed but never used.
    mask_position: Optional[int] = None
    valid_tokens_only = False
    lengths: Optional[tuple] = None  # see _fast_calibration
    last_stats: dict = {}

    def __init__(self, model_content, *args, **kwargs):
        self._model = bytes(model_content)

    def calibrate(self, dataset_gen):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        from tensorflow.lite.python import schema_py_generated as fb
        from tensorflow.lite.tools import flatbuffer_utils

        model = flatbuffer_utils.convert_bytearray_to_object(bytearray(self._model))
        sub = model.subgraphs[0]
        float_acts = [i for i, t in enumerate(sub.tensors)
                      if t.type == fb.TensorType.FLOAT32
                      and not (model.buffers[t.buffer].data is not None
                               and len(model.buffers[t.buffer].data))]
        run = self._model
        if self.lengths:  # built at another length: its slices only fit that one until opened
            L, build, split = self.lengths
            run = make_sequence_dynamic(self._model, L, "{}", "calibration", split, build)
        it = Interpreter(model_content=run, num_threads=self.num_threads,
                         experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        inputs = [int(i) for i in sub.inputs]
        mins = {i: [] for i in float_acts}
        maxs = {i: [] for i in float_acts}
        n = 0
        restrict = self.valid_tokens_only and self.mask_position is not None
        current = None
        for sample in dataset_gen():
            if isinstance(sample, dict):
                raise ValueError("dict samples need a signature")
            L = int(np.asarray(sample[0]).shape[-1])
            if L != current:  # the float graph has a dynamic sequence dimension
                for idx in inputs:
                    it.resize_tensor_input(idx, [1, L])
                it.allocate_tensors()
                current = L
            for idx, arr in zip(inputs, sample):
                it.set_tensor(idx, np.asarray(arr))
            it.invoke()
            valid = np.flatnonzero(np.asarray(sample[self.mask_position]).reshape(-1)) if restrict else None
            for i in float_acts:
                x = it.tensor(i)()  # a view (no copy); valid until the next invoke
                if x.size:
                    if restrict and x.size > L and L in x.shape:
                        x = np.take(x, valid, axis=x.shape.index(L))
                    mins[i].append(float(x.min()))
                    maxs[i].append(float(x.max()))
                del x
            n += 1
        if n == 0:
            raise ValueError("empty representative dataset")
        symmetric = _matmul_operands(model) if self.symmetric_matmul else set()
        for i in float_acts:
            if not mins[i]:
                continue
            lo, hi = np.asarray(mins[i]), np.asarray(maxs[i])
            if self.range_mode == "mean":
                lo, hi = float(lo.mean()), float(hi.mean())
            else:
                lo, hi = float(lo.min()), float(hi.max())
            if i in symmetric:
                # zero point exactly 0: [-128, 127] steps of max|x| / 127
                m = max(abs(lo), abs(hi), 1e-8)
                lo, hi = -m * 128.0 / 127.0, m
            q = sub.tensors[i].quantization or fb.QuantizationParametersT()
            q.min, q.max = [lo], [hi]
            sub.tensors[i].quantization = q
        type(self).last_stats = {"samples": n, "tensors": len(float_acts), "range_mode": self.range_mode}
        return flatbuffer_utils.convert_object_to_bytearray(model)


def _matmul_operands(model) -> set:
    """Tensor indices that feed a BATCH_MATMUL, followed back through the ops that keep their
    input's quantization (RESHAPE, TRANSPOSE), so the whole chain shares one symmetric range."""
    from tensorflow.lite.python import schema_py_generated as fb

    sub = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    producer = {int(o): op for op in sub.operators for o in (op.outputs if op.outputs is not None else [])}
    same_scale = (fb.BuiltinOperator.RESHAPE, fb.BuiltinOperator.TRANSPOSE)
    out, todo = set(), []
    for op in sub.operators:
        if codes[op.opcodeIndex] == fb.BuiltinOperator.BATCH_MATMUL:
            todo.extend(int(t) for t in op.inputs[:2])
    while todo:
        t = todo.pop()
        if t < 0 or t in out:
            continue
        out.add(t)
        op = producer.get(t)
        if op is not None and codes[op.opcodeIndex] in same_scale:
            todo.append(int(op.inputs[0]))
    return out


@contextlib.contextmanager
def _fast_calibration(enabled: bool, range_mode: str = "minmax", num_threads: int = 1,
                      mask_position: Optional[int] = None, valid_tokens_only: bool = False,
                      lengths: Optional[tuple] = None):
    """Route TFLiteConverter's calibration through _FastCalibrator for the duration.
    lengths: (max_seq_length, build_length, split_rows) of a graph built at another length
    (student.build_length); the calibrator then runs a length-agnostic copy of it."""
    if not enabled:
        yield
        return
    from tensorflow.lite.python.optimize import calibrator as tf_calibrator

    original = tf_calibrator.Calibrator

    class Patched(original):  # keeps calibrate_and_quantize etc. for other code paths
        def __init__(self, model_content, *args, **kwargs):
            super().__init__(model_content, *args, **kwargs)
            self._fast = _FastCalibrator(model_content)
            self._fast.range_mode = range_mode
            self._fast.num_threads = num_threads
            self._fast.mask_position = mask_position
            self._fast.valid_tokens_only = valid_tokens_only
            self._fast.lengths = lengths

        def calibrate(self, dataset_gen):
            return self._fast.calibrate(dataset_gen)

    tf_calibrator.Calibrator = Patched
    try:
        yield
    finally:
        tf_calibrator.Calibrator = original


def rename_io_tensors(data: bytes) -> bytes:
    """Clean contract names on the graph's input/output tensors, plus a `serving_default`
    signature (inputs in contract order) so apps can bind by tensor name or signature name."""
    from tensorflow.lite.python import schema_py_generated as fb
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    sub = model.subgraphs[0]

    def clean(raw) -> str:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        name = name.split(":")[0]
        for n in INPUT_NAMES:
            if name == n or name.endswith("_" + n):
                return n
        return name

    in_index = {}
    for idx in sub.inputs:
        name = clean(sub.tensors[idx].name)
        if name not in INPUT_NAMES:
            raise ConversionError("tflite", f"unexpected TFLite input tensor {name!r}")
        sub.tensors[idx].name = name
        in_index[name] = int(idx)
    if len(sub.outputs) != 1:
        raise ConversionError("tflite", f"TFLite graph has {len(sub.outputs)} outputs, expected 1")
    out_idx = int(sub.outputs[0])
    sub.tensors[out_idx].name = OUTPUT_NAME

    def tmap(name, idx):
        t = fb.TensorMapT()
        t.name, t.tensorIndex = name, idx
        return t

    sig = fb.SignatureDefT()
    sig.signatureKey = "serving_default"
    sig.subgraphIndex = 0
    sig.inputs = [tmap(n, in_index[n]) for n in INPUT_NAMES]
    sig.outputs = [tmap(OUTPUT_NAME, out_idx)]
    model.signatureDefs = [sig]
    return flatbuffer_utils.convert_object_to_bytearray(model)


def make_sequence_dynamic(data: bytes, max_seq_length: int, contract: str,
                          step: str = "tflite", split_rows: int = 0,
                          build_length: Optional[int] = None) -> bytes:
    """Give a converted graph a dynamic sequence dimension (see the module docstring).

    Reshape shape constants are the only ops onnx2tf writes with the length baked in; a
    constant holding L exactly once gets -1 there. A constant holding L twice, or one that
    another op kind also reads, is refused (ConversionError) rather than guessed; with
    split_rows, L - split_rows (the rows after the first ones) counts as the length as well.
    `build_length` (default max_seq_length) is the L onnx2tf built the graph at, which these
    constants hold. Inputs get shape [1, max_seq_length] and shape_signature [1, -1];
    `contract` (real_length.dumps) is stored in the model's metadata list under real_length.KEY."""
    from tensorflow.lite.python import schema_py_generated as fb
    from tensorflow.lite.tools import flatbuffer_utils

    from converters import real_length

    L = int(build_length or max_seq_length)
    lengths = [L] + ([L - int(split_rows)] if split_rows else [])
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    sub = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    readers: dict = {}  # buffer index -> op kinds reading it
    for op in sub.operators:
        for k, t in enumerate(op.inputs if op.inputs is not None else []):
            if t >= 0:
                kind = "reshape_shape" if codes[op.opcodeIndex] == fb.BuiltinOperator.RESHAPE and k == 1 \
                    else "other"
                readers.setdefault(int(sub.tensors[t].buffer), set()).add(kind)
    patched = set()
    for op in sub.operators:
        if codes[op.opcodeIndex] != fb.BuiltinOperator.RESHAPE:
            continue
        opts = op.builtinOptions
        if opts is not None and getattr(opts, "newShape", None) is not None:
            shape = [int(v) for v in opts.newShape]
            if sum(shape.count(n) for n in lengths) == 1 and -1 not in shape:
                shape = [-1 if v in lengths else v for v in shape]
                opts.newShape = shape
        if op.inputs is None or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        tensor = sub.tensors[op.inputs[1]]
        buf = model.buffers[tensor.buffer]
        if int(tensor.buffer) in patched or buf.data is None or not len(buf.data):
            continue
        shape = np.frombuffer(bytes(bytearray(buf.data)), np.int32).copy()
        hits = int(np.isin(shape, lengths).sum())
        if hits == 0:
            continue
        if hits > 1 or -1 in shape or readers.get(int(tensor.buffer)) != {"reshape_shape"}:
            raise ConversionError(step, f"cannot make the sequence dimension dynamic: reshape "
                                        f"constant {shape.tolist()} holds the sequence length {L} "
                                        "ambiguously")
        shape[np.isin(shape, lengths)] = -1
        buf.data = np.frombuffer(shape.tobytes(), np.uint8)
        patched.add(int(tensor.buffer))
    for op in sub.operators:  # MobileBERT's trigram shifts: x[:, 1:] and x[:, :-1]
        if codes[op.opcodeIndex] == fb.BuiltinOperator.STRIDED_SLICE:
            _open_slice_end(model, sub, op, L)
    for idx in sub.inputs:
        t = sub.tensors[idx]
        t.shape = np.array([1, int(max_seq_length)], np.int32)
        t.shapeSignature = np.array([1, -1], np.int32)
    entry = fb.MetadataT()
    entry.name = real_length.KEY
    buf = fb.BufferT()
    buf.data = np.frombuffer(contract.encode(), np.uint8)
    model.buffers.append(buf)
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (real_length.KEY,
                                                                           real_length.KEY.encode())]
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _open_slice_end(model, sub, op, L: int) -> None:
    """A strided slice along the dynamic axis (output shape_signature -1, stride 1) whose end
    onnx2tf wrote as L ("to the end") or L - 1 ("all but the last") gets end_mask / -1: the
    same slice at any length. begin/end/strides constants are copied, not edited in place,
    when other ops share them."""
    out = sub.tensors[op.outputs[0]]
    sig = list(out.shapeSignature) if out.shapeSignature is not None else []
    consts = []
    for k in (1, 2, 3):
        buf = model.buffers[sub.tensors[op.inputs[k]].buffer] if len(op.inputs) > k else None
        if buf is None or buf.data is None or not len(buf.data):
            return
        consts.append(np.frombuffer(bytes(bytearray(buf.data)), np.int32).copy())
    begin, end, strides = consts
    opts = op.builtinOptions
    changed = False
    for axis, dim in enumerate(sig):
        if dim != -1 or axis >= len(end) or strides[axis] != 1 or opts.endMask & (1 << axis):
            continue
        if end[axis] == L:
            opts.endMask |= 1 << axis
            changed = True
        elif end[axis] == L - 1:
            end[axis] = -1
            changed = True
    if changed:
        from tensorflow.lite.python import schema_py_generated as fb

        buf = fb.BufferT()
        buf.data = np.frombuffer(end.tobytes(), np.uint8)
        model.buffers.append(buf)
        t = sub.tensors[op.inputs[2]]
        new = fb.TensorT()
        new.shape, new.type, new.buffer = t.shape, t.type, len(model.buffers) - 1
        new.name = (t.name.decode() if isinstance(t.name, bytes) else str(t.name)) + "/real_length"
        sub.tensors.append(new)
        op.inputs[2] = len(sub.tensors) - 1


def tflite_op_counts(data_or_path) -> tuple[dict, list]:
    """({builtin op name: count}, [custom op names]) of a .tflite flatbuffer."""
    from tensorflow.lite.python import schema_py_generated as fb

    data = Path(data_or_path).read_bytes() if isinstance(data_or_path, (str, os.PathLike)) \
        else bytes(data_or_path)
    model = fb.Model.GetRootAs(data, 0)
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        custom = oc.CustomCode()
        codes.append(("custom", custom.decode()) if custom else ("builtin", names.get(code, str(code))))
    counts: dict = {}
    custom_ops: list = []
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for o in range(sub.OperatorsLength()):
            kind, name = codes[sub.Operators(o).OpcodeIndex()]
            if kind == "custom":
                if name not in custom_ops:
                    custom_ops.append(name)
                name = f"CUSTOM:{name}"
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items())), custom_ops


def tflite_tensor_types(data_or_path) -> dict:
    """{dtype name: total bytes of constant buffers} (shows whether weights are int8)."""
    from tensorflow.lite.python import schema_py_generated as fb

    data = Path(data_or_path).read_bytes() if isinstance(data_or_path, (str, os.PathLike)) \
        else bytes(data_or_path)
    model = fb.Model.GetRootAs(data, 0)
    tnames = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    out: dict = {}
    sub = model.Subgraphs(0)
    for t in range(sub.TensorsLength()):
        tensor = sub.Tensors(t)
        buf = model.Buffers(tensor.Buffer())
        size = buf.DataLength() or (buf.Size() if hasattr(buf, "Size") else 0)
        if size:
            k = tnames.get(tensor.Type(), str(tensor.Type()))
            out[k] = out.get(k, 0) + int(size)
    return out


_NOT_OPS = ("function", "lite", "Tensor", "TensorSpec", "float32", "int32")


def _flex_ops(text: str) -> list[str]:
    ops = []
    for m in re.finditer(r"\btf\.(\w+)|\bFlex(\w+)", text):
        op = m.group(1) or m.group(2)
        if op and op not in ops and op not in _NOT_OPS:
            ops.append(op)
    return ops


def _onnx2tf_op(text: str) -> Optional[str]:
    m = re.search(r"(\w+) OP is not yet implemented", text)
    if m:
        return m.group(1)
    m = re.search(r"onnx_op_type:\s*(\w+)", text)
    return m.group(1) if m else None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]) if lines else ""
