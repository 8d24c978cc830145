"""Smoke test of scripts/benchmark_convert.py on a small student: it must run end to end and
report every step; it does not check the time budget (that needs the 4L-312D default)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_convert_smoke(tmp_path):
    out_json = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "benchmark_convert.py"), "--layers", "1",
           "--hidden", "32", "--heads", "2", "--intermediate", "48", "--max-seq-length", "24",
           "--targets", "onnx,tflite_int8,tflite_int8_full,ptl_int8", "--num-calibration", "4",
           "--quiet", "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "total convert_all" in proc.stdout and "model_int8.tflite" in proc.stdout
    data = json.loads(out_json.read_text())
    rep = data["report"]
    assert set(rep["artifacts"]) == {"onnx", "tflite_int8", "tflite_int8_full", "ptl_int8"}
    assert rep["model_config"]["vocab_size"] == 30522 and rep["max_seq_length"] == 24
    for step in ("load", "onnx", "tflite_graph", "tflite_int8", "ptl_int8"):
        assert rep["step_seconds"][step] > 0 and step in rep["step_cpu_seconds"]
    assert data["convert_all_seconds"] >= sum(rep["step_seconds"].values()) * 0.9
