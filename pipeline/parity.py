"""Parity: run the teacher, the float student and every artifact on the evaluation set, compare
them, and apply the gate thresholds.

Every model sees the same int32 inputs, tokenized up to the export `max_seq_length`; artifacts
run through their real runtimes (`converters.runtimes.load_runner`), one example at a time, at
each sentence's own length (what the app feeds, converters/real_length.py), and once more padded
to max_seq_length for the real-vs-padded check below. Latency is one median-length sentence.

Gate (thresholds in `ParityConfig`):
- every artifact: argmax agreement with the float student >= `min_agreement`;
- fp32 artifacts (registry precision fp32): max |logit - float student logit| <= `max_fp32_abs_diff`;
- int8 artifacts (registry precision int8): accuracy drop vs the float student
  <= `max_int8_accuracy_drop` points (labeled data only);
- every artifact with a dynamic sequence dimension: real-length and padded runs of the same
  file agree on every argmax, and differ by at most its registry tolerance (max |logit diff|);
- the float student: accuracy >= `min_teacher_share` x teacher accuracy (labeled data only).
An artifact that is missing, cannot be loaded, or produces non-finite logits fails too.

A breach of the student or of an artifact in `parity.required` fails the gate (GateFailure,
exit 3). A breach of any other artifact (by default the registry's optional ones: full int8 and
the legacy .ptl) is reported as FAIL and the artifact is kept out of the app bundle.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from converters.runtimes import load_runner, logits_in_chunks

from pipeline import __version__
from pipeline.errors import BertEdgeError, GateFailure

from converters.backends import ARTIFACTS, REGISTRY, ids  # the one backend table
from converters.files import sha256_file

FP32_BACKENDS = ids(precision="fp32")
INT8_BACKENDS = ids(precision="int8")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PARITY_JSON = "parity.json"
LOGITS_NPZ = "logits.npz"


# --- small helpers ---------------------------------------------------------------------------

def weights_size(model_dir: str | Path) -> int:
    d = Path(model_dir)
    return sum((d / w).stat().st_size for w in WEIGHT_FILES if (d / w).is_file()) or \
        sum(p.stat().st_size for p in d.glob("*.safetensors"))


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def kl_divergence(p_logits: np.ndarray, q_logits: np.ndarray) -> float:
    """Mean KL(softmax(p) || softmax(q)) over examples, in nats."""
    lp, lq = log_softmax(p_logits), log_softmax(q_logits)
    return float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))


def _finite(x) -> Optional[float]:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# --- data ------------------------------------------------------------------------------------

@dataclass
class EvalSet:
    texts: list
    pairs: Optional[list]
    labels: Optional[list]  # None: unlabeled
    label_names: list
    source: str

    def __len__(self) -> int:
        return len(self.texts)


def load_eval_set(spec: str, data_cfg, label_names: Sequence[str], max_examples: int = 0) -> EvalSet:
    """The dev set named by `spec` ('default', a labeled file, hf:NAME) or a plain .txt file of
    texts (no labels: accuracy columns are left empty)."""
    from pipeline.data import load_texts, resolve_labeled

    if spec != "default" and not spec.startswith("hf:") and Path(spec).suffix.lower() == ".txt":
        texts = load_texts(spec)
        if max_examples:
            texts = texts[:max_examples]
        return EvalSet(texts, None, None, list(label_names), spec)
    data = resolve_labeled(spec, "dev", data_cfg, label_names=list(label_names))
    if max_examples:
        data = data.subset(max_examples)
    if len(data) == 0:
        raise BertEdgeError(f"{spec}: evaluation set is empty")
    return EvalSet(data.texts, data.pairs, data.labels, list(data.label_names), data.source)


# --- running models --------------------------------------------------------------------------

def hf_fixed_logits(model, inputs: dict, batch_size: int = 32, desc: str = "",
                    progress: bool = True, trim: bool = True) -> np.ndarray:
    """Logits of a PyTorch classifier on fixed-padded int32 inputs.

    trim=True runs length-sorted batches cut to their longest attention mask plus the padded
    positions the model reads (real_length.trailing_context: MobileBERT's trigram embedding
    gives the last token its right neighbour, a [PAD] whose embedding need not be zero): the
    same tokens and the same masked attention (padded keys get zero weight either way), several
    times faster than pushing max_seq_length pads through the model; the logits match the
    fixed-length run to float rounding (~1e-7)."""
    import torch
    from tqdm.auto import tqdm

    from converters.real_length import keep_lengths, trailing_context

    n = len(inputs["input_ids"])
    lengths = keep_lengths(np.asarray(inputs["attention_mask"]),
                           trailing_context(getattr(model.config, "model_type", None)))
    order = np.argsort(lengths, kind="stable") if trim else np.arange(n)
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for s in tqdm(range(0, n, batch_size), desc=desc, disable=not progress, leave=False,
                      unit="batch"):
            idx = order[s:s + batch_size]
            width = max(1, int(lengths[idx].max())) if trim else inputs["input_ids"].shape[1]
            batch = {k: torch.from_numpy(np.asarray(v[idx, :width], dtype=np.int64))
                     for k, v in inputs.items()}
            out[idx] = model(**batch).logits.float().numpy()
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# --- MediaPipe Tasks ---------------------------------------------------------------------------

MEDIAPIPE_BACKENDS = ids(format="tflite", bundlable=True)
MEDIAPIPE_MIN_AGREEMENT = 0.995  # int8 files: agreement with the project's LiteRT runner
# An fp32 file computes the same function under MediaPipe and LiteRT, so any score difference
# beyond float noise is tokenization: it must agree on every text, within this bound.
MEDIAPIPE_FP32_MAX_SCORE_DIFF = 1e-3
MEDIAPIPE_LISTED = 10  # differing texts named in the report, per file


def mediapipe_check(path: Path, data: EvalSet, lite_logits: np.ndarray, progress: bool = True,
                    tokenizer=None, fp32: bool = False, max_seq_length: int = 128) -> dict:
    """The dev texts and the probe set (converters/mediapipe_text.PROBE_TEXTS: accents, scripts,
    emoji, case, long words) through MediaPipe's TextClassifier (its own tokenizer, the file's
    metadata; the text normalized as the app does, `mediapipe_input(tokenizer)`) next to the
    LiteRT runner's logits on Hugging Face's ids: accuracy, argmax agreement, max |score diff|
    (head-0 scores vs softmax of the LiteRT logits) and the texts that differ. MediaPipe-ready:
    an fp32 file agrees on every text within MEDIAPIPE_FP32_MAX_SCORE_DIFF; an int8 file on
    MEDIAPIPE_MIN_AGREEMENT of them (texts over max_seq_length tokens, which MediaPipe truncates
    its own way, are listed apart). Otherwise `reason` names the first differing text. Not a gate
    rule: the LiteRT path the app ships is gated; this says whether MediaPipe users get the
    same model."""
    from converters.mediapipe_text import (PROBE_TEXTS, MediaPipeTextRunner, mediapipe_input,
                                           mediapipe_version)

    out = {"ready": False, "version": mediapipe_version(), "min_agreement": MEDIAPIPE_MIN_AGREEMENT}
    if out["version"] is None:
        return dict(out, ready=None, reason="not checked: mediapipe is not installed")
    if data.pairs is not None:
        return dict(out, reason="pair task: MediaPipe's TextClassifier takes one text")
    from converters.tflite_metadata import read_metadata

    md = read_metadata(path)
    if md and not md.get("tokenizer"):  # metadata that says: no MediaPipe tokenizer fits (BPE)
        return dict(out, ready=None, reason="not checked: no MediaPipe tokenizer for this "
                                            "model's tokenizer family (see convert.json metadata)")
    prepare = mediapipe_input(tokenizer) if tokenizer is not None else None
    probe = list(PROBE_TEXTS) if tokenizer is not None else []
    try:
        runner = MediaPipeTextRunner(path, num_labels=lite_logits.shape[1], prepare=prepare)
        with runner:
            from tqdm.auto import tqdm

            texts = list(data.texts) + probe
            scores = np.concatenate([runner.scores(texts[s:s + 50]) for s in tqdm(
                range(0, len(texts), 50), desc=f"parity mediapipe {path.name}",
                disable=not progress, leave=False)])
        if probe:
            from pipeline.data.tokenize import encode_fixed

            enc = encode_fixed(tokenizer, probe, None, int(max_seq_length))
            lite_logits = np.concatenate([lite_logits, load_runner(path).logits(
                enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])])
    except BertEdgeError as e:
        return dict(out, reason=_first_line(e))
    ref = np.exp(log_softmax(lite_logits)) if runner.head_name != "logits" else lite_logits
    n_dev = len(data)
    pred = scores.argmax(-1)
    same = pred == lite_logits.argmax(-1)
    diff = np.abs(scores - ref).max(-1) if len(scores) else np.zeros(0)
    bad = ~same | (diff > MEDIAPIPE_FP32_MAX_SCORE_DIFF) if fp32 else ~same
    # Texts longer than max_seq_length: MediaPipe truncates them its own way (measured: scores
    # off by ~0.02 on a tiny model); listed, never counted against an fp32 file.
    over = np.zeros(len(texts), bool)
    if tokenizer is not None:
        lengths = [len(x) for x in tokenizer(texts, truncation=False)["input_ids"]]
        over = np.asarray(lengths) > int(max_seq_length)
    over_bad = bad & over
    bad = bad & ~over
    labels = np.asarray(data.labels) if data.labels is not None else None
    out.update(head=runner.head_name, n=n_dev, probe_n=len(probe), normalized=prepare is not None,
               fp32=fp32, agreement_litert=float(np.mean(same[:n_dev])) if n_dev else None,
               probe_agreement_litert=float(np.mean(same[n_dev:])) if probe else None,
               accuracy=float(np.mean(pred[:n_dev] == labels)) if labels is not None else None,
               litert_accuracy=(float(np.mean(lite_logits[:n_dev].argmax(-1) == labels))
                                if labels is not None else None),
               max_abs_score_diff=_finite(diff[:n_dev].max()) if n_dev else None,
               probe_max_abs_score_diff=_finite(diff[n_dev:].max()) if probe else None,
               score_sum_max_dev=_finite(np.abs(scores.sum(-1) - 1).max()) if len(scores) else None,
               differing=[{"text": texts[i][:200], "set": ("dev" if i < n_dev else "probe")
                           + (" over-length" if over[i] else ""),
                           "score_diff": _finite(diff[i]), "same_label": bool(same[i])}
                          for i in np.argsort(-diff) if bad[i] or over_bad[i]][:MEDIAPIPE_LISTED],
               differing_count=int(bad.sum()), over_length_differing=int(over_bad.sum()))
    if not np.all(np.isfinite(scores)):
        out["reason"] = "non-finite or missing scores"
    elif fp32 and bad.any():
        first = next(d for d in out["differing"] if "over-length" not in d["set"])
        out["reason"] = (f"{int(bad.sum())} of {len(texts)} texts differ from the LiteRT runner on an "
                         f"fp32 file (max |score diff| {first['score_diff']:.3g} on "
                         f"{first['text'][:60]!r}): MediaPipe tokenized them differently")
    elif not fp32 and np.mean(same) < MEDIAPIPE_MIN_AGREEMENT:
        out["reason"] = (f"agrees with the LiteRT runner on {np.mean(same):.2%} of texts "
                         f"(< {MEDIAPIPE_MIN_AGREEMENT:.1%})")
    else:
        out["ready"] = True
    return out


# --- metrics and gate ------------------------------------------------------------------------

@dataclass
class Breach:
    model: str  # teacher | student | backend id
    metric: str
    value: Optional[float]
    threshold: Optional[float]
    op: str  # the condition that had to hold: '>=', '<=', 'ok'
    required: bool
    detail: str = ""

    def message(self) -> str:
        if self.op == "ok":
            return f"{self.model}: {self.metric}: {self.detail}"
        v = "nan" if self.value is None else f"{self.value:.6g}"
        return f"{self.model}: {self.metric} = {v}, must be {self.op} {self.threshold:g}"


def model_metrics(logits: np.ndarray, teacher: np.ndarray, student: np.ndarray,
                  labels: Optional[Sequence[int]]) -> dict:
    finite = bool(np.all(np.isfinite(logits)))
    pred = logits.argmax(-1)
    diff = np.abs(logits.astype(np.float64) - student.astype(np.float64))
    m = {
        "accuracy": float(np.mean(pred == np.asarray(labels))) if labels is not None else None,
        "agreement_teacher": float(np.mean(pred == teacher.argmax(-1))),
        "agreement_student": float(np.mean(pred == student.argmax(-1))),
        "max_abs_diff": _finite(diff.max()) if finite and diff.size else None,
        "mean_abs_diff": _finite(diff.mean()) if finite and diff.size else None,
        "kl_teacher": _finite(kl_divergence(teacher, logits)) if finite else None,
        "finite": finite,
    }
    return m


def apply_gate(models: list[dict], pcfg, labeled: bool) -> list[Breach]:
    """Breaches of the thresholds in `pcfg` (a ParityConfig); marks each model PASS/FAIL."""
    required = set(pcfg.required)
    breaches: list[Breach] = []
    by_name = {m["name"]: m for m in models}
    student, teacher = by_name.get("student"), by_name.get("teacher")
    for m in models:
        mb: list[Breach] = []
        name, req = m["name"], m["kind"] == "student" or m.get("backend") in required
        if m["kind"] == "artifact":
            if m.get("error"):
                mb.append(Breach(name, m.get("error_kind", "load"), None, None, "ok", req, m["error"]))
            elif not m["finite"]:
                mb.append(Breach(name, "logits", None, None, "ok", req, "non-finite (NaN/inf) logits"))
            else:
                rl = m.get("real_length") or {}
                if rl.get("dynamic"):
                    if rl["argmax_agreement_vs_padded"] < 1.0:
                        mb.append(Breach(name, "real-length vs padded argmax agreement",
                                         rl["argmax_agreement_vs_padded"], 1.0, ">=", req))
                    if rl.get("tolerance") is not None and rl["max_abs_diff_vs_padded"] > rl["tolerance"]:
                        mb.append(Breach(name, "real-length vs padded max |logit diff|",
                                         rl["max_abs_diff_vs_padded"], rl["tolerance"], "<=", req))
                if m["agreement_student"] < pcfg.min_agreement:
                    mb.append(Breach(name, "agreement with float student", m["agreement_student"],
                                     pcfg.min_agreement, ">=", req))
                if m["backend"] in FP32_BACKENDS and m["max_abs_diff"] > pcfg.max_fp32_abs_diff:
                    mb.append(Breach(name, "max |logit diff| to float student", m["max_abs_diff"],
                                     pcfg.max_fp32_abs_diff, "<=", req))
                if (m["backend"] in INT8_BACKENDS and labeled and student
                        and student["accuracy"] is not None):
                    drop = 100.0 * (student["accuracy"] - m["accuracy"])
                    m["accuracy_drop_points"] = drop
                    if drop > pcfg.max_int8_accuracy_drop + 1e-9:
                        mb.append(Breach(name, "accuracy drop vs float student (points)", drop,
                                         pcfg.max_int8_accuracy_drop, "<=", req))
        elif m["kind"] == "student" and labeled and teacher and teacher["accuracy"]:
            share = m["accuracy"] / teacher["accuracy"]
            m["teacher_share"] = share
            if share < pcfg.min_teacher_share:
                mb.append(Breach(name, "accuracy share of teacher", share, pcfg.min_teacher_share,
                                 ">=", True))
        m["required"] = req if m["kind"] != "teacher" else False
        m["status"] = "-" if m["kind"] == "teacher" else ("FAIL" if mb else "PASS")
        m["breaches"] = [b.message() for b in mb]
        breaches += mb
    return breaches


def gate_summary(breaches: list[Breach]) -> dict:
    req = [b for b in breaches if b.required]
    return {
        "passed": not req,
        "required_failed": sorted({b.model for b in req}),
        "optional_failed": sorted({b.model for b in breaches if not b.required}),
        "breaches": [dict(asdict(b), message=b.message()) for b in breaches],
    }


def raise_if_failed(report: dict) -> None:
    """GateFailure naming the first breached required model, metric, value and threshold."""
    gate = report["gate"]
    if gate["passed"]:
        return
    req = [b for b in gate["breaches"] if b["required"]]
    more = f" (+{len(req) - 1} more breach{'es' if len(req) > 2 else ''}, see parity.json)" if len(req) > 1 else ""
    raise GateFailure(f"parity gate failed: {req[0]['message']}{more}")


# --- the whole parity run --------------------------------------------------------------------

def _count_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _check_labels(teacher_labels, student_labels, teacher_dir, student_dir):
    if list(teacher_labels) != list(student_labels):
        raise BertEdgeError(f"labels differ: teacher {teacher_dir} has {', '.join(teacher_labels)}, "
                            f"student {student_dir} has {', '.join(student_labels)}")


def run_parity(teacher_dir: str | Path, student_dir: str | Path, artifacts_dir: str | Path,
               cfg, out_dir: Optional[str | Path] = None, data: Optional[EvalSet] = None,
               backends: Optional[Sequence[str]] = None, progress: bool = True,
               reporter: Optional[Callable[[dict, dict, Path], object]] = None) -> dict:
    """Compare teacher, float student and artifacts on the dev set; return (and write to
    `out_dir`/parity.json, logits.npz) the parity report. `reporter(report, logits, dir)` (the
    report step, `pipeline.report.write_reports`) writes its files into the same directory
    before it is swapped in, so the numbers and their report never disagree.

    `cfg` is the RunConfig (parity thresholds, convert.max_seq_length, data). Does not raise on
    a gate breach: call `raise_if_failed(report)`.
    """
    import time

    from pipeline.data.tokenize import encode_fixed
    from converters.student import model_labels
    from pipeline.teacher import check_model_dir, load_classifier
    from pipeline.timing import one_example, runner_latency, measure, torch_threads

    t_start = time.time()
    pcfg = cfg.parity
    max_len = cfg.convert.max_seq_length
    teacher_dir, student_dir, artifacts_dir = Path(teacher_dir), Path(student_dir), Path(artifacts_dir)
    for what, d in (("teacher", teacher_dir), ("student", student_dir)):
        if not d.is_dir():
            raise BertEdgeError(f"{what} model directory not found: {d}")
        check_model_dir(d)
    if not artifacts_dir.is_dir():
        raise BertEdgeError(f"artifacts directory not found: {artifacts_dir} (run bert-edge convert)")
    if out_dir is not None:
        check_replaceable(out_dir, PARITY_JSON, "parity report")
    s_labels = model_labels(student_dir)
    _check_labels(model_labels(teacher_dir), s_labels, teacher_dir, student_dir)
    unknown = [b for b in list(pcfg.required) + list(backends or []) if b not in ARTIFACTS]
    if unknown:
        raise BertEdgeError(f"parity: unknown backend(s) {', '.join(unknown)} "
                            f"(choose from {', '.join(ARTIFACTS)})")
    if data is None:
        data = load_eval_set(cfg.data.dev, cfg.data, s_labels, pcfg.max_examples)
    labeled = data.labels is not None
    if backends is None:
        backends = [b for b in ARTIFACTS if b in cfg.convert.targets]

    models: list[dict] = []
    logits: dict[str, np.ndarray] = {}
    latency_runs = pcfg.latency_runs

    # Teacher and float student (PyTorch, fp32), each with its own tokenizer.
    def hf_entry(kind: str, d: Path) -> dict:
        t0 = time.time()
        model, tok, _ = load_classifier(str(d), attn_implementation="eager")
        inputs = encode_fixed(tok, data.texts, data.pairs, max_len)
        lg = hf_fixed_logits(model, inputs, pcfg.batch_size, desc=f"parity {kind}", progress=progress)
        entry = {"name": kind, "kind": kind, "backend": None, "path": str(d), "file": None,
                 "format": "pytorch", "size_bytes": weights_size(d), "params": _count_params(model),
                 "sha256": None, "seconds": round(time.time() - t0, 2)}
        if latency_runs:
            import torch

            ex = {k: torch.from_numpy(v[:1].astype(np.int64)) for k, v in inputs.items()}
            with torch_threads(1), torch.inference_mode():
                entry["latency"] = dict(measure(lambda: model(**ex), runs=latency_runs), threads=1)
        return entry, lg, inputs, tok

    t_entry, logits["teacher"], _, _ = hf_entry("teacher", teacher_dir)
    s_entry, logits["student"], s_inputs, s_tok = hf_entry("student", student_dir)
    models += [t_entry, s_entry]
    n_params = s_entry["params"]
    example = one_example(s_inputs, _median_length_index(s_inputs))

    conversion_failures = _conversion_failures(artifacts_dir)
    for backend in backends:
        path = artifacts_dir / ARTIFACTS[backend]
        entry = {"name": backend, "kind": "artifact", "backend": backend, "path": str(path),
                 "file": path.name, "format": path.suffix.lstrip("."), "params": n_params,
                 "size_bytes": None, "sha256": None}
        models.append(entry)
        if not path.is_file():
            why = conversion_failures.get(backend)
            entry.update(error=f"{path.name}: conversion failed: {why['reason']}" if why
                         else f"{path} is missing (not converted?)", error_kind="missing")
            continue
        entry.update(size_bytes=path.stat().st_size, sha256=sha256_file(path))
        t0 = time.time()
        try:
            runner = load_runner(path)
            lg = logits_in_chunks(runner, s_inputs, desc=f"parity {backend}", progress=progress)
            entry["seconds"] = round(time.time() - t0, 2)
            entry["real_length"] = {"dynamic": runner.dynamic}
            if runner.dynamic:  # the same file padded to max_seq_length must agree
                full = logits_in_chunks(runner, s_inputs, desc=f"parity {backend} padded",
                                        progress=progress, padded=True)
                entry["real_length"].update(
                    argmax_agreement_vs_padded=float(np.mean(lg.argmax(-1) == full.argmax(-1))),
                    max_abs_diff_vs_padded=float(np.abs(lg - full).max()) if lg.size else 0.0,
                    tolerance=_tolerance_bound(backend, logits["student"]))
        except BertEdgeError as e:
            msg = _first_line(e)
            entry.update(error=msg if path.name in msg else f"{path.name}: {msg}", error_kind="load/run")
            continue
        except Exception as e:  # a corrupt artifact can make a runtime raise anything
            entry.update(error=f"{path.name}: {type(e).__name__}: {_first_line(e)}", error_kind="load/run")
            continue
        if lg.shape != logits["student"].shape:
            entry.update(error=f"{path.name}: logits shape {lg.shape}, expected "
                               f"{logits['student'].shape}", error_kind="output shape")
            continue
        logits[backend] = lg
        if latency_runs:
            try:
                entry["latency"] = runner_latency(path, example, runs=latency_runs, num_threads=1)
            except Exception as e:  # timing is informative only
                entry["latency"] = {"error": _first_line(e)}

    for m in models:  # MediaPipe Tasks on the bundlable .tflite files: reported, never gated
        if m.get("backend") in MEDIAPIPE_BACKENDS and m["name"] in logits:
            m["mediapipe"] = mediapipe_check(Path(m["path"]), data, logits[m["name"]], progress,
                                             tokenizer=s_tok, max_seq_length=max_len,
                                             fp32=REGISTRY[m["backend"]].precision == "fp32")

    for m in models:
        if m["name"] in logits:
            m.update(model_metrics(logits[m["name"]], logits["teacher"], logits["student"], data.labels))
    for m in models:
        if m["kind"] == "artifact" and m["name"] not in logits:
            m.update(accuracy=None, agreement_teacher=None, agreement_student=None,
                     max_abs_diff=None, mean_abs_diff=None, kl_teacher=None, finite=False)
    breaches = apply_gate(models, pcfg, labeled)
    for m in models:
        lat = m.get("latency") or {}
        m["latency_ms"] = lat.get("median_ms")
    confusion = _pred_confusion(logits["teacher"], logits["student"], len(s_labels))
    report = {
        "format_version": 1,
        "pipeline_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": None,
        "data": {"source": data.source, "n": len(data), "labeled": labeled,
                 "max_seq_length": max_len, "labels": s_labels},
        "teacher_dir": str(teacher_dir),
        "student_dir": str(student_dir),
        "artifacts_dir": str(artifacts_dir),
        "thresholds": _thresholds(pcfg),
        "models": models,
        "student_vs_teacher_confusion": confusion,  # rows: teacher prediction, cols: student
        "gate": gate_summary(breaches),
    }
    report["seconds"] = round(time.time() - t_start, 1)
    if out_dir is not None:
        write_parity(report, logits, out_dir, data, reporter=reporter)
    return report


def _tolerance_bound(backend: str, student_logits: np.ndarray) -> Optional[float]:
    """The artifact's registry tolerance (atol + rtol * max |float logit|); None = argmax only."""
    from converters.backends import REGISTRY, bound

    return bound(REGISTRY[backend].tolerance, float(np.abs(student_logits).max()))


def _thresholds(pcfg) -> dict:
    return {"min_agreement": pcfg.min_agreement, "max_int8_accuracy_drop": pcfg.max_int8_accuracy_drop,
            "max_fp32_abs_diff": pcfg.max_fp32_abs_diff, "min_teacher_share": pcfg.min_teacher_share,
            "required": list(pcfg.required)}


def _conversion_failures(artifacts_dir: Path) -> dict:
    """The optional targets convert_all left out, with why (convert.json's `failed`)."""
    try:
        return json.loads((Path(artifacts_dir) / "convert.json").read_text(encoding="utf-8")).get("failed") or {}
    except (OSError, ValueError, AttributeError):
        return {}


def _median_length_index(inputs: dict) -> int:
    lengths = inputs["attention_mask"].sum(-1)
    return int(np.argsort(lengths, kind="stable")[len(lengths) // 2]) if len(lengths) else 0


def _pred_confusion(teacher: np.ndarray, student: np.ndarray, k: int) -> list:
    c = np.zeros((k, k), dtype=int)
    np.add.at(c, (teacher.argmax(-1), student.argmax(-1)), 1)
    return c.tolist()


def check_replaceable(out_dir: str | Path, marker: str, what: str) -> None:
    """Refuse a directory that holds something else (a typo'd --out such as a run dir or '.'),
    or one that cannot be written: the policy of pipeline/outdir.py."""
    from pipeline.outdir import check_output_dir

    check_output_dir(out_dir, what, marker, flag="")


def write_parity(report: dict, logits: dict, out_dir: str | Path, data: EvalSet,
                 reporter: Optional[Callable[[dict, dict, Path], object]] = None) -> None:
    """Write parity.json, logits.npz (and what `reporter` writes) into `out_dir` atomically."""
    from pipeline.fsutil import atomic_dir

    check_replaceable(out_dir, PARITY_JSON, "parity report")
    with atomic_dir(out_dir, "parity report", PARITY_JSON) as tmp:
        tmp.chmod(0o755)
        np.savez_compressed(tmp / LOGITS_NPZ, **logits,
                            labels=np.asarray(data.labels if data.labels is not None else [], dtype=np.int64))
        (tmp / PARITY_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        if reporter is not None:
            reporter(report, logits, tmp)


def read_parity(parity_dir: str | Path) -> dict:
    p = Path(parity_dir)
    f = p / PARITY_JSON if p.is_dir() or not p.suffix else p
    if not f.is_file():
        raise BertEdgeError(f"{f}: no parity report (run bert-edge parity first)")
    try:
        rep = json.loads(f.read_text(encoding="utf-8"))
        rep["gate"]["passed"], rep["models"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise BertEdgeError(f"{f}: corrupt parity report ({type(e).__name__}: {e})") from None
    return rep


# --- text table ------------------------------------------------------------------------------

def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _params(n) -> str:
    if not n:
        return "-"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def summary_table(report: dict) -> str:
    """One line per model: what compression cost."""
    head = (f"{'model':<17} {'acc':>7} {'agree(T)':>8} {'agree(S)':>8} {'max|d|':>9} "
            f"{'mean|d|':>9} {'KL(T)':>8} {'size MB':>8} {'params':>8} {'lat ms':>7}  gate")
    lines = [head, "-" * len(head)]
    for m in report["models"]:
        size = m.get("size_bytes")
        status = m.get("status", "-")
        if status == "FAIL" and not m.get("required"):
            status = "FAIL (optional: not bundled)"
        elif status == "FAIL":
            status = "FAIL (required)"
        lines.append(
            f"{m['name']:<17} {_fmt(m.get('accuracy'), '.4f'):>7} {_fmt(m.get('agreement_teacher'), '.4f'):>8} "
            f"{_fmt(m.get('agreement_student'), '.4f'):>8} {_fmt(m.get('max_abs_diff'), '.2e'):>9} "
            f"{_fmt(m.get('mean_abs_diff'), '.2e'):>9} {_fmt(m.get('kl_teacher'), '.4f'):>8} "
            f"{_fmt(size / 1e6 if size else None, '.1f'):>8} "
            f"{_params(m.get('params')):>8} "
            f"{_fmt(m.get('latency_ms'), '.1f'):>7}  {status}")
    for m in report["models"]:
        for b in m.get("breaches", []):
            lines.append(f"  {'FAIL' if m.get('required') else 'fail (optional)'}: {b}")
    real = [m for m in report["models"] if (m.get("real_length") or {}).get("dynamic")]
    if real:  # the figures above are at each sentence's own length
        lines.append("real length (figures above) vs padded to max_seq_length, same file:")
        for m in real:
            r = m["real_length"]
            lines.append(f"  {m['name']:<17} argmax {100 * r['argmax_agreement_vs_padded']:.2f}% same, "
                         f"max|d| {r['max_abs_diff_vs_padded']:.2e}")
    from pipeline.report import mediapipe_lines

    lines += mediapipe_lines(report)
    return "\n".join(lines)

