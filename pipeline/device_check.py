"""Edge-device parity on the CI machine: every TFLite model of an app bundle, run by LiteRT's
arm64 build (XNNPACK NEON kernels) in an arm64 python under qemu user-mode emulation, for
several emulated CPUs (with and without the ARMv8.2 dot-product extension), against the bundle's
golden host logits and the manifest's tolerances (docs/ARCHITECTURE.md "App bundle contract").

The verdict per backend x CPU is the app's own (android_demo core ParityCheck): every logit
finite and within `max_abs_logit_diff` of the host's, and argmax agreement over the cases
>= `min_argmax_agreement`. Any breach: GateFailure (exit 3) naming case, backend and CPU.
A bad bundle or an arm64 environment that cannot be set up: BertEdgeError (exit 2).
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import quoteattr, escape

import numpy as np

from converters.files import sha256_file
from pipeline.arm.env import CPUS, ArmEnv, Say, _stderr, qemu_cpus, qemu_version
from pipeline.errors import BertEdgeError, GateFailure

RUNNER = Path(__file__).resolve().parent / "arm" / "golden_runner.py"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PROGRESS_EVERY = 20.0  # seconds between progress lines while one backend runs


@dataclass
class Bundle:
    dir: Path
    manifest: dict
    models: list  # manifest entries with format tflite
    cases: list  # golden rows


def load_bundle(bundle_dir: Path | str) -> Bundle:
    """Read and check the parts device-check uses; BertEdgeError naming file and reason."""
    d = Path(bundle_dir)
    mpath = d / "manifest.json"
    if not d.is_dir():
        raise BertEdgeError(f"bundle directory not found: {d} (run bert-edge bundle, or pass --bundle)")
    if not mpath.is_file():
        raise BertEdgeError(f"{mpath}: not found: {d} is not an app bundle (run bert-edge bundle)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BertEdgeError(f"{mpath}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), list):
        raise BertEdgeError(f"{mpath}: no models[] list")
    tol = manifest.get("tolerances")
    if not isinstance(tol, dict):
        raise BertEdgeError(f"{mpath}: no tolerances object")
    models = [m for m in manifest["models"] if isinstance(m, dict) and
              (m.get("format") == "tflite" or str(m.get("file", "")).endswith(".tflite"))]
    if not models:
        raise BertEdgeError(f"{mpath}: no TFLite model in models[] (nothing runs on LiteRT's arm64 kernels)")
    for i, m in enumerate(models):
        b, f = m.get("backend"), m.get("file")
        if not b or not f or "/" in f or f.startswith("."):
            raise BertEdgeError(f"{mpath}: models entry {i}: needs backend and a plain file name")
        t = tol.get(b)
        if not isinstance(t, dict) or not all(isinstance(t.get(k), (int, float)) for k in
                                              ("max_abs_logit_diff", "min_argmax_agreement")):
            raise BertEdgeError(f"{mpath}: tolerances.{b}: needs max_abs_logit_diff and min_argmax_agreement")
        p = d / f
        if not p.is_file():
            raise BertEdgeError(f"{p}: not found (listed in manifest.json for {b})")
        if m.get("sha256") and sha256_file(p) != m["sha256"]:
            raise BertEdgeError(f"{p}: sha256 differs from manifest.json (the bundle was modified)")
    gname = (manifest.get("golden") or {}).get("file", "golden.jsonl")
    gpath = d / gname
    if not gpath.is_file():
        raise BertEdgeError(f"{gpath}: not found (the golden cases of the bundle)")
    max_len = manifest.get("max_seq_length")
    cases = []
    for ln, line in enumerate(gpath.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise BertEdgeError(f"{gpath}:{ln}: not valid JSON ({e})") from None
        for k in INPUTS:
            v = row.get(k)
            if not isinstance(v, list) or (max_len and len(v) != max_len):
                raise BertEdgeError(f"{gpath}:{ln}: {k} must be a list of {max_len} ids")
        for m in models:
            lg = (row.get("logits") or {}).get(m["backend"])
            if not isinstance(lg, list) or not lg:
                raise BertEdgeError(f"{gpath}:{ln}: no host logits for {m['backend']}")
        row["_line"], row["_index"] = ln, len(cases)
        cases.append(row)
    if not cases:
        raise BertEdgeError(f"{gpath}: no golden cases")
    return Bundle(d, manifest, models, cases)


@dataclass
class CpuRun:
    cpu: str
    env: dict = field(default_factory=dict)
    logits: dict = field(default_factory=dict)  # backend -> {case index: [logits]}
    errors: dict = field(default_factory=dict)  # backend -> message
    seconds: dict = field(default_factory=dict)  # backend -> seconds (emulated)
    xnnpack: bool = False
    wall: float = 0.0


def _no_core_dumps() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing model leaves no qemu_*.core


def run_on_cpu(env: ArmEnv, cpu: str, bundle: Bundle, threads: int, timeout: float, say: Say) -> CpuRun:
    """Every TFLite model of the bundle on every golden case, in one emulated arm64 process; when
    the native runtime crashes on a model, the models after it run in a fresh process."""
    run = CpuRun(cpu)
    todo = list(bundle.models)
    while todo:
        _run_models(env, cpu, bundle, todo, threads, timeout, say, run)
        todo = [m for m in todo if m["backend"] not in run.logits and m["backend"] not in run.errors]
    return run


def _run_models(env: ArmEnv, cpu: str, bundle: Bundle, models: list, threads: int, timeout: float,
                say: Say, run: CpuRun) -> None:
    golden = bundle.dir / (bundle.manifest.get("golden") or {}).get("file", "golden.jsonl")
    cmd = env.command(cpu, str(RUNNER), "--golden", str(golden), "--threads", str(threads),
                      "--cases", ",".join(str(r["_index"]) for r in bundle.cases),
                      *[a for m in models for a in ("--model", f"{m['backend']}={bundle.dir / m['file']}")])
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env.environ(), preexec_fn=_no_core_dumps)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    current, started, last = None, False, time.monotonic()
    n = len(bundle.cases)
    try:
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            kind, b = ev.get("event"), ev.get("backend")
            if kind == "env":
                run.env, started = ev, True
            elif kind == "start":
                current, last = b, time.monotonic()
                run.logits[b] = {}
                say(f"[arm64 {cpu}] {b}: {n} golden cases ...")
            elif kind == "case":
                run.logits[b][ev["index"]] = ev["logits"]
                if time.monotonic() - last >= PROGRESS_EVERY:
                    last = time.monotonic()
                    say(f"[arm64 {cpu}] {b}: {len(run.logits[b])}/{n} cases")
            elif kind == "done":
                run.seconds[b] = ev.get("seconds")
                current = None
                say(f"[arm64 {cpu}] {b}: done in {ev.get('seconds', 0):.1f} s (emulated)")
            elif kind == "error":
                run.errors[b] = ev.get("message", "error")
                current = None
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    wall = time.monotonic() - t0
    run.wall += wall
    run.xnnpack = run.xnnpack or any("XNNPACK delegate" in l for l in err_lines)
    if rc != 0:
        tail = [l.strip() for l in err_lines if l.strip()]
        timed_out = rc == -9 and wall >= timeout - 1
        why = (f"was stopped after {timeout:.0f} s (--timeout)" if timed_out else
               f"crashed (signal {-rc})" if rc < 0 else f"failed (exit {rc})")
        if not started:  # never got to the models: the environment is broken
            raise BertEdgeError(f"arm64 python on {cpu} {why}: {tail[-1] if tail else 'no output'}")
        crashed = current or next((m["backend"] for m in models if m["backend"] not in run.logits), None)
        if crashed:
            run.errors[crashed] = f"the arm64 runtime {why} while running it" + (f" ({tail[-1]})" if tail else "")
            run.logits.pop(crashed, None)
        if timed_out:  # no retry of the rest: the time is spent
            for m in models:
                if m["backend"] not in run.logits and m["backend"] not in run.errors:
                    run.errors[m["backend"]] = f"not run: the arm64 process {why}"


@dataclass
class CaseResult:
    index: int
    line: int
    text: str
    host: list
    device: Optional[list]
    max_abs_diff: float
    argmax_agrees: bool
    error: Optional[str] = None


@dataclass
class Result:
    backend: str
    cpu: str
    tolerance: dict
    cases: list
    error: Optional[str]
    dotprod: Optional[bool]
    xnnpack: bool
    seconds: Optional[float]

    @property
    def max_abs_diff(self) -> float:
        vals = [c.max_abs_diff for c in self.cases]
        return max(vals) if vals else float("nan")

    @property
    def agreement(self) -> float:
        return sum(c.argmax_agrees for c in self.cases) / len(self.cases) if self.cases else 0.0

    def failing_cases(self) -> list:
        tol = self.tolerance["max_abs_logit_diff"]
        return [c for c in self.cases if c.error or not (c.max_abs_diff <= tol)]

    def reasons(self) -> list[str]:
        if self.error:
            return [self.error]
        out = []
        tol = self.tolerance["max_abs_logit_diff"]
        for c in self.failing_cases():
            out.append(f"case {c.index + 1} (golden line {c.line}, {_short(c.text)!r}): "
                       + (c.error or f"max |logit diff| {c.max_abs_diff:.3g} > {tol:g}"))
        if self.agreement < self.tolerance["min_argmax_agreement"]:
            flips = [str(c.index + 1) for c in self.cases if not c.argmax_agrees]
            out.append(f"argmax agreement {self.agreement:.1%} < {self.tolerance['min_argmax_agreement']:.1%} "
                       f"(cases {', '.join(flips)})")
        return out

    @property
    def passed(self) -> bool:
        return not self.reasons()


def _short(text: str, n: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def compare(bundle: Bundle, runs: list[CpuRun]) -> list[Result]:
    results = []
    for m in bundle.models:
        b = m["backend"]
        tol = {k: float(v) for k, v in bundle.manifest["tolerances"][b].items()
               if k in ("max_abs_logit_diff", "min_argmax_agreement")}
        for run in runs:
            cases = []
            error = run.errors.get(b)
            got = run.logits.get(b, {})
            if not error:
                for row in bundle.cases:
                    i = row["_index"]
                    host = [float(x) for x in row["logits"][b]]
                    dev = got.get(i)
                    err, diff, agree = None, float("inf"), False
                    if dev is None:
                        err = "no logits from the arm64 runtime"
                    elif len(dev) != len(host):
                        err = f"arm64 gave {len(dev)} logits, golden has {len(host)}"
                    elif not np.all(np.isfinite(dev)):
                        err = f"non-finite arm64 logit in {dev}"
                    else:
                        diff = float(np.max(np.abs(np.asarray(dev, np.float64) - np.asarray(host, np.float64))))
                        agree = int(np.argmax(dev)) == int(np.argmax(host))
                    cases.append(CaseResult(i, row["_line"], row.get("text", ""), host, dev, diff, agree, err))
            feats = run.env.get("features") or {}
            results.append(Result(b, run.cpu, tol, cases, error, feats.get("asimddp"), run.xnnpack,
                                  run.seconds.get(b)))
    return results


def table(results: list[Result]) -> str:
    rows = [("backend", "cpu", "dotprod", "xnnpack", "cases", "max|diff| host vs arm64", "tolerance",
             "argmax", "status")]
    for r in results:
        dp = "?" if r.dotprod is None else ("yes" if r.dotprod else "no")
        agree = f"{sum(c.argmax_agrees for c in r.cases)}/{len(r.cases)}" if r.cases else "-"
        diff = f"{r.max_abs_diff:.3e}" if r.cases else "-"
        rows.append((r.backend, r.cpu, dp, "yes" if r.xnnpack else "no", str(len(r.cases)), diff,
                     f"{r.tolerance['max_abs_logit_diff']:g}", agree, "PASS" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def junit_xml(results: list[Result], props: dict, seconds: float, cpu_props: Optional[dict] = None) -> str:
    """One <testsuite> per emulated CPU; one <testcase> per backend x golden case (classname
    `device_check.<cpu>.<backend>`), plus one per backend for the argmax agreement (or the load
    error)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    total = sum(len(r.cases) + 1 for r in results)
    fails = 0
    suites = []
    for cpu in dict.fromkeys(r.cpu for r in results):
        cases, n, nf = [], 0, 0
        for r in (r for r in results if r.cpu == cpu):
            cls = quoteattr(f"device_check.{cpu}.{r.backend}")
            tol = r.tolerance["max_abs_logit_diff"]
            for c in r.cases:
                n += 1
                name = quoteattr(f"case {c.index + 1:02d} (golden line {c.line}): {_short(c.text, 60)}")
                body = ""
                if c.error or not (c.max_abs_diff <= tol):
                    nf += 1
                    msg = c.error or f"max |logit diff| {c.max_abs_diff:.4g} > {tol:g}"
                    body = (f"<failure message={quoteattr(msg)} type=\"tolerance\">"
                            f"{escape(f'host {c.host}, arm64 {c.device}, backend {r.backend}, cpu {cpu}')}</failure>")
                sysout = f"<system-out>{escape(f'max_abs_diff={c.max_abs_diff:.6g} host={c.host} arm64={c.device}')}</system-out>"
                cases.append(f'    <testcase classname={cls} name={name}>{body}{sysout}</testcase>')
            n += 1
            name = quoteattr("load and run" if r.error else "argmax agreement")
            body = ""
            if r.error:
                nf += 1
                body = f"<failure message={quoteattr(r.error)} type=\"runtime\"/>"
            elif r.agreement < r.tolerance["min_argmax_agreement"]:
                nf += 1
                msg = f"argmax agreement {r.agreement:.1%} < {r.tolerance['min_argmax_agreement']:.1%}"
                body = f"<failure message={quoteattr(msg)} type=\"tolerance\"/>"
            t = f' time="{r.seconds:.3f}"' if r.seconds is not None else ""
            cases.append(f'    <testcase classname={cls} name={name}{t}>{body}</testcase>')
        fails += nf
        suites.append((cpu, n, nf, cases))
    out.append(f'<testsuites name="bert-edge device-check" tests="{total}" failures="{fails}" '
               f'time="{seconds:.1f}">')
    for cpu, n, nf, cases in suites:
        out.append(f'  <testsuite name={quoteattr(f"device-check {cpu}")} tests="{n}" failures="{nf}" errors="0">')
        out.append("    <properties>")
        extra = [("cpu", f"{cpu}: {CPUS.get(cpu, '')}")] + list(((cpu_props or {}).get(cpu) or {}).items())
        for k, v in list(props.items()) + extra:
            out.append(f"      <property name={quoteattr(str(k))} value={quoteattr(str(v))}/>")
        out.append("    </properties>")
        out.extend(cases)
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def check_cpus(env: ArmEnv, cpus: list[str]) -> None:
    if not cpus:
        raise BertEdgeError("--cpus: name at least one emulated CPU")
    offered = qemu_cpus(env.qemu)
    bad = [c for c in cpus if c not in offered]
    if bad:
        raise BertEdgeError(f"--cpus: {', '.join(bad)} not offered by {qemu_version(env.qemu)} "
                            f"(choose from {', '.join(offered)})")


def spread(cases: list, n: Optional[int]) -> list:
    """At most `n` cases evenly spread over the golden file (the first and the last included:
    golden.jsonl ends with the overlong and the accented case)."""
    if not n or n >= len(cases):
        return cases
    if n < 1:
        raise BertEdgeError("--cases must be >= 1")
    picks = np.unique(np.linspace(0, len(cases) - 1, n).round().astype(int))
    return [cases[i] for i in picks]


def device_check(bundle_dir, cpus, env: ArmEnv, threads: int = 1, timeout: float = 1800,
                 junit: Optional[Path] = None, say: Say = _stderr, max_cases: Optional[int] = None) -> list[Result]:
    """Run, compare, write the JUnit report; return the results (no exception for breaches:
    see `raise_on_failure`)."""
    bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
    bundle = Bundle(bundle.dir, bundle.manifest, bundle.models, spread(bundle.cases, max_cases))
    check_cpus(env, cpus)
    say(f"[arm64] {len(bundle.models)} TFLite model(s) x {len(bundle.cases)} golden cases x "
        f"{len(cpus)} emulated CPU(s): {', '.join(cpus)}")
    t0 = time.monotonic()
    runs: dict = {}
    errors: dict = {}

    def work(cpu):
        try:
            runs[cpu] = run_on_cpu(env, cpu, bundle, threads, timeout, say)
        except BaseException as e:  # re-raised in the main thread
            errors[cpu] = e

    # One process per CPU, side by side (each is single-threaded under qemu).
    threads_ = [threading.Thread(target=work, args=(c,)) for c in cpus]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join()
    for cpu in cpus:
        if cpu in errors:
            raise errors[cpu]
    results = compare(bundle, [runs[c] for c in cpus])
    seconds = time.monotonic() - t0
    if junit:
        first = runs[cpus[0]].env
        props = {"bundle": str(bundle.dir.resolve()), "qemu": qemu_version(env.qemu),
                 "ai_edge_litert": first.get("ai_edge_litert", ""), "numpy": first.get("numpy", ""),
                 "python": first.get("python", ""), "threads": threads}
        Path(junit).parent.mkdir(parents=True, exist_ok=True)
        cpu_props = {c: {"hwcap": " ".join(k for k, v in (runs[c].env.get("features") or {}).items() if v) or "-",
                         "xnnpack": "yes" if runs[c].xnnpack else "no"} for c in cpus}
        Path(junit).write_text(junit_xml(results, props, seconds, cpu_props), encoding="utf-8")
    return results


def raise_on_failure(results: list[Result]) -> None:
    failed = [r for r in results if not r.passed]
    if not failed:
        return
    msgs = []
    for r in failed:
        dp = "" if r.dotprod is None else (" (dotprod)" if r.dotprod else " (no dotprod)")
        reasons = r.reasons()
        more = f"; +{len(reasons) - 3} more" if len(reasons) > 3 else ""
        msgs.append(f"{r.backend} on {r.cpu}{dp}: {'; '.join(reasons[:3])}{more}")
    raise GateFailure("device-check failed: " + " | ".join(msgs))
