"""Smoke test of the benchmark on a tiny model: it must run end to end, not meet a time."""
import json

import pytest

from pipeline.bench import measure as bench
from pipeline.bench.report import README_BEGIN, README_END, update_readme


def test_bert_base_param_count_matches_transformers():
    from transformers import BertConfig, BertForSequenceClassification

    import torch

    cfg = BertConfig(num_labels=2)  # BERT-base defaults
    with torch.device("meta"):  # shapes only, no memory or init time
        model = BertForSequenceClassification(cfg)
    assert bench.bert_base_params() == sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def tiny_artifacts(tmp_path_factory):
    import converters
    from tiny_models import make_tiny_bert

    root = tmp_path_factory.mktemp("bench")
    student = make_tiny_bert(root / "student", labels=["negative", "positive"])
    converters.convert_all(student, root / "convert", targets=["onnx", "tflite_int8", "ptl_int8"],
                           max_seq_length=24, progress=False)
    return root


def test_bench_smoke(cli, tiny_artifacts, tmp_path):
    from pipeline.chain import dir_hash

    root = tiny_artifacts
    before = dir_hash(root / "convert")
    parity = tmp_path / "parity.json"
    parity.write_text(json.dumps({"models": [{"name": "tflite_int8", "accuracy": 0.5},
                                             {"name": "student", "accuracy": 0.55}]}))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{README_BEGIN}\nold\n{README_END}\ntail\n")
    code, out, err = cli("bench", "--artifacts", root / "convert", "--student", root / "student",
                         "--parity", parity, "--out", tmp_path / "bench", "--threads", "1",
                         "--seq-lens", "24,16", "--runs", "3", "--warmup", "1", "--no-bert-base",
                         "--real", "30",
                         "--no-progress", "--update-readme", readme, "--output-dir", tmp_path)
    assert code == 0, err
    # the ORT reference is written beside the results: the convert stage's files are untouched
    assert dir_hash(root / "convert") == before and (tmp_path / "bench" / "model_ort_int8.onnx").is_file()
    result = json.loads((tmp_path / "bench" / "bench.json").read_text())
    names = [m["name"] for m in result["models"]]
    assert names == ["student_fp32", "onnx", "ort_int8", "tflite_int8", "ptl_int8"]
    for m in result["models"]:
        r = m["results"]["t1_s24"]
        assert "error" not in r, (m["name"], r)
        assert 0 < r["p50_ms"] <= r["p90_ms"] and r["runs"] == 3 and r["peak_rss_mb"] > 0
        assert m["size_bytes"] > 0
    # the dynamic artifacts are timed padded to the second length too (no re-conversion)
    assert "p50_ms" in result["models"][3]["results"]["t1_s16"]
    assert not (root / "convert_seq16").exists()
    # real-distribution figure: 30 dev sentences, tokenization included, at their own length
    # and padded to 24, same predictions either way
    for m in result["models"]:
        r = m["results"]["t1_real"]
        assert "error" not in r, (m["name"], r)
        assert r["sentences"] == 30 and 2 < r["mean_tokens"] <= 24
        assert 0 < r["real"]["p50_ms"] <= r["real"]["p90_ms"] and r["fixed"]["mean_ms"] > 0
        # exact for graphs whose real-length run equals their padded run; ORT's dynamic int8
        # takes one activation scale over all positions, padding included
        if m["name"] in ("onnx", "tflite_int8", "ptl_int8"):
            assert r["same_predictions"] == 1.0, m["name"]
    g = result["goals"]["tflite_int8_real_vs_fixed"]["value"]["1 thread(s)"]
    assert g["sentences"] == 30 and g["ratio"] > 0
    assert result["models"][0]["results"]["t1_s24"]["flops"] > 0
    acc = {m["name"]: m["accuracy"] for m in result["models"]}
    assert acc["tflite_int8"] == 0.5 and acc["student_fp32"] == 0.55
    assert (tmp_path / "bench" / "bench.png").stat().st_size > 1000
    md = (tmp_path / "bench" / "bench.md").read_text()
    assert "student TFLite int8" in md and "ORT dynamic int8" in md and "real-length mean" in md
    text = readme.read_text()
    assert "old" not in text and "tail" in text and "student TFLite int8" in text
    assert "tflite_int8_vs_ort_int8" in result["goals"]


def test_bench_missing_artifacts_is_one_line(cli, tmp_path):
    code, _, err = cli("bench", "--artifacts", tmp_path / "none", "--output-dir", tmp_path)
    assert code == 2 and err.startswith("error: artifacts directory not found") and "Traceback" not in err


def test_update_readme_needs_markers(tmp_path):
    from pipeline.errors import BertEdgeError

    readme = tmp_path / "R.md"
    readme.write_text("no markers")
    with pytest.raises(BertEdgeError, match="bench:begin"):
        update_readme(readme, {"machine": {}, "date": "x"}, "cmd")
