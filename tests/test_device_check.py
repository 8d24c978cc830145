"""`bert-edge device-check`: a bundle's TFLite models on LiteRT's real arm64 runtime under qemu,
for an emulated CPU without (cortex-a53) and with (cortex-a76) the dot-product extension.

Not skipped when the arm64 environment cannot be built: these tests FAIL then (the Makefile
installs qemu-user-static; the environment is built into build/arm64/ on first use)."""
import json
import shutil
import xml.etree.ElementTree as ET

import pytest

L = 40  # differs from every model width (onnx2tf confuses equal dimensions)
LABELS = ["negative", "positive"]
BACKENDS = ("tflite_int8", "tflite_fp32")
TEXTS = ["good", "a bad film", "the plot is dull but fun", "I loved the acting, but the story was awful.",
         "never ever boring " * 8, "Honestly, the CAFÉ scene is a déjà-vu!"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tiny random BERT converted to fp32 and dynamic-range int8 TFLite, bundled by the
    contract: manifest (sha256, tolerances as `bundle` sets them) and golden host logits."""
    from converters import convert_all, load_runner
    from tiny_models import make_tiny_bert
    from transformers import AutoTokenizer

    from pipeline.bundle import _tolerances
    from pipeline.data import write_labels
    from pipeline.parity import sha256_file

    root = tmp_path_factory.mktemp("device_check")
    student = make_tiny_bert(root / "student", labels=LABELS, hidden=32, intermediate=64, seed=7)
    write_labels(student / "labels.txt", LABELS)
    convert_all(student, root / "convert", targets=",".join(BACKENDS), max_seq_length=L, progress=False)
    out = root / "assets"
    out.mkdir()
    tok = AutoTokenizer.from_pretrained(student)
    enc = tok(TEXTS, padding="max_length", truncation=True, max_length=L, return_tensors="np")
    ids = {k: enc[k].astype("int32") for k in ("input_ids", "attention_mask", "token_type_ids")}
    files = {"tflite_int8": "model_int8.tflite", "tflite_fp32": "model_fp32.tflite"}
    logits = {}
    for b in BACKENDS:
        shutil.copyfile(root / "convert" / files[b], out / files[b])
        logits[b] = load_runner(out / files[b]).logits(ids["input_ids"], ids["attention_mask"], ids["token_type_ids"])
    with (out / "golden.jsonl").open("w", encoding="utf-8") as fh:
        for i, t in enumerate(TEXTS):
            row = {"text": t, **{k: v[i].tolist() for k, v in ids.items()},
                   "logits": {b: [float(x) for x in logits[b][i]] for b in BACKENDS}}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    shutil.copyfile(student / "vocab.txt", out / "vocab.txt")
    (out / "labels.txt").write_text("".join(l + "\n" for l in LABELS))
    manifest = {
        "format_version": 1, "labels": LABELS, "max_seq_length": L, "do_lower_case": True,
        "models": [{"backend": b, "file": files[b], "format": "tflite", "sha256": sha256_file(out / files[b]),
                    "size_bytes": (out / files[b]).stat().st_size} for b in BACKENDS],
        "tolerances": {b: _tolerances({}, b) for b in BACKENDS},
        "golden": {"file": "golden.jsonl", "count": len(TEXTS)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def _table_rows(out):
    return {tuple(l.split()[:2]): l.split() for l in out.splitlines() if l.startswith("tflite_")}


def test_device_check_passes_on_both_emulated_cpus(cli, bundle, tmp_path):
    junit = tmp_path / "report" / "device.xml"
    code, out, err = cli("device-check", "--bundle", bundle, "--junit", junit)
    assert code == 0, err
    assert "Traceback" not in err and "tflite_int8: done" in err  # progress lines
    rows = _table_rows(out)
    assert set(rows) == {(b, c) for b in BACKENDS for c in ("cortex-a53", "cortex-a76")}
    for (b, cpu), r in rows.items():
        # backend cpu dotprod xnnpack cases max|diff| tolerance argmax status
        assert r[2] == ("no" if cpu == "cortex-a53" else "yes"), r  # the dotprod extension, as the runtime sees it
        assert r[3] == "yes", r  # LiteRT's XNNPACK delegate ran
        assert r[4] == str(len(TEXTS)) and r[-1] == "PASS" and r[-2] == f"{len(TEXTS)}/{len(TEXTS)}", r
        assert float(r[5]) <= float(r[6])
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "0"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["device-check cortex-a53", "device-check cortex-a76"]
    for s in suites:
        cases = s.findall("testcase")
        assert len(cases) == len(BACKENDS) * (len(TEXTS) + 1) == int(s.get("tests"))
        assert {c.get("classname") for c in cases} == {f"device_check.{s.get('name').split()[1]}.{b}" for b in BACKENDS}
        props = {p.get("name"): p.get("value") for p in s.iter("property")}
        assert props["ai_edge_litert"] == "2.1.0" and "qemu" in props["qemu"] and props["xnnpack"] == "yes"
        assert ("asimddp" in props["hwcap"].split()) == (s.get("name") == "device-check cortex-a76")


def test_tampered_golden_logit_fails_naming_case_backend_and_cpu(cli, bundle, tmp_path):
    bad = tmp_path / "assets"
    shutil.copytree(bundle, bad)
    rows = [json.loads(l) for l in (bad / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[2]["logits"]["tflite_int8"][1] += 0.5  # case 3, one logit: far past the 0.1 tolerance
    (bad / "golden.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                      encoding="utf-8")
    junit = tmp_path / "device.xml"
    code, out, err = cli("device-check", "--bundle", bad, "--junit", junit, "--no-progress")
    assert code == 3, err
    errors = [l for l in err.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    msg = errors[0]
    for needle in ("tflite_int8 on cortex-a53 (no dotprod)", "tflite_int8 on cortex-a76 (dotprod)",
                   "case 3 (golden line 3", "> 0.1"):
        assert needle in msg, msg
    assert "tflite_fp32" not in msg
    rows = _table_rows(out)
    assert rows[("tflite_int8", "cortex-a53")][-1] == "FAIL" and rows[("tflite_fp32", "cortex-a53")][-1] == "PASS"
    root = ET.parse(junit).getroot()
    failed = [c for c in root.iter("testcase") if c.find("failure") is not None]
    # per CPU: case 3's logits, and the argmax agreement (+0.5 flips the tiny model's argmax: 5/6 < 95%)
    assert root.get("failures") == "4" and len(failed) == 4
    assert all(c.get("classname").endswith(".tflite_int8") for c in failed)
    assert sorted(c.get("name")[:7] for c in failed) == ["argmax ", "argmax ", "case 03", "case 03"]
    assert "argmax agreement 83.3% < 95.0% (cases 3)" in msg


def test_bad_bundles_exit_2(cli, bundle, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli("device-check", "--bundle", empty)
    assert code == 2 and err.startswith("error: ") and "manifest.json: not found" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("device-check", "--bundle", tmp_path / "nope")
    assert code == 2 and "bundle directory not found" in err
    changed = tmp_path / "changed"
    shutil.copytree(bundle, changed)
    f = changed / "model_int8.tflite"
    f.write_bytes(f.read_bytes()[:2000])  # truncated: would crash a native runtime
    code, _, err = cli("device-check", "--bundle", changed)
    assert code == 2 and "model_int8.tflite: sha256 differs from manifest.json" in err
    code, _, err = cli("device-check", "--bundle", bundle, "--cpus", "cortex-a53,pentium")
    assert code == 2 and "--cpus: pentium not offered" in err and "cortex-a76" in err


def test_arm_runner_imports_only_numpy_and_litert():
    """golden_runner.py runs in the arm64 python, where only numpy and ai_edge_litert exist."""
    import ast
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "pipeline" / "arm" / "golden_runner.py"
    mods = set()
    for node in ast.walk(ast.parse(src.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add(node.module.split(".")[0])
    assert mods - set(sys.stdlib_module_names) == {"numpy", "ai_edge_litert"}


def test_a_crashing_model_fails_its_backend_and_the_others_still_run(cli, bundle, tmp_path):
    """A model the arm64 runtime crashes on (here: truncated, with the manifest's sha256 updated
    to match) fails that backend on that CPU (exit 3); the other backends run in a fresh process."""
    from pipeline.parity import sha256_file

    bad = tmp_path / "assets"
    shutil.copytree(bundle, bad)
    f = bad / "model_int8.tflite"
    f.write_bytes(f.read_bytes()[:2000])
    manifest = json.loads((bad / "manifest.json").read_text())
    for m in manifest["models"]:
        if m["file"] == f.name:
            m["sha256"] = sha256_file(f)
    (bad / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = cli("device-check", "--bundle", bad, "--cpus", "cortex-a53", "--cases", "2", "--no-progress")
    assert code == 3, err
    assert "error: device-check failed: tflite_int8 on cortex-a53 (no dotprod): the arm64 runtime" in err
    assert "tflite_fp32" not in err.splitlines()[-1]
    rows = _table_rows(out)
    assert rows[("tflite_int8", "cortex-a53")][-1] == "FAIL" and rows[("tflite_fp32", "cortex-a53")][-1] == "PASS"
    assert rows[("tflite_fp32", "cortex-a53")][4] == "2"  # --cases 2
    assert not list(bad.parent.glob("*.core")) and not list(bad.glob("*.core"))


def test_cases_subset_spreads_over_the_golden_file():
    from pipeline.device_check import spread

    rows = list(range(32))
    assert spread(rows, None) == rows and spread(rows, 40) == rows
    assert spread(rows, 2) == [0, 31] and spread(rows, 5) == [0, 8, 16, 23, 31]


def test_an_environment_that_cannot_be_built_exits_2(cli, bundle, tmp_path, monkeypatch):
    """No apt-get on PATH (qemu still there): one error line, exit 2, nothing half-built."""
    import os

    from pipeline.arm.env import find_qemu

    qemu = find_qemu()
    assert qemu, "qemu-user-static is not installed (make arm-deps)"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(qemu, bin_dir / os.path.basename(qemu))
    monkeypatch.setenv("PATH", str(bin_dir))
    env_dir = tmp_path / "arm64"
    code, _, err = cli("device-check", "--bundle", bundle, "--env-dir", env_dir, "--no-progress")
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith("error: arm64 environment: apt-get and dpkg-deb are needed")
    assert not env_dir.exists() and not (tmp_path / ".arm64.building").exists()
