"""`bert-edge compare` end to end on the embedded default data with a tiny random teacher and two
tiny students (real distill, convert, parity and bench stages), plus the recommendation rule."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from test_parity_support import make_tiny

# distilbert-style (1 layer) first: its layer map reads teacher layer 2 only, the 2-layer TinyBERT
# after it also layer 1, so it reuses the shared cache only because that holds every layer
STUDENTS = ["distilbert-style", "tinybert-4l-312d"]
ARTIFACTS = ["onnx", "tflite_fp32", "tflite_int8"]


def tiny_config(base: Path, out: Path) -> dict:
    return {
        "output_dir": str(out),
        "teacher": {"model": str(base), "finetune": {"epochs": 2, "batch_size": 32, "learning_rate": 2e-3,
                                                     "max_seq_length": 40}},
        "data": {"max_train_examples": 300, "max_dev_examples": 120},
        "distill": {"phases": ["task-intermediate", "task-prediction"],
                    "task_intermediate": {"epochs": 1, "max_seq_length": 40, "learning_rate": 1e-3},
                    "task_prediction": {"epochs": 1, "max_seq_length": 40, "learning_rate": 2e-3}},
        "convert": {"targets": ARTIFACTS, "max_seq_length": 40, "num_calibration": 20},
        "parity": {"latency_runs": 0, "min_teacher_share": 0.5},
        # the TinyBERT preset shrunk for the test; distilbert-style is half the tiny teacher
        "compare": {"students": STUDENTS, "threads": [1], "sentences": 15, "warmup": 1,
                    "overrides": {"tinybert-4l-312d": {"num_hidden_layers": 2, "hidden_size": 24,
                                                       "intermediate_size": 48, "num_attention_heads": 4}}},
    }


def cache_events(out: Path, preset: str) -> list[dict]:
    lines = (out / "students" / preset / "student" / "distill_log.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == "cache"]


def records(out: Path) -> dict:
    """mtime of every stage record under the comparison (teacher, per student stages, bench)."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob(".stage.json"))}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    base = make_tiny(root / "base", 48, 96, 0)
    (base / "labels.txt").unlink()  # a base model: fine-tuned once, shared by every student
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config(base, root / "run")), encoding="utf-8")
    return {"root": root, "config": cfg, "out": root / "run"}


@pytest.fixture(scope="module")
def first(world):
    import contextlib
    import io

    from pipeline.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compare", "--config", str(world["config"]), "--train", "default", "--no-progress"])
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}


def test_compare_reports_every_student(world, first):
    assert first["code"] == 0, first["err"][-3000:]
    out = world["out"]
    rep = out / "compare"
    comp = json.loads((rep / "compare.json").read_text())
    assert [s["preset"] for s in comp["students"]] == STUDENTS
    assert all(s["status"] == "done" and s["error"] is None for s in comp["students"]), comp["students"]
    # one teacher, fine-tuned once; one teacher cache shared by both students
    assert (out / "teacher" / "labels.txt").is_file()
    assert first["err"].count("[teacher] [finetune-teacher] running") == 1
    assert any((out / "teacher-cache").iterdir())
    built = {p: [e["built_examples"] for e in cache_events(out, p)] for p in STUDENTS}
    assert built[STUDENTS[0]] and built[STUDENTS[0]][0] > 0, built  # the first student fills it
    assert built[STUDENTS[1]] and set(built[STUDENTS[1]]) == {0}, built  # other layer map: reused
    for preset in STUDENTS:
        rows = {r["model"]: r for r in comp["rows"] if r["student"] == preset}
        assert list(rows) == ["student_fp32", *ARTIFACTS], rows.keys()
        for name, r in rows.items():
            assert 0 <= r["quality"] <= 1 and r["teacher_pct"] > 0, r
            assert r["size_bytes"] > 0 and r["params"] > 0
            assert r["latency"]["fixed_t1"] > 0 and r["latency"]["real_t1"] > 0, (name, r["latency_errors"])
            assert r["distill_seconds"] > 0
            assert (r["convert_seconds"] or 0) > 0 if name != "student_fp32" else r["convert_seconds"] is None
            assert r["gate"] in ("PASS", "FAIL")
        # the int8 file is the smallest of the student's artifacts
        assert rows["tflite_int8"]["size_bytes"] < rows["tflite_fp32"]["size_bytes"]
    assert comp["rows"][0]["params"] != comp["rows"][4]["params"]  # two different students
    assert comp["teacher"]["accuracy"] is not None
    # the recommendation names one of the artifacts, chosen by the stated rule
    rec = comp["recommendation"]
    assert rec["student"] in STUDENTS and rec["model"] in ARTIFACTS
    assert "within 1 accuracy points" in rec["rule"]
    assert any(r["pareto"] for r in comp["rows"])
    assert not any(r["pareto"] for r in comp["rows"] if r["kind"] != "artifact")
    # the report: Markdown with the table and plots beside it, self-contained HTML
    md = (rep / "report.md").read_text()
    assert all(p in md for p in STUDENTS) and f"**Recommendation: {rec['text']}.**" in md
    assert "![Accuracy vs latency" in md and "Pareto" in md
    for png in ("accuracy_latency.png", "accuracy_size.png"):
        data = (rep / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    html = (rep / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "class='rec'" in html
    assert f"recommendation: {rec['text']}" in first["out"]


def test_rerun_reuses_finished_students(world, first, cli):
    assert first["code"] == 0
    before = records(world["out"])
    assert len(before) == 1 + 4 * len(STUDENTS)  # teacher; distill, convert, parity, bench per student
    code, out, err = cli("compare", "--config", world["config"], "--no-progress")
    assert code == 0, err[-2000:]
    for preset in STUDENTS:
        for stage in ("distill", "convert", "parity", "bench"):
            assert f"[{preset}] [{stage}] reused" in err, err
    assert "running" not in err
    assert records(world["out"]) == before  # nothing retrained, reconverted or re-timed


def test_failed_student_is_reported_and_others_run(world, first, cli, tmp_path):
    assert first["code"] == 0
    shutil.copytree(world["out"], tmp_path / "run", symlinks=True)
    code, out, err = cli("compare", "--config", world["config"], "--output-dir", tmp_path / "run",
                         "--set", "compare.overrides.distilbert-style.bogus_size=8", "--no-progress")
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    comp = json.loads((tmp_path / "run" / "compare" / "compare.json").read_text())
    status = {s["preset"]: s for s in comp["students"]}
    assert status["tinybert-4l-312d"]["status"] == "done"  # runs after the failed one
    assert status["distilbert-style"]["status"] == "failed"
    assert "bogus_size" in status["distilbert-style"]["error"]
    assert "\n" not in status["distilbert-style"]["error"]
    assert {r["student"] for r in comp["rows"]} == {"tinybert-4l-312d"}
    assert comp["recommendation"]["student"] == "tinybert-4l-312d"
    md = (tmp_path / "run" / "compare" / "report.md").read_text()
    assert "distilbert-style: FAILED:" in md and "bogus_size" in md


@pytest.mark.parametrize("students, words", [
    ("tinybert-4l-312d,tinybret", "unknown student preset 'tinybret' (did you mean 'tinybert-"),
    ("mobilebert,mobilebert", "mobilebert given more than once"),
    (",", "no student given"),
])
def test_bad_students_one_line_exit_2(cli, world, tmp_path, students, words):
    code, out, err = cli("compare", "--config", world["config"], "--students", students,
                         "--output-dir", tmp_path / "x")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: --students: ") and words in lines[0], err
    assert not (tmp_path / "x").exists()


def test_bad_threads_and_overrides_one_line(cli, world, tmp_path):
    code, _, err = cli("compare", "--config", world["config"], "--threads", "1,zero", "--output-dir", tmp_path / "x")
    assert code == 2 and err.strip() == "error: --threads must be a comma list of positive integers, got '1,zero'"
    code, _, err = cli("compare", "--config", world["config"], "--set", "compare.overrides.mobilbert={}",
                       "--output-dir", tmp_path / "x")
    assert code == 2 and "'compare.overrides': mobilbert is not a student preset (did you mean 'mobilebert'?)" in err
    code, _, err = cli("compare", "--config", world["config"], "--set",
                       "compare.distill.distilbert-style.task_prediction.learnin_rate=1e-3", "--output-dir", tmp_path / "x")
    assert code == 2 and err.strip().startswith("error: unknown config key "
                                                "'compare.distill.distilbert-style.task_prediction.learnin_rate'"), err
    assert not (tmp_path / "x").exists()


def test_per_student_distill_settings_merge_over_the_distill_section(tmp_path):
    """compare.distill[preset] changes that student's distill keys only; loss_weights replace."""
    from pipeline.compare.students import check_overrides, student_config
    from pipeline.config import load_config

    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump(tiny_config(tmp_path / "base", tmp_path / "out")))
    cfg = load_config(cfg_file, ["distill.task_prediction.loss_weights={soft_ce: 1.0, ce: 0.5}",
                                 "compare.distill.tinybert-4l-312d.task_intermediate.learning_rate=5e-4",
                                 "compare.distill.tinybert-4l-312d.task_prediction.loss_weights={kl: 1.0}"])
    check_overrides(cfg)
    tiny = student_config(cfg, "tinybert-4l-312d", tmp_path / "teacher").distill
    other = student_config(cfg, "distilbert-style", tmp_path / "teacher").distill
    assert tiny.task_intermediate.learning_rate == 5e-4 and other.task_intermediate.learning_rate == 1e-3
    assert tiny.task_intermediate.epochs == other.task_intermediate.epochs == 1
    assert tiny.task_prediction.loss_weights == {"kl": 1.0}
    assert other.task_prediction.loss_weights == {"soft_ce": 1.0, "ce": 0.5}
    assert cfg.distill.task_intermediate.learning_rate == 1e-3  # the shared config is untouched


# --- the recommendation rule on made-up rows ---------------------------------------------------

def row(student, model, q, lat, size=1e6, shippable=True):
    return {"student": student, "model": model, "kind": "artifact", "quality": q, "size_bytes": size,
            "latency": {"real_t1": lat}, "shippable": shippable, "pareto": False}


def test_recommend_fastest_gate_passing_within_points():
    from pipeline.compare.table import mark_pareto, recommend

    rows = [row("a", "tflite_fp32", 0.90, 10.0), row("a", "tflite_int8", 0.895, 4.0),
            row("b", "tflite_int8", 0.85, 1.0), row("b", "onnx", 0.95, 0.5, shippable=False)]
    rec = recommend(rows, "real_t1", within=1.0)
    assert (rec["student"], rec["model"], rec["gate_passed"]) == ("a", "tflite_int8", True)
    assert recommend(rows, "real_t1", within=10.0)["student"] == "b"  # 85% is within 10 points of 90%
    assert recommend(rows, "real_t1", within=0.0)["model"] == "tflite_fp32"
    mark_pareto(rows, "real_t1")
    assert [r["pareto"] for r in rows] == [False, False, False, True]  # onnx beats all on both axes
    none = [dict(r, shippable=False) for r in rows]
    rec = recommend(none, "real_t1", within=1.0)
    assert rec["gate_passed"] is False and rec["model"] == "onnx" and "no artifact passes" in rec["text"]


def test_share_of_teacher_is_not_rounded_up_to_the_gate():
    # 96.96% fails a 97% gate: the table must not print it as 97.0
    from pipeline.compare.report import rows

    row = {"student": "mobilebert", "model": "tflite_int8", "runtime": "LiteRT", "quality": 0.8784,
           "teacher_pct": 96.962, "size_bytes": 7.89e6, "params": 7.33e6, "latency": {"real_t1": 3.6},
           "convert_seconds": 2.7, "distill_seconds": 4359, "gate": "FAIL", "pareto": False}
    comp = {"recommendation": {"student": None, "model": None}, "rows": [row], "settings": {"threads": [1]}}
    assert rows(comp)[0][4] == "96.96"
