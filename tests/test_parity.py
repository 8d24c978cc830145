"""Parity: metrics of every model through its real runtime, the gate, the reports, and
`bert-edge evaluate` on artifacts."""
import json
import re
import shutil

import numpy as np
import pytest

from test_parity_support import (L, LABELS, copy_run, corrupt_tflite_weights, models_by_name,
                                 read_json, tiny_run)

from converters.backends import BACKENDS  # every registry target, in conversion order

BACKENDS = list(BACKENDS)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def one_error_line(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- unit: metrics and gate ------------------------------------------------------------------

def test_kl_and_metrics():
    from pipeline.parity import kl_divergence, model_metrics

    t = np.array([[2.0, 0.0], [0.0, 1.0]])
    assert kl_divergence(t, t) == pytest.approx(0.0, abs=1e-12)
    p = np.exp(t) / np.exp(t).sum(-1, keepdims=True)
    q_logits = np.array([[0.0, 0.0], [0.0, 0.0]])
    expected = np.mean(np.sum(p * (np.log(p) - np.log(0.5)), -1))
    assert kl_divergence(t, q_logits) == pytest.approx(expected)
    m = model_metrics(np.array([[1.0, 0.0], [1.0, 0.0]], np.float32), t, t, [0, 1])
    assert m["accuracy"] == 0.5 and m["agreement_teacher"] == 0.5 and m["agreement_student"] == 0.5
    assert m["max_abs_diff"] == pytest.approx(1.0) and m["mean_abs_diff"] == pytest.approx(0.75) and m["finite"]
    nan = model_metrics(np.array([[np.nan, 0.0], [1.0, 0.0]], np.float32), t, t, None)
    assert nan["accuracy"] is None and nan["max_abs_diff"] is None and not nan["finite"]


def _entry(name, kind, **kw):
    base = {"name": name, "kind": kind, "backend": name if kind == "artifact" else None,
            "accuracy": 0.9, "agreement_student": 1.0, "max_abs_diff": 0.0, "finite": True}
    base.update(kw)
    return base


def test_gate_rules_required_vs_optional():
    from pipeline.config import ParityConfig
    from pipeline.parity import apply_gate, gate_summary

    pcfg = ParityConfig(min_teacher_share=0.95)
    models = [_entry("teacher", "teacher", accuracy=0.90), _entry("student", "student", accuracy=0.88),
              _entry("onnx", "artifact", max_abs_diff=5e-3),                 # fp32 diff breach
              _entry("tflite_int8", "artifact", accuracy=0.87),              # 1 point drop: ok
              _entry("ptl_int8", "artifact", accuracy=0.85),                 # 3 points: breach
              _entry("tflite_int8_full", "artifact", agreement_student=0.9),  # optional breach
              _entry("tflite_fp32", "artifact", error="model_fp32.tflite: boom", finite=False)]
    breaches = apply_gate(models, pcfg, labeled=True)
    by = {m["name"]: m for m in models}
    assert by["student"]["status"] == "PASS" and by["student"]["teacher_share"] == pytest.approx(0.88 / 0.9)
    assert by["tflite_int8"]["status"] == "PASS"
    assert by["tflite_int8"]["accuracy_drop_points"] == pytest.approx(1.0)
    assert [by[n]["status"] for n in ("onnx", "ptl_int8", "tflite_int8_full", "tflite_fp32")] == ["FAIL"] * 4
    g = gate_summary(breaches)
    assert not g["passed"]
    assert g["required_failed"] == ["onnx", "tflite_fp32"]
    assert g["optional_failed"] == ["ptl_int8", "tflite_int8_full"]  # legacy .ptl: optional
    msgs = [b["message"] for b in g["breaches"]]
    assert "onnx: max |logit diff| to float student = 0.005, must be <= 0.001" in msgs
    assert any(m.startswith("ptl_int8: accuracy drop vs float student (points) = 3") for m in msgs)
    # the student below its share of the teacher fails the gate even with perfect artifacts
    models = [_entry("teacher", "teacher", accuracy=0.9), _entry("student", "student", accuracy=0.8)]
    g = gate_summary(apply_gate(models, pcfg, labeled=True))
    assert not g["passed"] and g["required_failed"] == ["student"]
    # unlabeled data: no accuracy rules
    models = [_entry("teacher", "teacher", accuracy=None), _entry("student", "student", accuracy=None),
              _entry("ptl_int8", "artifact", accuracy=None)]
    assert gate_summary(apply_gate(models, pcfg, labeled=False))["passed"]


# --- the real run ------------------------------------------------------------------------------

def test_parity_report_real_runtimes(run):
    rep = run["report"]
    by = models_by_name(rep)
    assert list(by) == ["teacher", "student"] + BACKENDS
    assert rep["data"]["n"] == 200 and rep["data"]["max_seq_length"] == L and rep["data"]["labeled"]
    for name, m in by.items():
        for key in ("accuracy", "agreement_teacher", "agreement_student", "max_abs_diff",
                    "mean_abs_diff", "kl_teacher", "size_bytes", "params", "latency_ms"):
            assert m[key] is not None, (name, key)
        assert 0.0 <= m["accuracy"] <= 1.0
    assert by["teacher"]["agreement_teacher"] == 1.0 and by["teacher"]["kl_teacher"] == pytest.approx(0, abs=1e-9)
    assert by["student"]["max_abs_diff"] == 0.0 and by["student"]["agreement_student"] == 1.0
    for b in BACKENDS:  # every artifact ran at real length and padded, identically
        rl = by[b]["real_length"]
        assert rl["dynamic"] and rl["argmax_agreement_vs_padded"] == 1.0, b
    for b in ("onnx", "tflite_fp32"):  # fp32 artifacts: float-exact up to rounding
        assert by[b]["max_abs_diff"] < 1e-4 and by[b]["agreement_student"] == 1.0 and by[b]["status"] == "PASS"
    for b in ("tflite_int8", "ptl_int8"):
        assert 0 < by[b]["max_abs_diff"] < 0.5
    assert by["tflite_int8"]["size_bytes"] < by["tflite_fp32"]["size_bytes"]
    assert by["student"]["params"] < by["teacher"]["params"]
    assert by["onnx"]["params"] == by["student"]["params"]
    assert by["tflite_int8"]["sha256"] and len(by["tflite_int8"]["sha256"]) == 64
    assert rep["gate"]["passed"], rep["gate"]
    assert sum(map(sum, rep["student_vs_teacher_confusion"])) == 200
    # MediaPipe's TextClassifier on the raw dev texts (reported, not gated): same predictions
    for b in ("tflite_fp32", "tflite_int8"):
        mp = by[b]["mediapipe"]
        assert mp["ready"] is True and mp["agreement_litert"] >= 0.995, mp
        assert mp["max_abs_score_diff"] < 1e-3 and mp["head"] == "probabilities", mp
    assert "mediapipe" in by["tflite_int8_full"]
    assert not any("mediapipe" in by[b] for b in ("onnx", "ptl_int8", "student"))


def test_report_files(run):
    out = run["root"] / "parity"
    for f in ("parity.json", "report.md", "report.html", "logits.npz", "plots/tradeoff.png",
              "plots/diffs.png", "plots/confusion.png"):
        assert (out / f).is_file(), f
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3
    assert 'src="plots' not in html and "src='plots" not in html  # self-contained
    assert "Gate: PASSED" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| tflite_int8 | model_int8.tflite |" in md and "![Accuracy vs size vs latency](plots/tradeoff.png)" in md
    z = np.load(out / "logits.npz")
    assert set(BACKENDS) <= set(z.files) and z["student"].shape == (200, 2)
    # parity.json is strict JSON (no NaN) and names the gate
    rep = json.loads((out / "parity.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert rep["gate"]["passed"] is True


def test_parity_cli_passes(cli, run, tmp_path):
    code, out, err = cli("parity", "--config", run["config"], "--out", tmp_path / "p", "--no-progress",
                         "--backends", "tflite_int8,ptl_int8", "--set", "parity.latency_runs=0")
    assert code == 0, err
    assert "gate: PASSED" in out and "tflite_int8" in out and "onnx " not in out
    rep = read_json(tmp_path / "p" / "parity.json")
    assert [m["name"] for m in rep["models"]] == ["teacher", "student", "tflite_int8", "ptl_int8"]


def test_breach_corrupted_tflite_fails_gate_and_blocks_bundle(cli, run, tmp_path):
    """A .tflite with corrupted weights (still loadable) is caught by name; bundle refuses."""
    root = copy_run(run, tmp_path / "r")
    corrupt_tflite_weights(root / "convert" / "model_fp32.tflite", root / "student")
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0")
    assert code == 3, err
    line = one_error_line(err)
    assert re.search(r"parity gate failed: tflite_fp32: (max \|logit diff\| to float student|agreement "
                     r"with float student) = [0-9.e+-]+, must be (<=|>=) [0-9.e+-]+", line), line
    rep = read_json(root / "parity" / "parity.json")
    assert rep["gate"]["passed"] is False and rep["gate"]["required_failed"] == ["tflite_fp32"]
    assert models_by_name(rep)["tflite_fp32"]["status"] == "FAIL"
    assert models_by_name(rep)["tflite_int8"]["status"] == "PASS"
    assert "FAIL" in out and "Gate: FAILED" in (root / "parity" / "report.html").read_text()
    # the bundle refuses without --force, and writes nothing
    assets = tmp_path / "assets"
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets)
    assert code == 3
    assert re.search(r"bundle refused: the parity gate failed \(tflite_fp32: ", one_error_line(err))
    assert not assets.exists()
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets, "--force")
    assert code == 0, err
    assert "warning:" in err and (assets / "manifest.json").is_file()


def test_breach_unloadable_artifact_is_named(cli, run, tmp_path):
    root = copy_run(run, tmp_path / "r")
    f = root / "convert" / "model_int8.tflite"
    f.write_bytes(f.read_bytes()[: 2000])  # truncated download / disk full
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0", "--backends", "tflite_int8,ptl_int8")
    assert code == 3
    assert re.search(r"parity gate failed: tflite_int8: load/run: model_int8.tflite: ", one_error_line(err))


def test_missing_required_artifact_is_a_breach(cli, run, tmp_path):
    root = copy_run(run, tmp_path / "r")
    (root / "convert" / "model_int8.tflite").unlink()
    (root / "convert" / "model_int8.ptl").unlink()  # optional (legacy): reported, not a breach
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0", "--backends", "tflite_int8,ptl_int8")
    assert code == 3
    assert re.search(r"tflite_int8: missing: .*model_int8.tflite is missing", one_error_line(err))
    assert "ptl_int8" not in one_error_line(err)


def test_optional_artifact_failure_is_reported_and_not_bundled(cli, run, tmp_path):
    """tflite_int8_full is not required: its breach does not fail the gate, it is kept out of
    the bundle with a visible FAIL line."""
    root = copy_run(run, tmp_path / "r")
    corrupt = root / "convert" / "model_int8_full.tflite"
    shutil.copyfile(root / "convert" / "model_fp32.tflite", corrupt)
    corrupt_tflite_weights(corrupt, root / "student")
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0")
    assert code == 0, err
    assert "FAIL (optional: not bundled)" in out and "gate: PASSED (optional FAIL, not bundled: tflite_int8_full)" in out
    assets = tmp_path / "assets"
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets,
                         "--backends", "tflite_int8,tflite_int8_full")
    assert code == 0, err
    assert "FAIL tflite_int8_full: not bundled" in err
    manifest = read_json(assets / "manifest.json")
    assert [m["backend"] for m in manifest["models"]] == ["tflite_int8"]
    assert not (assets / "model_int8_full.tflite").exists()
    # a required backend that is failing is refused instead
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0",
                         "--set", "parity.required=[tflite_int8, tflite_int8_full]")
    assert code == 3 and "tflite_int8_full" in one_error_line(err)


def test_optional_artifact_never_written_is_left_out_of_the_bundle(cli, run, tmp_path):
    """An optional conversion that failed writes no file (convert leaves it out); parity reports
    it missing and bundle skips it instead of stopping on the absent file."""
    root = copy_run(run, tmp_path / "r")
    (root / "convert" / "model_int8.ptl").unlink()
    code, out, err = cli("parity", "--config", run["config"], "--output-dir", root, "--no-progress",
                         "--set", "parity.latency_runs=0", "--backends", "tflite_int8,ptl_int8")
    assert code == 0, err
    assets = tmp_path / "assets"
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets,
                         "--backends", "tflite_int8,ptl_int8")
    assert code == 0, err
    assert "FAIL ptl_int8: not bundled" in err
    assert [m["backend"] for m in read_json(assets / "manifest.json")["models"]] == ["tflite_int8"]


def test_unlabeled_text_file(cli, run, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("a great film\nthe plot is dull\nnot bad at all\n", encoding="utf-8")
    code, out, err = cli("parity", "--config", run["config"], "--dev", texts, "--out", tmp_path / "p",
                         "--no-progress", "--backends", "onnx", "--set", "parity.latency_runs=0")
    assert code == 0, err
    rep = read_json(tmp_path / "p" / "parity.json")
    assert not rep["data"]["labeled"] and rep["data"]["n"] == 3
    assert models_by_name(rep)["onnx"]["accuracy"] is None
    assert models_by_name(rep)["onnx"]["agreement_student"] == 1.0


def test_parity_bad_inputs_one_line(cli, run, tmp_path):
    code, _, err = cli("parity", "--config", run["config"], "--artifacts", tmp_path / "nope")
    assert code == 2 and "artifacts directory not found" in one_error_line(err)
    code, _, err = cli("parity", "--config", run["config"], "--student", tmp_path / "nope")
    assert code == 2 and "student model directory not found" in one_error_line(err)
    code, _, err = cli("parity", "--config", run["config"], "--backends", "tflite_int9")
    assert code == 2 and "unknown backend(s) tflite_int9" in one_error_line(err)
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    code, _, err = cli("parity", "--config", run["config"], "--out", tmp_path)  # a typo'd --out
    assert code == 2 and "is not empty and is not a parity report directory" in one_error_line(err)
    assert precious.read_text() == "keep me"


# --- evaluate on artifacts -----------------------------------------------------------------------

@pytest.mark.parametrize("backend,file", [("tflite_int8", "model_int8.tflite"), ("ptl_int8", "model_int8.ptl"),
                                          ("onnx", "model.onnx")])
def test_evaluate_artifact_matches_parity(cli, run, backend, file):
    art = run["root"] / "convert" / file
    code, out, err = cli("evaluate", "--model", art, "--data", run["dev_file"], "--json", "--no-progress")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["n"] == 200
    assert rep["accuracy"] == pytest.approx(models_by_name(run["report"])[backend]["accuracy"])
    assert rep["tokenizer"] == str(run["root"] / "student")  # found through convert.json


def test_evaluate_artifact_tokenizer_flag(cli, run, tmp_path):
    lone = tmp_path / "model_int8.tflite"
    shutil.copyfile(run["root"] / "convert" / "model_int8.tflite", lone)
    code, _, err = cli("evaluate", "--model", lone, "--data", run["dev_file"])
    assert code == 2 and "pass --tokenizer" in one_error_line(err)
    code, out, err = cli("evaluate", "--model", lone, "--data", run["dev_file"], "--tokenizer",
                         run["root"] / "student", "--no-progress")
    assert code == 0, err
    acc = models_by_name(run["report"])["tflite_int8"]["accuracy"]
    assert f"accuracy {acc:.4f} on 200 examples" in out
    code, _, err = cli("evaluate", "--model", tmp_path / "absent.tflite", "--data", run["dev_file"])
    assert code == 2 and "artifact not found" in one_error_line(err)
    code, _, err = cli("evaluate", "--model", lone, "--data", run["dev_file"], "--tokenizer", lone,
                       "--max-seq-length", "64")
    assert code == 2 and "not a directory" in one_error_line(err)
    code, _, err = cli("evaluate", "--model", lone, "--data", run["dev_file"], "--tokenizer",
                       run["root"] / "student", "--max-seq-length", "64")
    assert code == 2 and f"takes exactly {L} tokens" in one_error_line(err)


def test_trimmed_float_run_keeps_the_neighbour_mobilebert_reads(tmp_path):
    """Parity's float reference runs length-sorted batches cut to their longest sentence. A
    MobileBERT's last token reads its right neighbour (the trigram embedding); with a [PAD] row
    that is not zero (teacher-set embeddings) the cut must keep that neighbour, or the reference
    drifts from the padded run its artifacts reproduce (seen: 0.013 on the SST-2 student)."""
    import torch
    from tiny_models import make_tiny_mobilebert, sharpen
    from transformers import AutoModelForSequenceClassification

    from pipeline.parity import hf_fixed_logits

    student = make_tiny_mobilebert(tmp_path / "mb")
    sharpen(student, std=0.12)  # logits that vary between inputs, as in test_converters
    model = AutoModelForSequenceClassification.from_pretrained(student).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        model.get_input_embeddings().weight[model.config.pad_token_id].normal_(0.0, 1.0)
    rng = np.random.default_rng(0)
    n, length = 12, 16
    ids = np.zeros((n, length), np.int32)
    mask = np.zeros((n, length), np.int32)
    for i, k in enumerate(rng.integers(3, length - 1, n)):
        ids[i, :k] = rng.integers(5, model.config.vocab_size, k)
        mask[i, :k] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    full = hf_fixed_logits(model, inputs, batch_size=4, progress=False, trim=False)
    trimmed = hf_fixed_logits(model, inputs, batch_size=4, progress=False)
    assert np.abs(full).max() > 0.1  # logits that can show a drift
    np.testing.assert_allclose(trimmed, full, rtol=0, atol=1e-5)
