"""The comparison's work: the shared teacher once, then each student through the chain's
distill -> convert -> parity stages (reused when unchanged) and the benchmark.

A student whose stage fails is recorded with its one-line reason and the next one runs; a
parity gate failure is not a failure here (the numbers are complete, the report says FAIL).
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pipeline.errors import BertEdgeError, GateFailure

STUDENT_STAGES = ("distill", "convert", "parity")


@dataclass
class StudentRun:
    preset: str
    out: str
    status: str = "not run"  # done | failed
    error: Optional[str] = None
    gate_passed: Optional[bool] = None
    bench: Optional[str] = None  # done | reused | failed
    stages: dict = field(default_factory=dict)  # stage -> {status, seconds}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def check_outputs(cfg) -> None:
    """Every output location usable before the first stage (pipeline/outdir.py): OUTPUT_DIR is
    new, empty, a previous comparison or run (chain.json), and the report directory is ours."""
    from pipeline.chain import CHAIN_FILE
    from pipeline.compare.report import REPORT_DIR, REPORT_JSON
    from pipeline.outdir import check_output_dir

    out = Path(cfg.output_dir)
    check_output_dir(out, "compare", CHAIN_FILE, flag="output_dir")
    check_output_dir(out / REPORT_DIR, "compare report", REPORT_JSON, flag="")


def shared_teacher(cfg, progress: bool, log: Callable[[str], None] = _say) -> Path:
    """The fine-tuned teacher every student learns from: teacher.finetuned (or an already
    fine-tuned teacher.model), else OUTPUT_DIR/teacher, fine-tuned once by the chain and reused."""
    from pipeline.chain import Chain
    from pipeline.compare.students import base_config

    chain = Chain(base_config(cfg), progress=progress, until="finetune-teacher",
                  log=lambda m: log(f"[teacher] {m}"))
    chain.run()
    st = chain.result.stages[0]
    if st.status == "given":
        log(f"[teacher] using the fine-tuned teacher {st.out}")
    return Path(chain.paths["teacher"])


def run_student(cfg, preset: str, teacher: Path, progress: bool,
                log: Callable[[str], None] = _say) -> StudentRun:
    """One student through distill -> convert -> parity, then the benchmark."""
    from pipeline.chain import Chain
    from pipeline.compare.bench import bench_student
    from pipeline.compare.students import student_config

    scfg = student_config(cfg, preset, teacher)
    slog = lambda m: log(f"[{preset}] {m}")  # noqa: E731
    run = StudentRun(preset, scfg.output_dir)
    chain = None
    try:
        chain = Chain(scfg, progress=progress, until="parity", log=slog)
        chain.run()
        run.gate_passed = True
    except GateFailure as e:  # parity finished: complete numbers, FAIL in the report
        run.gate_passed = False
        slog(f"[parity] gate failed: {_one_line(e)}")
    except KeyboardInterrupt:
        raise
    except BertEdgeError as e:
        run.status, run.error = "failed", _one_line(e)
    except Exception as e:  # a bug in one student's stage must not lose the others' numbers
        run.status, run.error = "failed", f"{type(e).__name__}: {_one_line(e)}"
    if chain is not None:
        run.stages = {s.name: {"status": s.status, "seconds": s.seconds}
                      for s in chain.result.stages if s.name in STUDENT_STAGES}
    if run.status == "failed":
        slog(f"failed: {run.error}")
        return run
    run.status = "done"
    paths = chain.paths
    try:
        run.bench, _ = bench_student(scfg, Path(paths["student"]), Path(paths["convert"]), progress,
                                     lambda m: slog(m))
    except KeyboardInterrupt:
        raise
    except Exception as e:  # latency columns stay empty; accuracy and size are still reported
        run.bench = "failed"
        run.error = f"bench: {type(e).__name__}: {_one_line(e)}"
        slog(f"[bench] failed: {run.error}")
    return run


def run_all(cfg, students: list[str], progress: bool, log: Callable[[str], None] = _say) -> list[StudentRun]:
    teacher = shared_teacher(cfg, progress, log)
    runs = []
    for i, preset in enumerate(students, 1):
        log(f"[compare] student {i}/{len(students)}: {preset}")
        runs.append(run_student(cfg, preset, teacher, progress, log))
    return runs


def as_dict(run: StudentRun) -> dict:
    return asdict(run)
