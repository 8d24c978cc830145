"""The app bundle: the manifest/golden contract of docs/ARCHITECTURE.md, real host logits per
backend, atomic replacement, and refusal when parity no longer vouches for an artifact."""
import hashlib
import json
import os

import numpy as np
import pytest

from test_parity_support import L, LABELS, copy_run, read_json, tiny_run

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle(run, tmp_path_factory):
    from pipeline.bundle import make_bundle

    out = tmp_path_factory.mktemp("bundle") / "assets"
    root = run["root"]
    manifest = make_bundle(run["cfg"], root / "student", root / "convert", root / "parity", out_dir=out)
    return out, manifest


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_contract(bundle, run):
    out, manifest = bundle
    assert manifest == read_json(out / "manifest.json")
    assert (out / ".bert-edge.json").is_file()  # the list of files bert-edge wrote (output-dir policy)
    assert sorted(p.name for p in out.iterdir() if p.name != ".bert-edge.json") == sorted(
        ["golden.jsonl", "labels.txt", "manifest.json", "vocab.txt", "model_int8.tflite",
         "model_fp32.tflite", "model_int8.ptl"])
    for key in ("format_version", "pipeline_version", "teacher", "student", "labels", "max_seq_length",
                "do_lower_case", "vocab", "inputs", "outputs", "models", "tolerances", "golden"):
        assert key in manifest, key
    assert manifest["format_version"] == 1 and manifest["labels"] == LABELS
    assert manifest["max_seq_length"] == L and manifest["do_lower_case"] is True
    # real length: [1, n] inputs, the contract in `sequence`, each golden case's fed length
    assert manifest["inputs"] == [{"name": n, "dtype": "int32", "shape": [1, -1]} for n in INPUTS]
    assert manifest["sequence"] == {"dynamic": True, "max_seq_length": L, "trailing_context": 0}
    assert manifest["outputs"] == [{"name": "logits", "dtype": "float32", "shape": [1, 2]}]
    assert [m["backend"] for m in manifest["models"]] == ["tflite_int8", "tflite_fp32", "ptl_int8"]
    for m in manifest["models"]:
        f = out / m["file"]
        assert m["sha256"] == sha256(f) and m["size_bytes"] == f.stat().st_size
        assert m["sha256"] == sha256(run["root"] / "convert" / m["file"])  # the checked artifact
        assert m["format"] == f.suffix[1:]
        tol = manifest["tolerances"][m["backend"]]
        assert tol["max_abs_logit_diff"] > 0 and 0 < tol["min_argmax_agreement"] <= 1
    assert manifest["tolerances"]["tflite_fp32"]["max_abs_logit_diff"] <= 1e-3
    assert manifest["vocab"] == {"file": "vocab.txt", "sha256": sha256(out / "vocab.txt"),
                                 "size_bytes": (out / "vocab.txt").stat().st_size}
    assert (out / "labels.txt").read_text().split() == LABELS
    assert manifest["golden"] == {"file": "golden.jsonl", "count": 8}


def test_golden_cases_are_exact(bundle, run):
    """input ids are the student tokenizer's at max length; logits are each backend's own
    runtime output for exactly those ids."""
    from converters.runtimes import load_runner
    from transformers import AutoTokenizer

    out, manifest = bundle
    rows = [json.loads(l) for l in (out / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:  # the app feeds `length` positions: up to the last real token (BERT: no context)
        assert r["length"] == max(i + 1 for i, m in enumerate(r["attention_mask"]) if m)
    assert len(rows) == 8
    tok = AutoTokenizer.from_pretrained(run["root"] / "student")
    lengths = []
    for r in rows:
        enc = tok(r["text"], padding="max_length", truncation=True, max_length=L)
        for k in INPUTS:
            assert r[k] == enc[k] and len(r[k]) == L
        assert set(r["logits"]) == {"tflite_int8", "tflite_fp32", "ptl_int8"}
        lengths.append(len(tok(r["text"])["input_ids"]))
    assert max(lengths) > L, "one case must be longer than max_seq_length (truncated)"
    assert min(lengths) < L // 2 and len(set(lengths)) >= 6, lengths
    assert any(any(ch in r["text"] for ch in "ÉéïÀà") for r in rows)  # accents / case folding
    ids = {k: np.array([r[k] for r in rows], np.int32) for k in INPUTS}
    for m in manifest["models"]:
        got = load_runner(out / m["file"]).logits(*(ids[k] for k in INPUTS))
        want = np.array([r["logits"][m["backend"]] for r in rows], np.float32)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # the fp32 backend's golden logits agree with the float student within the fp32 tolerance
    from pipeline.parity import hf_fixed_logits
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(run["root"] / "student", attn_implementation="eager")
    ref = hf_fixed_logits(model, ids, progress=False)
    fp32 = np.array([r["logits"]["tflite_fp32"] for r in rows])
    assert np.abs(fp32 - ref).max() <= manifest["tolerances"]["tflite_fp32"]["max_abs_logit_diff"]


def test_bundle_cli_and_failed_bundle_keeps_previous(cli, run, tmp_path):
    assets = tmp_path / "assets"
    root = copy_run(run, tmp_path / "r", parts=("convert",))
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets,
                         "--golden-cases", "4")
    assert code == 0, err
    assert "model_int8.tflite" in out and "golden.jsonl (4 cases" in out
    before = {p.name: p.read_bytes() for p in assets.iterdir()}
    # a broken artifact makes the next bundle fail midway (with --force past the sha check)
    art = root / "convert" / "model_int8.ptl"
    art.write_bytes(art.read_bytes()[:5000])
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", assets,
                         "--golden-cases", "6", "--force")
    assert code == 2
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and "model_int8.ptl" in errors[0] and "Traceback" not in err
    after = {p.name: p.read_bytes() for p in assets.iterdir()}
    assert after == before  # previous bundle intact, byte for byte
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".assets")]
    assert leftovers == []  # no temp dirs left behind


def test_bundle_refuses_artifact_changed_since_parity(cli, run, tmp_path):
    root = copy_run(run, tmp_path / "r", parts=("convert",))
    f = root / "convert" / "model_fp32.tflite"
    f.write_bytes(f.read_bytes() + b"\0")  # any change, even a harmless one
    code, out, err = cli("bundle", "--config", run["config"], "--output-dir", root, "--out", tmp_path / "a")
    assert code == 3
    assert "model_fp32.tflite changed since parity checked it" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_bundle_bad_inputs(cli, run, tmp_path):
    code, _, err = cli("bundle", "--config", run["config"], "--parity", tmp_path, "--out", tmp_path / "a")
    assert code == 2 and "no parity report" in err
    code, _, err = cli("bundle", "--config", run["config"], "--backends", "onnx", "--out", tmp_path / "a")
    assert code == 2 and "onnx cannot be bundled" in err
    code, _, err = cli("bundle", "--config", run["config"], "--set", "convert.max_seq_length=64",
                       "--out", tmp_path / "a")
    assert code == 2 and "parity ran at max_seq_length 40" in err
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("x")
    code, _, err = cli("bundle", "--config", run["config"], "--out", tmp_path / "b")
    assert code == 2 and "is not empty and is not a bundle directory" in err
    assert (tmp_path / "b" / "keep.txt").read_text() == "x"


def test_select_golden_builds_an_overlong_case():
    from transformers import BertTokenizerFast

    from pipeline.bundle import select_golden
    from tiny_models import tiny_vocab

    tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(tiny_vocab())}, do_lower_case=True)
    texts = ["good", "a bad film", "the plot is dull but fun"]
    cases = select_golden(tok, texts, None, 5, 16)
    assert len(cases) == 5
    assert len(tok(cases[3][0])["input_ids"]) > 16
    assert cases[0][0] == "good" and cases[-1][0].startswith("Honestly")


def test_larger_golden_sets_carry_the_probe_texts():
    from transformers import BertTokenizerFast

    from pipeline.bundle import EXTRA_TEXT, GOLDEN_PROBES, select_golden
    from tiny_models import tiny_vocab

    tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(tiny_vocab())}, do_lower_case=True)
    texts = [f"a {'very ' * i}good film" for i in range(40)]
    cases = select_golden(tok, texts, None, 20, 16)
    got = [c[0] for c in cases]
    assert len(cases) == 20 and got[-5:] == [EXTRA_TEXT, *GOLDEN_PROBES]
    assert len(set(got[:14])) == 14  # the rest still spread over the dev lengths
    assert len(tok(got[14])["input_ids"]) > 16  # and the over-length case


def test_evaluate_runs_on_the_bundle_itself(cli, bundle, run):
    """`bert-edge evaluate` on a bundled model uses the bundle's vocab.txt, labels.txt and the
    manifest's lowercase flag: the same accuracy as parity measured."""
    out, _ = bundle
    code, stdout, err = cli("evaluate", "--model", out / "model_int8.tflite", "--data", run["dev_file"],
                            "--json", "--no-progress")
    assert code == 0, err
    rep = json.loads(stdout)
    parity = {m["name"]: m for m in run["report"]["models"]}
    assert rep["tokenizer"] == str(out)
    assert rep["accuracy"] == pytest.approx(parity["tflite_int8"]["accuracy"])


def test_tolerances():
    from pipeline.bundle import _tolerances

    assert _tolerances({}, "tflite_fp32", 1e-7) == {"max_abs_logit_diff": 1e-3, "min_argmax_agreement": 1.0}
    assert _tolerances({}, "tflite_int8", 0.01)["max_abs_logit_diff"] == 0.1
    assert _tolerances({}, "ptl_int8", 0.2)["max_abs_logit_diff"] == pytest.approx(0.4)  # 2x parity diff
    cfg = {"int8": {"max_abs_logit_diff": 0.05}, "ptl_int8": {"max_abs_logit_diff": 0.3, "min_argmax_agreement": 0.9}}
    assert _tolerances(cfg, "tflite_int8", 0.01)["max_abs_logit_diff"] == 0.05
    assert _tolerances(cfg, "ptl_int8", 0.5) == {"max_abs_logit_diff": 0.3, "min_argmax_agreement": 0.9}


def test_vocab_lines_keep_ids_when_the_vocab_has_gaps():
    from pipeline.bundle import vocab_lines

    lines = vocab_lines({"[PAD]": 0, "a": 1, "c": 3}).splitlines()
    assert lines == ["[PAD]", "a", "[unused_hole_2]", "c"]  # line number == id
