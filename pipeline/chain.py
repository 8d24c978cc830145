"""The whole chain: finetune-teacher -> distill -> convert -> parity -> bundle, with reuse.

Each stage writes one output directory (docs/ARCHITECTURE.md "Run directory layout") and, when
it finished, a `.stage.json` record in it: the stage's input fingerprint (a hash of its config
sections and of the content of its input directories/files) and the content hash of its outputs.
A stage is skipped ("reused") when the record's fingerprint equals the current one and the
outputs are present and unchanged; so a re-run after a failure or an interrupt resumes at the
stage that did not finish, and editing one config section re-runs only that stage and those after
it. The record is removed before a stage starts, so a half-done stage is never taken as done.

`output_dir/chain.json` keeps the latest attempt of each stage (status, fingerprint, seconds),
which lets an interrupted distillation resume from its own checkpoints.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pipeline import __version__
from pipeline.errors import BertEdgeError, GateFailure

STAGES = ("finetune-teacher", "distill", "convert", "parity", "bundle")
STAGE_FILE = ".stage.json"
CHAIN_FILE = "chain.json"


# --- paths -----------------------------------------------------------------------------------

def run_paths(cfg) -> dict[str, Path]:
    out = Path(cfg.output_dir)
    return {"teacher": out / "teacher", "student": out / "student", "convert": out / "convert",
            "parity": out / "parity", "bundle": Path(cfg.bundle.dir)}


def given_teacher(cfg) -> Optional[Path]:
    """An already fine-tuned teacher (teacher.finetuned, or teacher.model when it is one)."""
    from pipeline.teacher import check_model_dir, is_finetuned, resolve

    if cfg.teacher.finetuned:
        p = Path(cfg.teacher.finetuned)
        check_model_dir(p)
        if not is_finetuned(p):
            raise BertEdgeError(f"teacher.finetuned: {p} is not a fine-tuned classifier "
                                "(needs a *ForSequenceClassification config and labels.txt)")
        return p
    src = resolve(cfg.teacher.model)
    if src.is_local and Path(src.path).is_dir() and (Path(src.path) / "config.json").is_file():
        try:
            if is_finetuned(src.path):
                return Path(src.path)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
    return None


def teacher_dir(cfg) -> Path:
    return given_teacher(cfg) or run_paths(cfg)["teacher"]


# --- fingerprints ----------------------------------------------------------------------------

def hash_obj(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _skip(rel: Path) -> bool:
    return any(part.startswith((".", "_failed_")) or part == "__pycache__" for part in rel.parts)


def dir_hash(path: str | Path) -> Optional[str]:
    """Content hash of a directory (relative names + file sha256; dotfiles and work dirs
    skipped) or of a file; None when it does not exist."""
    from converters.files import sha256_file

    p = Path(path)
    if p.is_file():
        return sha256_file(p)
    if not p.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")):
        rel = f.relative_to(p)
        if f.is_file() and not _skip(rel):
            h.update(f"{rel.as_posix()}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


def data_hash(spec: Optional[str], split: str) -> str:
    """Fingerprint of a data source: file content for files, the spec for hub datasets."""
    if not spec or spec == "none" or spec.startswith("hf:"):
        return str(spec)
    if spec == "default":
        from pipeline.data.default_data import default_path

        name = "unlabeled.txt" if split == "unlabeled" else f"{split}.tsv"
        return dir_hash(default_path(name)) or "default"
    if spec == "wordnet" or spec.startswith("wordnet:"):  # the package's database directory
        from pipeline.data.wordnet import DEFAULT_ROOT

        return dir_hash(spec[len("wordnet:"):] or DEFAULT_ROOT) or f"missing:{spec}"
    return dir_hash(spec) or f"missing:{spec}"


# distill settings that change where or how often things are written, not the student
_NO_EFFECT = ("checkpoint_every", "log_every", "cache_dir", "cache_max_gb", "cache_all_layers")
# student keys added after records were written: left out while unset, so those records stay reusable
_ADDED_UNSET = ("init_from",)


def _section(obj) -> dict:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


# --- stage records ---------------------------------------------------------------------------

def read_record(out: Path) -> Optional[dict]:
    f = Path(out) / STAGE_FILE
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_record(out: Path, stage: str, fingerprint: str, seconds: float, extra: dict | None = None) -> None:
    from pipeline.fsutil import write_json_atomic

    rec = {"stage": stage, "fingerprint": fingerprint, "outputs_hash": dir_hash(out),
           "seconds": round(seconds, 1), "pipeline_version": __version__,
           "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    rec.update(extra or {})
    write_json_atomic(Path(out) / STAGE_FILE, rec)


def clear_record(out: Path) -> None:
    (Path(out) / STAGE_FILE).unlink(missing_ok=True)


def is_reusable(out: Path, fingerprint: str, required_files: list[str]) -> tuple[bool, str]:
    rec = read_record(out)
    if rec is None:
        return False, "no record"
    if rec.get("fingerprint") != fingerprint:
        return False, "inputs changed"
    missing = [f for f in required_files if not (Path(out) / f).exists()]
    if missing:
        return False, f"missing {', '.join(missing)}"
    if rec.get("outputs_hash") != dir_hash(out):
        return False, "outputs changed since the stage wrote them"
    return True, "unchanged"


# --- the chain -------------------------------------------------------------------------------

@dataclass
class StageResult:
    name: str
    status: str = "not run"  # done | reused | given | failed | interrupted | not run
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user+sys of this process (all threads) during the stage
    out: str = ""
    note: str = ""


@dataclass
class ChainResult:
    stages: list = field(default_factory=list)
    parity: Optional[dict] = None
    manifest: Optional[dict] = None
    gate_passed: Optional[bool] = None
    error: Optional[str] = None
    exit_code: int = 0
    seconds: float = 0.0


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def validate_config(cfg) -> None:
    """Checks that would otherwise fail late in the chain."""
    from converters.common import parse_targets

    from pipeline.bundle import BUNDLABLE
    from pipeline.distill import plan_distillation
    from pipeline.parity import ARTIFACTS

    targets = parse_targets(cfg.convert.targets)
    bad = [b for b in cfg.parity.required if b not in ARTIFACTS]
    if bad:
        raise BertEdgeError(f"config key 'parity.required': unknown backend(s) {', '.join(bad)} "
                            f"(choose from {', '.join(ARTIFACTS)})")
    bad = [b for b in cfg.bundle.backends if b not in BUNDLABLE]
    if bad:
        raise BertEdgeError(f"config key 'bundle.backends': {', '.join(bad)} cannot be bundled "
                            f"(choose from {', '.join(BUNDLABLE)})")
    missing = [b for b in cfg.bundle.backends if b not in targets]
    if missing:
        raise BertEdgeError(f"config key 'bundle.backends': {', '.join(missing)} not in "
                            f"convert.targets ({', '.join(targets)})")
    plan_distillation(cfg)  # a distill typo fails now, not after the teacher's fine-tune


class Chain:
    def __init__(self, cfg, progress: bool = True, until: Optional[str] = None,
                 redo: Optional[str] = None, log: Callable[[str], None] = _say):
        for name, value in (("--to", until), ("--redo", redo)):
            if value is not None and value not in STAGES:
                raise BertEdgeError(f"{name}: unknown stage '{value}' (choose from {', '.join(STAGES)})")
        self.cfg = cfg
        self.progress = progress
        self.until = until
        self.redo_from = STAGES.index(redo) if redo else None
        self.log = log
        self.paths = run_paths(cfg)
        self.out = Path(cfg.output_dir)
        self.result = ChainResult()
        self._fps: dict[str, str] = {}
        self.hashes: dict[str, Optional[str]] = {}
        self._state = self._read_state()
        self._train = None

    # -- chain.json: latest attempt per stage --------------------------------------------------
    def _read_state(self) -> dict:
        try:
            return json.loads((self.out / CHAIN_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return {}

    def _write_state(self) -> None:
        from pipeline.fsutil import write_json_atomic

        self._state["pipeline_version"] = __version__
        self._state["updated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._state["stages"] = {**self._state.get("stages", {}),
                                 **{s.name: dataclasses.asdict(s) | {"fingerprint": self._fps.get(s.name)}
                                    for s in self.result.stages if s.status != "not run"}}
        self._state["gate_passed"] = self.result.gate_passed
        self._state["error"] = self.result.error
        write_json_atomic(self.out / CHAIN_FILE, self._state)

    def _previous_attempt(self, stage: str) -> dict:
        return (self._state.get("stages") or {}).get(stage) or {}

    # -- data -----------------------------------------------------------------------------------
    def train_data(self):
        if self._train is None:
            from pipeline.data import resolve_labeled

            self._train = resolve_labeled(self.cfg.data.train, "train", self.cfg.data)
        return self._train

    # -- fingerprints per stage -----------------------------------------------------------------
    def fingerprint(self, stage: str) -> str:
        cfg = self.cfg
        data = _section(cfg.data)
        base = {"stage": stage, "pipeline_version": __version__}
        if stage == "finetune-teacher":
            from pipeline.teacher import resolve

            src = resolve(cfg.teacher.model)
            d = {k: v for k, v in data.items() if k != "unlabeled"}
            inputs = {"teacher": {"model": cfg.teacher.model, "trust_remote_code": cfg.teacher.trust_remote_code,
                                  "finetune": _section(cfg.teacher.finetune)},
                      "teacher_src": dir_hash(src.path) if src.is_local else src.path,
                      "data": d, "seed": cfg.seed,
                      "train": data_hash(cfg.data.train, "train"), "dev": data_hash(cfg.data.dev, "dev")}
        elif stage == "distill":
            from pipeline.teacher import resolve

            src = resolve(cfg.teacher.model)  # the pretrained teacher of general distillation
            distill = {k: v for k, v in _section(cfg.distill).items() if k not in _NO_EFFECT}
            student = {k: v for k, v in _section(cfg.student).items() if not (k in _ADDED_UNSET and v is None)}
            inputs = {"student": student, "distill": distill, "data": data,
                      "seed": cfg.seed, "teacher": self.hashes["teacher"],
                      "teacher_model": dir_hash(src.path) if src.is_local else src.path,
                      "train": data_hash(cfg.data.train, "train"), "dev": data_hash(cfg.data.dev, "dev"),
                      "unlabeled": data_hash(cfg.data.unlabeled, "unlabeled")}
            if cfg.student.init_from:
                init = resolve(cfg.student.init_from)
                inputs["init_from"] = dir_hash(init.path) if init.is_local else init.path
        elif stage == "convert":
            inputs = {"convert": _section(cfg.convert), "student": self.hashes["student"],
                      "calibration": [data_hash(cfg.data.train, "train"), data.get("max_train_examples"),
                                      data.get("text_column"), data.get("format")]}
        elif stage == "parity":
            inputs = {"parity": _section(cfg.parity), "max_seq_length": cfg.convert.max_seq_length,
                      "targets": list(cfg.convert.targets), "data": data,
                      "dev": data_hash(cfg.data.dev, "dev"), "teacher": self.hashes["teacher"],
                      "student": self.hashes["student"], "convert": self.hashes["convert"]}
        elif stage == "bundle":
            inputs = {"bundle": _section(cfg.bundle), "max_seq_length": cfg.convert.max_seq_length,
                      "ids": [cfg.teacher.model, cfg.student.preset], "data": data,
                      "dev": data_hash(cfg.data.dev, "dev"), "student": self.hashes["student"],
                      "convert": self.hashes["convert"], "parity": self.hashes["parity"]}
        else:  # pragma: no cover
            raise ValueError(stage)
        return hash_obj([base, inputs])

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> ChainResult:
        t_chain = time.time()
        validate_config(self.cfg)
        self._check_outputs()
        self.train_data()  # bad training data fails here, before any stage (and chain.json) is touched
        self.out.mkdir(parents=True, exist_ok=True)
        stages = [
            ("finetune-teacher", "teacher", self._do_teacher, ["config.json", "labels.txt"]),
            ("distill", "student", self._do_distill, ["config.json", "labels.txt"]),
            ("convert", "convert", self._do_convert, ["convert.json"] + self._artifact_files()),
            ("parity", "parity", self._do_parity, ["parity.json", "report.md", "report.html"]),
            ("bundle", "bundle", self._do_bundle, ["manifest.json", "golden.jsonl", "vocab.txt", "labels.txt"]),
        ]
        self.result.stages = [StageResult(name) for name, *_ in stages]
        try:
            for i, (name, key, fn, required) in enumerate(stages):
                sr = self.result.stages[i]
                out = self.paths[key]
                sr.out = str(out)
                if name == "finetune-teacher":
                    given = given_teacher(self.cfg)
                    if given is not None:
                        self.paths["teacher"] = given
                        sr.status, sr.out, sr.note = "given", str(given), "already fine-tuned"
                        self.hashes["teacher"] = dir_hash(given)
                        if self.until == name:
                            break
                        continue
                fp = self.fingerprint(name)
                self._fps[name] = fp
                forced = self.redo_from is not None and i >= self.redo_from
                ok, why = (False, "--redo") if forced else is_reusable(out, fp, required)
                if ok:
                    sr.status, sr.note = "reused", "inputs and outputs unchanged"
                    self.log(f"[{name}] reused {out} ({why})")
                    self.hashes[key] = dir_hash(out)
                    if name == "parity":
                        self._after_parity(reused=True)
                    if name == "bundle":
                        self.result.manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
                else:
                    prev = self._previous_attempt(name)
                    resume = prev.get("status") in ("failed", "interrupted") and prev.get("fingerprint") == fp
                    self.log(f"[{name}] running ({why}) -> {out}")
                    if name == "convert":
                        # the other stages swap their directory in whole at the end, so a failed
                        # attempt leaves the previous output and its record exactly as they were
                        clear_record(out)
                    sr.status = "running"
                    self._write_state()
                    t0, c0 = time.time(), time.process_time()
                    try:
                        extra = fn(out, resume) or {}
                    except KeyboardInterrupt:
                        sr.status, sr.seconds = "interrupted", round(time.time() - t0, 1)
                        sr.cpu_seconds = round(time.process_time() - c0, 1)
                        raise
                    except GateFailure:
                        sr.seconds = round(time.time() - t0, 1)
                        sr.cpu_seconds = round(time.process_time() - c0, 1)
                        if name == "parity":  # outputs are complete; the gate result is recorded
                            write_record(out, name, fp, sr.seconds, {"gate_passed": False})
                            self.hashes[key] = dir_hash(out)
                            sr.status = "done"
                            sr.note = "gate FAILED"
                        else:
                            sr.status = "failed"
                        raise
                    except BaseException:
                        sr.status, sr.seconds = "failed", round(time.time() - t0, 1)
                        sr.cpu_seconds = round(time.process_time() - c0, 1)
                        raise
                    sr.seconds = round(time.time() - t0, 1)
                    sr.cpu_seconds = round(time.process_time() - c0, 1)
                    write_record(out, name, fp, sr.seconds, extra)
                    self.hashes[key] = dir_hash(out)
                    sr.status = "done"
                if self.until == name:
                    break
            if self.result.gate_passed is None and self.result.parity is not None:
                self.result.gate_passed = self.result.parity["gate"]["passed"]
        except GateFailure as e:
            self.result.gate_passed = False
            self.result.error = str(e)
            self.result.exit_code = e.exit_code
            self._finish(t_chain)
            raise
        except BertEdgeError as e:
            self.result.error = self._stage_message(e)
            self.result.exit_code = e.exit_code
            self._finish(t_chain)
            raise BertEdgeError(self.result.error) from None
        except KeyboardInterrupt:
            self.result.error = "interrupted"
            self.result.exit_code = 130
            self._finish(t_chain)
            raise
        except BaseException as e:
            self.result.error = f"{type(e).__name__}: {e}"
            self.result.exit_code = 1
            self._finish(t_chain)
            raise
        self._finish(t_chain)
        return self.result

    def _check_outputs(self) -> None:
        """Every output location is usable before the first stage runs (pipeline/outdir.py)."""
        from pipeline.outdir import check_output_dir

        if not self.out.is_dir():
            check_output_dir(self.out, "run", CHAIN_FILE, flag="output_dir")
        for key, what, marker in (("teacher", "teacher", "metrics.json"), ("student", "student", "metrics.json"),
                                  ("parity", "parity report", "parity.json"), ("bundle", "bundle", "manifest.json")):
            if key == "teacher" and given_teacher(self.cfg) is not None:
                continue
            check_output_dir(self.paths[key], what, marker, flag="")

    def _stage_message(self, e: BaseException) -> str:
        running = [s for s in self.result.stages if s.status in ("failed", "running")]
        msg = str(e)
        if running and not msg.startswith("stage '"):
            msg = f"stage '{running[0].name}': {msg}"
        return msg

    def _finish(self, t_chain: float) -> None:
        self.result.seconds = round(time.time() - t_chain, 1)
        if all(s.status == "not run" for s in self.result.stages):
            return  # failed before any stage started (e.g. config checks): nothing to record
        try:
            self._write_state()
        except OSError:
            pass

    def _artifact_files(self) -> list[str]:
        from converters.common import parse_targets

        from pipeline.parity import ARTIFACTS

        # Optional targets may have failed and been left out: only required ones must exist.
        return [ARTIFACTS[b] for b in parse_targets(self.cfg.convert.targets)
                if b in self.cfg.parity.required]

    # -- the stages -------------------------------------------------------------------------------
    def _do_teacher(self, out: Path, resume: bool) -> dict:
        from pipeline.data import resolve_labeled
        from pipeline.finetune import finetune_teacher

        cfg = self.cfg
        train = self.train_data()
        dev = resolve_labeled(cfg.data.dev, "dev", cfg.data, label_names=train.label_names)
        m = finetune_teacher(cfg.teacher.model, train, dev, out, cfg.teacher.finetune, cfg.seed,
                             cfg.teacher.trust_remote_code, progress=self.progress)
        self.log(f"[finetune-teacher] dev accuracy {m['dev']['accuracy']:.4f} ({m['steps']} steps)")
        return {"dev_accuracy": m["dev"]["accuracy"]}

    def _do_distill(self, out: Path, resume: bool) -> dict:
        try:
            from pipeline.distill import run_distillation
        except ImportError as e:
            raise BertEdgeError(f"the distill stage is not available ({e})") from None
        if resume:
            self.log("[distill] the last attempt stopped with these inputs: resuming from its checkpoints")
        try:
            m = run_distillation(self.cfg, self.paths["teacher"], out, progress=self.progress, resume=resume)
        except BertEdgeError as e:
            if not resume or "--resume" not in str(e):
                raise
            # the checkpoints do not fit these settings (e.g. left by a manual `bert-edge distill`)
            self.log(f"[distill] cannot resume ({e}); starting over")
            m = run_distillation(self.cfg, self.paths["teacher"], out, progress=self.progress, resume=False)
        acc = _dig(m, ("dev", "accuracy")) or _dig(m, ("dev_accuracy",))
        return {"dev_accuracy": acc} if acc is not None else {}

    def _do_convert(self, out: Path, resume: bool) -> dict:
        from converters import convert_all

        cfg = self.cfg
        # An optional target (not in parity.required) that fails conversion is reported and
        # left out, like one that fails the gate; a required one stops the chain here.
        targets = list(cfg.convert.targets)
        rep = convert_all(self.paths["student"], out, targets=targets,
                          max_seq_length=cfg.convert.max_seq_length,
                          calibration_texts=self.train_data().texts,
                          num_calibration=cfg.convert.num_calibration, progress=self.progress,
                          full_int8_qat_steps=cfg.convert.full_int8_qat_steps,
                          optional=[b for b in targets if b not in cfg.parity.required])
        for backend, why in rep.get("failed", {}).items():
            self.log(f"[convert] {backend} left out (optional): {why['reason']}")
        return {"convert_seconds": rep.get("total_seconds"), "failed": sorted(rep.get("failed", {}))}

    def _do_parity(self, out: Path, resume: bool) -> dict:
        from pipeline.parity import run_parity
        from pipeline.report import write_reports

        # parity measures, then the report step writes report.md/html/plots beside parity.json
        self.result.parity = run_parity(self.paths["teacher"], self.paths["student"], self.paths["convert"],
                                        self.cfg, out_dir=out, progress=self.progress,
                                        reporter=write_reports)
        self._after_parity(reused=False)
        return {"gate_passed": True}

    def _after_parity(self, reused: bool) -> None:
        from pipeline.parity import raise_if_failed, read_parity

        if reused:
            self.result.parity = read_parity(self.paths["parity"])
        self.result.gate_passed = self.result.parity["gate"]["passed"]
        raise_if_failed(self.result.parity)

    def _do_bundle(self, out: Path, resume: bool) -> dict:
        from pipeline.bundle import make_bundle

        self.result.manifest = make_bundle(self.cfg, self.paths["student"], self.paths["convert"],
                                           self.paths["parity"], out_dir=out)
        return {"backends": [m["backend"] for m in self.result.manifest["models"]]}


def _dig(d, keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


# --- summary ---------------------------------------------------------------------------------

def summary(result: ChainResult, cfg) -> str:
    from pipeline.parity import summary_table

    lines = ["", f"bert-edge run: {cfg.output_dir}",
             f"{'stage':<17} {'status':<12} {'wall':>8} {'cpu':>8}  output", "-" * 80]
    ran = ("done", "failed", "interrupted")
    for s in result.stages:
        t = f"{s.seconds:.1f} s" if s.status in ran else "-"
        c = f"{s.cpu_seconds:.1f} s" if s.status in ran else "-"
        note = f"  ({s.note})" if s.note else ""
        lines.append(f"{s.name:<17} {s.status:<12} {t:>8} {c:>8}  {s.out}{note}")
    lines.append(f"{'total':<17} {'':<12} {result.seconds:>6.1f} s")
    if result.parity is not None:
        lines += ["", summary_table(result.parity)]
    lines.append("")
    if result.gate_passed is True:
        opt = result.parity["gate"]["optional_failed"] if result.parity else []
        lines.append("gate: PASSED" + (f" (optional FAIL, not bundled: {', '.join(opt)})" if opt else ""))
    elif result.gate_passed is False:
        lines.append(f"gate: FAILED: {result.error}")
    if result.manifest is not None:
        files = ", ".join(f"{m['file']} ({m['size_bytes'] / 1e6:.1f} MB)" for m in result.manifest["models"])
        lines.append(f"bundle: {cfg.bundle.dir}: {files}, golden {result.manifest['golden']['count']} cases")
    if result.parity is not None:
        lines.append(f"report: {Path(cfg.output_dir) / 'parity' / 'report.html'}")
    if result.error and result.gate_passed is not False:
        lines.append(f"stopped: {result.error}")
    return "\n".join(lines)
