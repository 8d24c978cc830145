"""The whole chain on a tiny random teacher and a tiny student, end to end with the real stages
(fine-tune, distill, convert, parity, bundle): reuse, resume after a failure and after an
interrupt, and the gate deciding the exit code."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from test_parity_support import make_tiny

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["finetune-teacher", "distill", "convert", "parity", "bundle"]
STAGE_DIRS = {"finetune-teacher": "teacher", "distill": "student", "convert": "convert", "parity": "parity"}


def tiny_config(base: Path, out: Path, assets: Path) -> dict:
    # export length 40: no tiny width equals it (24, 48, 96, head dims 6/12, 2 labels)
    return {
        "output_dir": str(out),
        "teacher": {"model": str(base), "finetune": {"epochs": 2, "batch_size": 32, "learning_rate": 2e-3,
                                                     "max_seq_length": 40}},
        "student": {"preset": "tinybert-4l-312d",
                    "overrides": {"num_hidden_layers": 2, "hidden_size": 24, "intermediate_size": 48,
                                  "num_attention_heads": 4}},
        "data": {"max_train_examples": 400, "max_dev_examples": 200},
        "distill": {"general": {"max_steps": 10, "max_seq_length": 40},
                    "task_intermediate": {"epochs": 1, "max_seq_length": 40, "learning_rate": 1e-3},
                    "task_prediction": {"epochs": 2, "max_seq_length": 40, "learning_rate": 2e-3}},
        "convert": {"max_seq_length": 40, "num_calibration": 50},
        "parity": {"latency_runs": 2, "min_teacher_share": 0.5},
        "bundle": {"dir": str(assets), "golden_cases": 8},
    }


def stages_of(stdout: str) -> dict:
    """stage -> status from the summary table."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in STAGES:
            out[parts[0]] = parts[1]
    return out


def record_mtimes(out: Path, assets: Path) -> dict:
    m = {s: (out / d / ".stage.json").stat().st_mtime_ns for s, d in STAGE_DIRS.items()
         if (out / d / ".stage.json").exists()}
    if (assets / ".stage.json").exists():
        m["bundle"] = (assets / ".stage.json").stat().st_mtime_ns
    return m


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    from pipeline.cli import main

    root = tmp_path_factory.mktemp("chain")
    base = make_tiny(root / "base", 48, 96, 0)
    (base / "labels.txt").unlink()  # a base model: the chain must fine-tune it first
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(base, root / "run", root / "assets")), encoding="utf-8")
    return {"root": root, "config": cfg, "out": root / "run", "assets": root / "assets", "main": main}


@pytest.fixture(scope="module")
def first_run(chain):
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    t0 = time.time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = chain["main"](["run", "--config", str(chain["config"]), "--no-progress"])
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(), "seconds": time.time() - t0}


def copy_chain(chain, dest: Path) -> tuple[Path, Path, list]:
    """A copy of the finished run under `dest`, and the flags that point the chain at it."""
    shutil.copytree(chain["out"], dest / "run", symlinks=True)
    args = ["--config", str(chain["config"]), "--output-dir", str(dest / "run"),
            "--set", f"bundle.dir={dest / 'assets'}", "--no-progress"]
    return dest / "run", dest / "assets", args


def test_chain_end_to_end(chain, first_run):
    assert first_run["code"] == 0, first_run["err"][-3000:]
    stdout = first_run["out"]
    assert stages_of(stdout) == {s: "done" for s in STAGES}, stdout
    assert "gate: PASSED" in stdout and "tflite_int8" in stdout
    out, assets = chain["out"], chain["assets"]
    for d in STAGE_DIRS.values():
        rec = json.loads((out / d / ".stage.json").read_text())
        assert len(rec["fingerprint"]) == 64 and rec["outputs_hash"]
    for f in ("teacher/labels.txt", "student/config.json", "convert/convert.json", "convert/model_int8.tflite",
              "convert/model_int8.ptl", "parity/parity.json", "parity/report.html"):
        assert (out / f).is_file(), f
    manifest = json.loads((assets / "manifest.json").read_text())
    # Full int8 is bundled only when it passed parity (optional; numerics differ per CPU)
    parity = {m["backend"]: m["status"] for m in
              json.loads((out / "parity" / "parity.json").read_text())["models"] if m.get("backend")}
    assert parity["tflite_int8"] == "PASS" and parity["tflite_fp32"] == "PASS"
    expected = [b for b in ("tflite_int8", "tflite_fp32", "tflite_int8_full", "ptl_int8", "pte_int8")
                if b != "tflite_int8_full" or parity.get(b) == "PASS"]
    assert [m["backend"] for m in manifest["models"]] == expected
    assert manifest["golden"]["count"] == 8 and manifest["teacher"] == str(chain["root"] / "base")
    state = json.loads((out / "chain.json").read_text())
    assert {s: v["status"] for s, v in state["stages"].items()} == {s: "done" for s in STAGES}
    assert state["gate_passed"] is True


def test_rerun_reuses_every_stage(chain, first_run, cli):
    before = record_mtimes(chain["out"], chain["assets"])
    code, out, err = cli("run", "--config", chain["config"], "--no-progress")
    assert code == 0, err
    assert stages_of(out) == {s: "reused" for s in STAGES}, out
    assert record_mtimes(chain["out"], chain["assets"]) == before
    assert "gate: PASSED" in out  # the summary is complete from the records


def test_to_stops_after_a_stage(chain, first_run, cli):
    code, out, err = cli("run", "--config", chain["config"], "--no-progress", "--to", "convert")
    assert code == 0, err
    assert stages_of(out) == {"finetune-teacher": "reused", "distill": "reused", "convert": "reused",
                              "parity": "not", "bundle": "not"}, out


def test_to_finetune_teacher_with_a_given_teacher_stops_there(chain, first_run, cli, tmp_path):
    """A given teacher.finetuned skips the teacher stage; --to finetune-teacher still stops
    the chain there (compare's shared-teacher step relies on it)."""
    code, out, err = cli("run", "--config", chain["config"], "--no-progress", "--to", "finetune-teacher",
                         "--output-dir", tmp_path / "run", "--set", f"teacher.finetuned={chain['out'] / 'teacher'}")
    assert code == 0, err
    assert stages_of(out) == {"finetune-teacher": "given", "distill": "not", "convert": "not",
                              "parity": "not", "bundle": "not"}, out
    assert not (tmp_path / "run" / "student").exists()


def test_scripts_convert_is_bert_edge_run(chain, first_run):
    """`python scripts/convert.py` from the repo root, without installing: the same chain."""
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run([sys.executable, "scripts/convert.py", "--config", str(chain["config"]), "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert stages_of(proc.stdout) == {s: "reused" for s in STAGES}


def test_changed_section_reruns_only_what_depends_on_it(chain, first_run, cli, tmp_path):
    out, assets, args = copy_chain(chain, tmp_path)
    code, stdout, err = cli("run", *args, "--set", "bundle.golden_cases=5")
    assert code == 0, err
    assert stages_of(stdout) == {"finetune-teacher": "reused", "distill": "reused", "convert": "reused",
                                 "parity": "reused", "bundle": "done"}, stdout
    assert json.loads((assets / "manifest.json").read_text())["golden"]["count"] == 5
    code, stdout, err = cli("run", *args, "--set", "bundle.golden_cases=5", "--set", "parity.min_agreement=0.98")
    assert code == 0, err
    assert stages_of(stdout) == {"finetune-teacher": "reused", "distill": "reused", "convert": "reused",
                                 "parity": "done", "bundle": "done"}, stdout


def test_failed_stage_then_resume_there(chain, first_run, cli, tmp_path):
    """convert fails (max_seq_length beyond the student's position table is refused); after the
    fix the chain resumes at convert: teacher and student are reused untouched."""
    out, assets, args = copy_chain(chain, tmp_path)
    before = record_mtimes(out, assets)
    code, stdout, err = cli("run", *args, "--set", "convert.max_seq_length=256")
    assert code == 2
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err
    assert errors[0].startswith("error: stage 'convert': convert step 'load' failed") and "max_seq_length 256" in errors[0]
    st = stages_of(stdout)
    assert st == {"finetune-teacher": "reused", "distill": "reused", "convert": "failed", "parity": "not",
                  "bundle": "not"}, stdout
    assert not (out / "convert" / ".stage.json").exists()
    assert json.loads((out / "chain.json").read_text())["stages"]["convert"]["status"] == "failed"
    code, stdout, err = cli("run", *args)
    assert code == 0, err
    st = stages_of(stdout)
    assert st["finetune-teacher"] == "reused" and st["distill"] == "reused" and st["convert"] == "done"
    assert st["bundle"] == "done"
    after = record_mtimes(out, assets)
    assert after["finetune-teacher"] == before["finetune-teacher"] and after["distill"] == before["distill"]
    assert after["convert"] != before["convert"]


def test_interrupted_chain_resumes(chain, first_run, cli, tmp_path):
    """SIGINT while convert runs: exit 130, convert is not recorded as done; the re-run resumes
    at convert and reuses the teacher and the student."""
    out, assets, args = copy_chain(chain, tmp_path)
    before = record_mtimes(out, assets)
    snapshot = lambda: {p.name: p.read_bytes() for p in (out / "convert").iterdir()  # noqa: E731
                        if p.is_file() and p.name != ".stage.json"}
    previous = snapshot()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "scripts/convert.py", *args, "--redo", "convert"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 600  # a loaded CI machine may take minutes to reach convert
    try:
        while time.time() < deadline and proc.poll() is None:
            if list((out / "convert").glob(".convert-work-*")):
                time.sleep(0.5)  # well inside the conversion
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "error: interrupted"
    assert stages_of(stdout)["convert"] == "interrupted"
    assert not (out / "convert" / ".stage.json").exists()
    # an interrupt leaves the previous conversion as it was: no work dir, no debug folder
    assert sorted(p.name for p in (out / "convert").iterdir() if p.is_dir()) == []
    assert snapshot() == previous
    code, stdout, err = cli("run", *args)
    assert code == 0, err
    st = stages_of(stdout)
    assert (st["finetune-teacher"], st["distill"], st["convert"]) == ("reused", "reused", "done"), stdout
    after = record_mtimes(out, assets)
    assert (after["finetune-teacher"], after["distill"]) == (before["finetune-teacher"], before["distill"])


def test_gate_failure_exits_3_without_bundle(chain, first_run, cli, tmp_path):
    out, assets, args = copy_chain(chain, tmp_path)
    strict = ["--set", "parity.max_fp32_abs_diff=1e-12"]  # no real fp32 artifact is bit-exact
    code, stdout, err = cli("run", *args, *strict)
    assert code == 3
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and "parity gate failed: onnx: max |logit diff| to float student" in errors[0]
    st = stages_of(stdout)
    assert st["parity"] == "done" and st["bundle"] == "not", stdout
    assert "gate: FAILED" in stdout and not assets.exists()
    assert json.loads((out / "chain.json").read_text())["gate_passed"] is False
    # the same inputs again: parity is reused and the gate still fails, without recomputing
    code, stdout, err = cli("run", *args, *strict)
    assert code == 3 and stages_of(stdout)["parity"] == "reused"


def test_bad_chain_inputs_one_line(cli, chain, tmp_path):
    code, _, err = cli("run", "--config", chain["config"], "--set", "bundle.backends=[onnx]",
                       "--output-dir", tmp_path / "x")
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: config key 'bundle.backends': onnx cannot")
    code, _, err = cli("run", "--config", chain["config"], "--set", "convert.targets=[tflite_int8]",
                       "--output-dir", tmp_path / "x")
    assert code == 2 and "not in convert.targets" in err
    code, _, err = cli("run", "--config", tmp_path / "missing.yaml")
    assert code == 2 and "config file not found" in err
    assert not (tmp_path / "x" / "teacher").exists()


def test_distill_settings_checked_before_the_first_stage(cli, chain, tmp_path):
    """A typo in a distillation setting fails `run` at once, before the teacher's fine-tune."""
    for key, value, words in (("distill.cache_dtype", "flaot16", "cache_dtype 'flaot16'"),
                              ("distill.projection", "shard", "projection 'shard'"),
                              ("distill.phases", "[task-intermediat]", "did you mean 'task-intermediate'")):
        code, _, err = cli("run", "--config", chain["config"], "--set", f"{key}={value}",
                           "--output-dir", tmp_path / "x", "--no-progress")
        assert code == 2 and words in err.strip().splitlines()[-1], err
        assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
