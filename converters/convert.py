"""`convert_all`: a distilled student directory -> every on-device artifact + convert.json.

Steps (each timed; each artifact validated before it gets its final name):
  load             read + check the model dir, tokenizer, validation inputs, float reference
  onnx             export (int32 inputs, explicit mask), onnxsim, validate -> model.onnx
  tflite_graph     onnx2tf builds the TF graph once (no files, no checks we do not need)
  tflite_fp32      TFLite builtins, fp32                           -> model_fp32.tflite
                   (every .tflite: + softmax `probabilities` output and MediaPipe Model Metadata)
  tflite_int8      dynamic-range int8 (weights incl. embeddings)   -> model_int8.tflite
  tflite_int8_full full int8, calibrated on task texts             -> model_int8_full.tflite
  ptl_int8         dynamic int8 Linear + int8 embeddings, traced   -> model_int8.ptl
  pte_fp32         torch.export, XNNPACK-delegated, dynamic length -> model_fp32.pte
  pte_int8         the same, dynamic int8 Linear + int8 embeddings -> model_int8.pte

Intermediate files live in `<out>/.convert-work-<pid>/`. Artifacts are written and validated
there and get their final names together, only when every required target passed: a failed or
interrupted run leaves the previous outputs as they were. On failure the work dir becomes
`<out>/_failed_<step>/` (error.txt, the native TF/LiteRT log) and a one-line ConversionError names
the step and, when known, the offending op. A target listed as optional that fails is left out
and reported (`failed` in convert.json) instead. Cost: `scripts/benchmark_convert.py`, figures in
docs/. Threads: PyTorch runs with 1 thread (OpenMP spin-waiting on a shared 2-core machine made
the quantized lite interpreter far slower with 2); `threads` sets TF/LiteRT/onnxruntime threads.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from converters.common import (ARTIFACTS, DEFAULT_MAX_SEQ_LENGTH, DEFAULT_NUM_CALIBRATION, INPUT_NAMES,
                               PTE_BACKENDS, REPORT_NAME, TFLITE_BACKENDS, ConversionError, StepLog, parse_targets,
                               quiet_executorch, quiet_tensorflow, set_native_log)
from converters.files import sha256_file

# Registry formats convert_all has a step for (onnx export, TFLite via onnx2tf, lite
# interpreter, ExecuTorch).
FORMATS = ("onnx", "tflite", "ptl", "pte")
CALIBRATION_SEED = 20261120


def sample_calibration_texts(texts: Optional[Sequence[str]], n: int) -> tuple[list[str], str]:
    """Up to n texts, a fixed-seed sample; falls back to the built-in validation sentences."""
    from converters.validate import LONG_TEXT, VALIDATION_TEXTS

    if texts:
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        base = list(VALIDATION_TEXTS) + [LONG_TEXT, ""]
        return base[: max(1, n)], "built-in sentences (pass calibration_texts for the task's own)"
    rng = np.random.default_rng(CALIBRATION_SEED)
    idx = rng.permutation(len(texts))[: max(1, n)]
    return [texts[i] for i in sorted(idx)], "calibration_texts"


class _Run:
    """Bookkeeping of one convert_all call: work dir, step timing, failure handling."""

    def __init__(self, out_dir: Path, progress: bool):
        self.out = out_dir
        self.work = out_dir / f".convert-work-{os.getpid()}"
        self.progress = progress
        self.log = StepLog()
        self.step = "setup"
        self.threads = None
        self.optional: set = set()
        self.failed: dict = {}  # optional target -> why it was left out
        self.ready: dict = {}  # target -> validated artifact in the work dir

    def publish(self, targets) -> None:
        """Give every validated artifact its final name, only once all targets are done, so a
        failed or interrupted run leaves the previous outputs as they were. Earlier outputs of a
        target that failed this time are removed: they are not this run's."""
        for backend in targets:
            final = self.out / ARTIFACTS[backend]
            if backend in self.ready:
                # Same file system (the work dir is inside out): each rename is atomic.
                os.replace(self.ready[backend], final)
            else:
                final.unlink(missing_ok=True)
        for old in self.out.glob("_failed_*"):  # debug folders of earlier runs
            if old.name[len("_failed_"):] not in self.failed:
                shutil.rmtree(old, ignore_errors=True)

    def attempt(self, backend: str, step) -> None:
        """Run one target's conversion + validation; an optional target's failure is recorded
        and its files kept in `_failed_<backend>/` instead of stopping the conversion."""
        try:
            step()
        except ConversionError as e:
            if backend not in self.optional:
                raise
            dest = self.out / f"_failed_{backend}"
            dest.mkdir(exist_ok=True)
            for f in self.work.glob(f"{ARTIFACTS[backend]}*"):
                os.replace(f, dest / f.name)
            (dest / "error.txt").write_text(f"step: {backend}\n{traceback.format_exc()}",
                                            encoding="utf-8")
            self.failed[backend] = {"reason": e.reason, "op": e.op, "debug_dir": str(dest)}
            self.say(f"{backend}: FAILED, left out (optional target): {e.reason}")

    def say(self, msg: str) -> None:
        if self.progress:
            print(f"[convert {self.log.total():6.1f}s] {msg}", file=sys.stderr, flush=True)

    def begin(self, step: str) -> float:
        self.step = step
        self._cpu0 = time.process_time()
        return time.perf_counter()

    def end(self, step: str, t0: float) -> float:
        dt = time.perf_counter() - t0
        self.log.add(step, dt, time.process_time() - self._cpu0)
        return dt

    def fail(self, exc: BaseException) -> BaseException:
        dest = self.out / f"_failed_{self.step}"
        try:
            if dest.exists():
                shutil.rmtree(dest)
            if self.work.exists():
                os.replace(self.work, dest)
            else:
                dest.mkdir(parents=True)
            (dest / "error.txt").write_text(
                f"step: {self.step}\n{''.join(traceback.format_exception(exc))}", encoding="utf-8")
            (dest / "step_seconds.json").write_text(json.dumps(self.log.seconds, indent=2))
        except OSError:
            dest = self.work
        if isinstance(exc, ConversionError):
            exc.step = self.step  # the message names the step its debug folder is named after
            return exc.with_debug_dir(dest)
        return exc


def convert_all(model_dir, out_dir, targets=None, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
                calibration_texts: Optional[Sequence[str]] = None,
                num_calibration: int = DEFAULT_NUM_CALIBRATION, progress: bool = True,
                threads: Optional[int] = None, approximate_gelu: bool = False,
                validation_texts: Optional[Sequence[str]] = None,
                full_int8_mask_value: Optional[float] = None,
                optional: Sequence[str] = (), metadata: bool = True,
                full_int8_qat_steps: int = 0) -> dict:
    """Convert `model_dir` to the requested targets (backend ids, default all) in `out_dir`.

    Returns the report (also written to `<out_dir>/convert.json`). Raises ConversionError (a
    BertEdgeError) naming the step (and op) on failure. A target listed in `optional` that
    fails its conversion or validation does not stop the others: its reason goes to the
    report's `failed` section, its files to `<out_dir>/_failed_<target>/`, and no artifact gets
    its final name (the chain's parity gate then reports it and the bundle leaves it out).
    metadata=True writes MediaPipe/Task Library Model Metadata and a `probabilities` output into
    every .tflite (converters/tflite_metadata.py) before it is validated.
    full_int8_qat_steps > 0 fine-tunes a copy of the student that many steps with the full-int8
    quantization simulated (converters/qat.py, on calibration_texts) before full int8 is
    converted from it; the file is still validated against the float student.
    """
    quiet_tensorflow()
    quiet_executorch()
    targets = parse_targets(targets)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConversionError("setup", f"output path {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(out_dir, progress)
    run.optional = set(optional)
    # torch first, before the work dir exists: an interrupt during the imports leaves nothing.
    t0 = run.begin("setup")
    import torch
    import transformers  # noqa: F401  (import time is part of the conversion; timed here)

    if run.work.exists():
        shutil.rmtree(run.work)
    run.work.mkdir()
    run.end("setup", t0)

    # Always one torch thread: the torch work here is small (trace, quantize, a few forward
    # passes), and on a shared 2-core box OpenMP spin-waiting made the quantized
    # lite-interpreter runs 50x slower with 2 threads. `threads` is for TF/LiteRT/ORT.
    saved_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        set_native_log(run.work / "native_stderr.log")
        report = _convert(run, model_dir, out_dir, targets, max_seq_length, calibration_texts,
                          num_calibration, threads, approximate_gelu, validation_texts,
                          full_int8_mask_value, metadata, full_int8_qat_steps, saved_threads)
    except KeyboardInterrupt:
        # Interrupted, not failed: nothing to debug, and the previous outputs stand as they were.
        shutil.rmtree(run.work, ignore_errors=True)
        raise
    except BaseException as e:
        raise run.fail(e)
    finally:
        set_native_log(None)
        torch.set_num_threads(saved_threads)
    shutil.rmtree(run.work, ignore_errors=True)
    return report


def _convert(run: _Run, model_dir: Path, out_dir: Path, targets: list, L: int, calibration_texts,
             num_calibration: int, threads, approximate_gelu: bool, validation_texts,
             full_int8_mask_value, metadata: bool = True, qat_steps: int = 0,
             train_threads: int = 1) -> dict:
    """The steps in order; each target's conversion + validation is one `_Conversion` method."""
    c = _Conversion(run, model_dir, out_dir, targets, L, calibration_texts, num_calibration,
                    threads, approximate_gelu, validation_texts, full_int8_mask_value, metadata,
                    qat_steps, train_threads)
    c.load()
    want_tflite = [b for b in targets if b in TFLITE_BACKENDS]
    if "onnx" in targets or want_tflite:
        c.onnx()
    if want_tflite:
        c.tflite_graph()
        for backend in want_tflite:
            run.attempt(backend, lambda: c.tflite(backend))
    if "ptl_int8" in targets:
        run.attempt("ptl_int8", c.ptl)
    for backend in [b for b in targets if b in PTE_BACKENDS]:
        run.attempt(backend, lambda: c.pte(backend))
    return c.report()


class _Conversion:
    """One model's conversion: what `load` read, the graphs later steps share (the simplified
    ONNX export, the checked TF graph) and each validated artifact's report entry."""

    def __init__(self, run: _Run, model_dir: Path, out_dir: Path, targets: list, L: int,
                 calibration_texts, num_calibration: int, threads, approximate_gelu: bool,
                 validation_texts, full_int8_mask_value, metadata: bool, qat_steps: int,
                 train_threads: int):
        self.run, self.work = run, run.work
        self.model_dir, self.out_dir, self.targets, self.L = model_dir, out_dir, targets, L
        self.calibration_texts, self.num_calibration = calibration_texts, num_calibration
        self.user_threads = int(threads) if threads else None
        self.threads = run.threads = self.user_threads or 1
        self.train_threads = train_threads
        self.approximate_gelu, self.validation_texts = approximate_gelu, validation_texts
        self.full_int8_mask_value, self.metadata, self.qat_steps = (full_int8_mask_value,
                                                                    metadata, qat_steps)
        self.results: dict = {}  # backend -> report entry
        self.facts: dict = {}  # conversion-wide facts for the report

    # -- load -------------------------------------------------------------------------------
    def load(self) -> None:
        from converters import real_length, validate
        from converters.student import load_student

        t0 = self.run.begin("load")
        self.student = student = load_student(self.model_dir, self.L)
        self.cfg = cfg = student.config
        self.context = real_length.trailing_context(student.model_type)
        # every artifact runs sentences at their own length
        self.contract = real_length.dumps(self.L, self.context)
        vocab_size = int(cfg.get("vocab_size") or len(student.tokenizer))
        self.vset = validate.build_validation_set(
            student.tokenizer, self.L, vocab_size, texts=self.validation_texts,
            type_vocab_size=int(cfg.get("type_vocab_size") or 2))
        validate.compute_reference(self.vset, student.model)
        self.run.say(f"load: {student.model_type} {cfg.get('num_hidden_layers')}L-"
                     f"{cfg.get('hidden_size')}H, {student.num_labels} labels, {self.vset.n} "
                     f"validation cases ({self.run.end('load', t0):.1f}s)")

    def _finish(self, backend: str, cand: Path, t0: float, extra: dict, ops=None,
                vset=None) -> None:
        """Validate a converted candidate (against `vset`, default the float model's), then
        record it: report entry (with its op counts), ready for its final name, progress line."""
        from converters import validate

        t_conv = time.perf_counter() - t0
        tv = time.perf_counter()
        metrics = validate.validate_artifact(cand, backend, vset or self.vset, backend, self.threads)
        if ops is not None:
            metrics["ops"] = ops
        self.run.ready[backend] = cand
        self.results[backend] = _artifact_entry(cand, t_conv, time.perf_counter() - tv, metrics,
                                                extra)
        self.run.end(backend, t0)
        self.run.say(_line(backend, self.results[backend]))

    # -- onnx -------------------------------------------------------------------------------
    def onnx(self) -> None:
        """The simplified export with a float mask-bias input (what onnx2tf gets), and from it
        model.onnx with the contract's int mask."""
        from converters import onnx_export, real_length

        t0 = self.run.begin("onnx")
        self.bias_onnx = self.work / "graph_bias.onnx"
        raw = self.work / "graph_bias_raw.onnx"
        onnx_export.export_onnx(self.student.model, raw, self.L, mask_input="bias")
        simp = onnx_export.simplify_onnx(raw, self.bias_onnx)
        if "onnx" in self.targets:
            cand = self.work / ARTIFACTS["onnx"]
            onnx_export.add_int_mask_input(self.bias_onnx, cand)
            onnx_export.set_metadata(cand, real_length.KEY, self.contract)
            self._finish("onnx", cand, t0, {"opset": onnx_export.OPSET, "onnxsim": simp},
                         ops=onnx_export.onnx_op_counts(cand))
        else:
            self.run.end("onnx", t0)

    # -- tflite -----------------------------------------------------------------------------
    def tflite_graph(self) -> None:
        """onnx2tf builds the TF graph every .tflite is converted from, checked once."""
        from converters import int8_graph, onnx_export, tflite
        from converters.families import position_offset
        from converters.student import build_length

        run, work, L, facts = self.run, self.work, self.L, self.facts
        t0 = run.begin("tflite_graph")
        t_imp = time.perf_counter()
        tflite.import_frameworks()
        facts["tensorflow_import_seconds"] = round(time.perf_counter() - t_imp, 3)
        # onnx2tf builds at [1, Lb]: Lb = L unless L (or L - 1) equals a model width, which
        # onnx2tf can confuse with it (MobileBERT's 128-wide bottleneck at L = 128: its trigram
        # slices cut the wrong axis); the file is made length-agnostic afterwards.
        self.Lb = Lb = build_length(self.cfg, L)
        facts["tflite_build_length"] = Lb
        tf_onnx = work / "graph_bias_static.onnx"
        self.first_row = position_offset(self.cfg)  # RoBERTa: positions from padding_idx + 1
        self.positions = onnx_export.static_copy(self.bias_onnx, tf_onnx, Lb, table_rows=L,
                                                 first_row=self.first_row)
        if self.positions is None and Lb != L:  # positions folded into constants of length Lb
            raise ConversionError("tflite_graph", f"max_seq_length={L} equals a model width and "
                                                  "the graph has no position-embedding lookup to "
                                                  "build it at another length: pick another "
                                                  "max_seq_length")
        self.vset_tf = self.vset  # what the TF graph and the .tflite files are checked against
        self.tf_model = self.student.model  # what the TF graph is converted from
        if self.approximate_gelu:
            tf_onnx = self._approximate_gelu(tf_onnx) or tf_onnx
        # Every GELU as one op: exact GELU's Erf has no TFLite builtin (it would be FlexErf)
        fused = tf_onnx.with_name(tf_onnx.stem + "_gelu.onnx")
        facts["gelu_fused"] = int8_graph.fuse_gelu(tf_onnx, fused)
        self.tf_onnx = fused
        onnx_export.check_tflite_lowerable(onnx_export.onnx_op_counts(fused), "tflite_graph")
        if self.user_threads:
            _tf_threads(self.user_threads)
        self.graph_float, facts["tflite_graph_check"] = self._build_graph(fused, work, "tflite_graph")
        run.say(f"tflite_graph: onnx2tf graph built and checked, max|dlogit| "
                f"{facts['tflite_graph_check']['max_abs_diff']:.2e} "
                f"({run.end('tflite_graph', t0):.1f}s)")
        self._metadata_setup()

    def _approximate_gelu(self, tf_onnx: Path) -> Optional[Path]:
        """--approximate-gelu: the TF graph from a tanh-GELU copy of the model (None when the
        model has no exact GELU). Each conversion is checked against the model it converts;
        what the approximation itself costs is reported separately."""
        from converters import onnx_export, validate

        model_approx = _copy_model(self.student.model)
        n = onnx_export.approximate_gelu_(model_approx)
        self.run.say(f"tflite_graph: approximate_gelu: {n} exact GELU(s) -> tanh GELU")
        if not n:
            return None
        self.tf_model = model_approx
        raw = self.work / "graph_bias_tanh_gelu_raw.onnx"
        out = self.work / "graph_bias_tanh_gelu.onnx"
        onnx_export.export_onnx(model_approx, raw, self.L, mask_input="bias", step="tflite_graph")
        onnx_export.simplify_onnx(raw, out, step="tflite_graph")
        self.positions = onnx_export.static_copy(out, out, self.Lb, table_rows=self.L,
                                                 first_row=self.first_row)
        self.vset_tf = dataclasses.replace(self.vset)
        validate.compute_reference(self.vset_tf, model_approx)
        ref, approx = self.vset.reference, self.vset_tf.reference
        self.facts["approximate_gelu_effect"] = {
            "replaced_modules": n,
            "max_abs_logit_diff_vs_exact": float(np.abs(approx - ref).max()),
            "argmax_agreement_vs_exact": float(np.mean(approx.argmax(1) == ref.argmax(1))),
        }
        return out

    def _build_graph(self, onnx_path: Path, scratch: Path, step: str, ref=None,
                     split_rows: int = 0):
        """onnx2tf graph + serving function, checked against the model it was exported from
        (`ref`, default the float student). If onnx2tf's fast path guessed a layout wrong,
        rebuild with its reference run. split_rows: cls_split.py's graph (1)."""
        from converters import onnx_export, tflite

        ref = ref or self.vset_tf

        def build(reference_run: bool):
            keras_model = tflite.build_keras_model(onnx_path, scratch, step=step,
                                                   reference_run=reference_run)
            graph = tflite.ServingGraph(keras_model, self.L, onnx_export.MASK_VALUE,
                                        position_table=self.positions, build_length=self.Lb,
                                        split_rows=split_rows)
            return graph, _graph_check(tflite, graph, ref)

        graph, check = build(reference_run=False)
        if not check["ok"]:
            self.run.say(f"{step}: fast onnx2tf graph is off by {check['max_abs_diff']:.3g}; "
                         "rebuilding with onnx2tf's reference run")
            graph, check = build(reference_run=True)
            check["rebuilt_with_reference_run"] = True
            if not check["ok"]:
                raise ConversionError(
                    step, f"the TF graph onnx2tf built disagrees with the float student "
                          f"(max |logit diff| {check['max_abs_diff']:.3g} > "
                          f"{check['tolerance']:.3g} on {check['worst_case']}); see onnx2tf.log")
        return graph, check

    def _metadata_setup(self) -> None:
        from converters import tflite_metadata

        cfg, student = self.cfg, self.student
        self.md_writer = _dist_version("mediapipe")
        self.md_version = _dist_version("bert-edge")
        self.md_name = (f"bert-edge {student.model_type} {cfg.get('num_hidden_layers')}L-"
                        f"{cfg.get('hidden_size')}H text classifier ({', '.join(student.labels)})")
        if self.metadata:
            why = tflite_metadata.writer_available()
            if why:
                raise ConversionError("tflite_graph", f"TFLite metadata needs MediaPipe's writer "
                                                      f"(mediapipe): {why}; or convert "
                                                      "with metadata=False")

    def tflite(self, backend: str) -> None:
        """One .tflite variant from the checked graph (full int8: from its own rewritten graph,
        calibrated), + metadata, validated."""
        from converters import tflite

        variant = backend[len("tflite_"):]
        t0 = self.run.begin(backend)
        extra: dict = {}
        graph, representative = self.graph_float, None
        if variant == "int8_full":
            graph, representative = self._full_int8_graph(backend, extra)
        tflite._FastCalibrator.last_stats = {}
        data = tflite.convert_variant(graph, variant, backend, representative=representative,
                                      num_threads=self.threads or 1,
                                      trailing_context=_trailing(self.context, extra))
        if variant == "int8_full":
            extra["calibration"]["ranges"] = dict(tflite._FastCalibrator.last_stats)
        if self.metadata:
            data = self._add_metadata(data, extra)
        cand = self.work / ARTIFACTS[backend]
        cand.write_bytes(data)
        extra["weight_bytes_by_type"] = tflite.tflite_tensor_types(cand)
        self._finish(backend, cand, t0, extra, vset=self.vset_tf)

    def _full_int8_graph(self, backend: str, extra: dict):
        """(graph, representative dataset) for full int8: the [CLS] row split out, optional QAT,
        LayerNorm and GELU rewritten (int8_graph.py), calibration texts padded to L."""
        from converters import cls_split, int8_graph, onnx_export, tflite, validate

        L, work = self.L, self.work
        mask_value = (tflite.FULL_INT8_MASK_VALUE if self.full_int8_mask_value is None
                      else float(self.full_int8_mask_value))
        texts, source = sample_calibration_texts(self.calibration_texts, self.num_calibration)
        enc = validate.encode(self.student.tokenizer, texts, L)
        # Padded to L: calibrating at real length (or padded only to the longest text) was
        # faster but never saw the masked scores or the late positions; on the demo student it
        # raised the max |logit diff| from 1.5 to 2.2 (docs/real-length.md).
        samples = [{k: enc[k][i:i + 1] for k in INPUT_NAMES} for i in range(len(texts))]
        src_onnx, ref, int8_model = self.tf_onnx, self.vset_tf, self.tf_model
        # The [CLS] row in its own tensors (cls_split.py): its outliers no longer set the int8
        # scale of every other token's (build_length keeps Lb - 1 clear of the model widths,
        # so the other rows' length stays unambiguous).
        extra["cls_split"] = cls_split.supported(self.tf_model) and L >= 2
        if self.qat_steps:
            qat_model, extra["qat"] = _quantization_aware(
                self.run, self.tf_model, self.student, self.calibration_texts, samples,
                self.qat_steps, mask_value, self.user_threads or self.train_threads,
                extra["cls_split"])
            if qat_model is not None:
                int8_model, ref = qat_model, dataclasses.replace(self.vset)
                validate.compute_reference(ref, qat_model)
        if extra["cls_split"] or int8_model is not self.tf_model:
            src_onnx = work / "graph_bias_int8_src.onnx"
            onnx_export.export_onnx(cls_split.wrap(int8_model) if extra["cls_split"]
                                    else int8_model, work / "graph_bias_int8_src_raw.onnx",
                                    L, mask_input="bias", step=backend)
            onnx_export.simplify_onnx(work / "graph_bias_int8_src_raw.onnx", src_onnx,
                                      step=backend)
            # embeddings stay frozen in QAT: `positions` still holds
            onnx_export.static_copy(src_onnx, src_onnx, self.Lb, step=backend, table_rows=L,
                                    first_row=self.first_row)
        int8_onnx = work / "graph_bias_int8.onnx"
        rewritten = int8_graph.rewrite_for_full_int8(src_onnx, int8_onnx)
        onnx_export.simplify_onnx(int8_onnx, int8_onnx, step=backend)
        graph, check = self._build_graph(int8_onnx, work / "int8_graph", backend, ref,
                                         1 if extra["cls_split"] else 0)
        extra["graph"] = {"rewritten": rewritten, "check": check}
        extra.update({"calibration": {"samples": len(samples), "source": source,
                                      "mean_tokens": float(enc["attention_mask"].sum(1).mean())},
                      "mask_value": mask_value})
        # yields dicts keyed by signature names
        return graph.with_mask_value(mask_value), lambda: iter(samples)

    def _add_metadata(self, data: bytes, extra: dict) -> bytes:
        """MediaPipe/Task Library metadata + a softmax `probabilities` output, written BEFORE
        validation so validation and parity check the file that ships."""
        from converters import tflite_metadata

        tm = time.perf_counter()
        data, md_tok = tflite_metadata.add_metadata(
            data, self.student.tokenizer, self.student.labels, name=self.md_name,
            version=self.md_version, vocab_file=self.model_dir / "vocab.txt",
            model_dir=self.model_dir)
        extra["metadata"] = {"writer": "mediapipe " + self.md_writer, "name": self.md_name,
                             "version": self.md_version, "tokenizer": md_tok["mediapipe"],
                             **({"no_tokenizer": md_tok["why"]} if "why" in md_tok else {}),
                             "outputs": [tflite_metadata.PROBS_NAME, "logits"],
                             "seconds": round(time.perf_counter() - tm, 3)}
        return data

    # -- torchscript mobile -----------------------------------------------------------------
    def ptl(self) -> None:
        from converters import torchscript_mobile

        t0 = self.run.begin("ptl_int8")
        cand = self.work / ARTIFACTS["ptl_int8"]
        ptl_facts = torchscript_mobile.convert_ptl(self.student.model, cand, self.L,
                                                   model_type=self.student.model_type)
        self._finish("ptl_int8", cand, t0, ptl_facts, ops=ptl_facts.pop("ops"))

    # -- executorch -------------------------------------------------------------------------
    def pte(self, backend: str) -> None:
        from converters import executorch_pte
        from converters.backends import REGISTRY

        t0 = self.run.begin(backend)
        cand = self.work / ARTIFACTS[backend]
        quantize = "int8" if REGISTRY[backend].precision == "int8" else None
        pte_facts = executorch_pte.convert_pte(self.student.model, cand, self.L, quantize,
                                               step=backend, trailing_context=self.context)
        self._finish(backend, cand, t0, pte_facts, ops=pte_facts.pop("ops_outside_delegate"))

    # -- report -----------------------------------------------------------------------------
    def report(self) -> dict:
        from converters.files import write_json_atomic

        self.run.begin("report")
        report = _report(self.student, self.model_dir, self.L, self.targets, self.results,
                         self.run, self.approximate_gelu, self.vset)
        report.update(self.facts)
        self.run.publish(self.targets)
        write_json_atomic(self.out_dir / REPORT_NAME, report)
        self.run.say(f"done in {report['total_seconds']:.1f}s -> {self.out_dir}")
        return report


def _quantization_aware(run: _Run, model, student, texts, samples, steps: int, mask_value: float,
                        threads: int, cls_split: bool) -> tuple:
    """converters/qat.py on a copy of `model`: (fine-tuned model or None, report facts)."""
    from converters import qat

    if student.model_type not in qat.SUPPORTED_MODEL_TYPES:
        why = (f"not run: quantization-aware fine-tuning covers "
               f"{', '.join(qat.SUPPORTED_MODEL_TYPES)} students, not {student.model_type}")
    elif not texts:
        why = "not run: no task texts (calibration_texts) to fine-tune on"
    else:
        run.say(f"tflite_int8_full: quantization-aware fine-tuning, {steps} steps")
        tuned, facts = qat.finetune(model, student.tokenizer, texts, samples, steps, mask_value,
                                    threads=threads, progress=run.progress, cls_split=cls_split)
        b, a = facts["simulated_before"], facts["simulated_after"]
        run.say(f"tflite_int8_full: QAT done in {facts['seconds']:.0f}s, simulated int8 vs float "
                f"agreement {b['argmax_agreement']:.2%} -> {a['argmax_agreement']:.2%}, mean "
                f"|dlogit| {b['mean_abs_diff']:.3f} -> {a['mean_abs_diff']:.3f}")
        return tuned, facts
    run.say(f"tflite_int8_full: QAT {why}")
    return None, {"steps": 0, "skipped": why}


def _trailing(context: int, extra: dict) -> int:
    """The trailing context a TFLite file records: the [CLS]-split graph (cls_split.py) needs at
    least one row after [CLS], so a [CLS]-only input is fed with one (masked) padded position."""
    return max(context, 1) if extra.get("cls_split") else context


def _graph_check(tflite, graph, vset) -> dict:
    """Max |logit diff| of the traced TF graph vs the float student on five validation cases
    (two texts, empty, max-length, [CLS] only): a wrong layout guess by onnx2tf shows on all of
    them; every artifact is then checked on the full set."""
    from converters.backends import bound as tolerance_bound
    from converters.validate import TOLERANCES

    n = vset.n
    rows = sorted({0, min(2, n - 1), max(0, n - 3), max(0, n - 2), n - 1})
    got = tflite.graph_logits(graph, {k: a[rows] for k, a in vset.arrays.items()})
    ref = vset.reference[rows]
    per_case = np.abs(got - ref).max(axis=1)
    bound = tolerance_bound(TOLERANCES["tflite_fp32"], float(np.abs(vset.reference).max()))
    worst = int(per_case.argmax())
    return {"ok": bool(np.all(np.isfinite(got)) and per_case.max() <= bound),
            "max_abs_diff": float(per_case.max()), "tolerance": bound,
            "worst_case": vset.kinds[rows[worst]], "cases": len(rows)}


def _dist_version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "unknown"


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _copy_model(model):
    import copy

    return copy.deepcopy(model).eval()


def _tf_threads(n: int) -> None:
    from converters.tflite import _tf

    tf = _tf()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TF already initialized: keep its settings


def _artifact_entry(path: Path, t_conv: float, t_val: float, metrics: dict, extra: dict) -> dict:
    return {"file": path.name, "size_bytes": path.stat().st_size, "sha256": sha256_file(path),
            "convert_seconds": round(t_conv, 3), "validate_seconds": round(t_val, 3),
            "validation": metrics, **extra}


def _line(backend: str, e: dict) -> str:
    v = e["validation"]
    return (f"{backend}: {e['file']} {e['size_bytes'] / 1e6:.1f} MB, max|dlogit| "
            f"{v['max_abs_diff']:.2e}, argmax {v['argmax_agreement']:.0%}, mask probe "
            f"{v['mask_probe_max_abs_diff']:.1e} ({e['convert_seconds']:.1f}s + "
            f"{e['validate_seconds']:.1f}s check)")


def _report(student, model_dir: Path, L: int, targets, results: dict, run: _Run,
            approximate_gelu: bool, vset) -> dict:
    import platform

    from converters import real_length
    from converters.hostinfo import cpu_info

    versions = {}
    for mod in ("torch", "transformers", "onnx", "onnxruntime", "onnxsim", "onnx2tf", "tensorflow",
                "ai_edge_litert", "executorch", "torchao"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", None)
    if "mediapipe" in sys.modules:
        versions["mediapipe"] = _dist_version("mediapipe")
    if "ai_edge_litert" not in versions or versions["ai_edge_litert"] is None:
        try:
            from importlib.metadata import version

            versions["ai_edge_litert"] = version("ai-edge-litert")
        except Exception:
            pass
    cfg = student.config
    return {
        "format_version": 1,
        "model_dir": str(model_dir),
        "model_type": student.model_type,
        "architecture": (cfg.get("architectures") or [None])[0],
        "model_config": {k: cfg.get(k) for k in ("hidden_size", "num_hidden_layers",
                                                 "num_attention_heads", "intermediate_size",
                                                 "vocab_size", "hidden_act") if k in cfg},
        "labels": student.labels,
        "max_seq_length": L,
        # Dynamic sequence dimension: [1, n], 1 <= n <= L (converters/real_length.py).
        "inputs": [{"name": n, "dtype": "int32", "shape": [1, -1]} for n in INPUT_NAMES],
        "sequence": real_length.contract(L, real_length.trailing_context(student.model_type)),
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [1, student.num_labels]}],
        "targets": targets,
        "artifacts": results,
        "failed": run.failed,
        "approximate_gelu": approximate_gelu,
        "validation_cases": vset.kinds,
        "step_seconds": run.log.seconds,
        "step_cpu_seconds": run.log.cpu_seconds,
        "total_seconds": run.log.total(),
        "load_average": _loadavg(),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "cpu": cpu_info(),
                 "threads": run.threads},
        "versions": versions,
    }
