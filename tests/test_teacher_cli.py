"""Teacher loading, fine-tuning and evaluation through the real CLI, including every bad input."""
import json
import shutil
import subprocess
import sys

import pytest

from pipeline.errors import BertEdgeError
from pipeline.teacher import embedded_teacher_dir, is_finetuned, load_classifier


def one_error_line(code, err, pattern, expected_code=2):
    import re

    assert code == expected_code, err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in err


def test_missing_model_dir(cli, tmp_path):
    code, _, err = cli("evaluate", "--model", tmp_path / "absent", "--data", "default")
    one_error_line(code, err, r"model directory not found: .*absent")


def test_dir_without_config(cli, tmp_path):
    code, _, err = cli("evaluate", "--model", tmp_path, "--data", "default")
    one_error_line(code, err, r"no config.json \(not a Hugging Face model directory\)")


def test_corrupt_config(cli, tmp_path, tiny_bert_dir):
    d = tmp_path / "m"
    shutil.copytree(tiny_bert_dir, d)
    (d / "config.json").write_text("{not json", encoding="utf-8")
    code, _, err = cli("evaluate", "--model", d, "--data", "default")
    one_error_line(code, err, r"config.json: corrupt config.json")


def test_wrong_architecture(cli, tmp_path, tiny_bert_dir):
    d = tmp_path / "gpt"
    shutil.copytree(tiny_bert_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (d / "config.json").write_text(json.dumps(cfg))
    code, _, err = cli("evaluate", "--model", d, "--data", "default")
    one_error_line(code, err, r"model type 'gpt2' is not supported")


def test_no_weights(cli, tmp_path, tiny_bert_dir):
    d = tmp_path / "noweights"
    shutil.copytree(tiny_bert_dir, d)
    (d / "model.safetensors").unlink()
    code, _, err = cli("evaluate", "--model", d, "--data", "default")
    one_error_line(code, err, r"no weights file")


def test_corrupt_weights(cli, tmp_path, tiny_bert_dir):
    d = tmp_path / "corrupt"
    shutil.copytree(tiny_bert_dir, d)
    (d / "model.safetensors").write_bytes(b"\x00garbage" * 100)
    code, _, err = cli("evaluate", "--model", d, "--data", "default", "--no-progress")
    one_error_line(code, err, r"corrupt.*: (corrupt weights file|cannot load model)")


def test_truncated_weights(tmp_path, tiny_bert_dir):
    d = tmp_path / "trunc"
    shutil.copytree(tiny_bert_dir, d)
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(BertEdgeError, match=r"trunc: (corrupt weights file|cannot load model)"):
        load_classifier(str(d))


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BertEdgeError, match=r"cannot fetch 'nobody-org/no-such-model' from the Hugging Face hub"):
        load_classifier("nobody-org/no-such-model", num_labels=2)


def test_evaluate_reports_accuracy_and_per_class(cli, tiny_bert_dir, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("sentence\tlabel\ngood film\tpositive\nbad film\tnegative\n" + "long " * 400 + "\tpositive\n")
    code, out, err = cli("evaluate", "--model", tiny_bert_dir, "--data", data, "--json", "--no-progress")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["n"] == 3 and 0.0 <= rep["accuracy"] <= 1.0  # overlong text truncated, not an error
    assert set(rep["per_class"]) == {"negative", "positive"}
    assert sum(sum(r) for r in rep["confusion"]) == 3


def test_evaluate_bad_labels_against_model(cli, tiny_bert_dir, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("sentence\tlabel\ngood\tpositive\nmeh\tneutral\n")
    code, _, err = cli("evaluate", "--model", tiny_bert_dir, "--data", data)
    one_error_line(code, err, r"d.tsv:3: label 'neutral' is not in the label set \(negative, positive\)")


def test_evaluate_non_utf8_data(cli, tiny_bert_dir, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_bytes(b"sentence\tlabel\ngood\t1\n\xff\xfe bad\t0\n")
    code, _, err = cli("evaluate", "--model", tiny_bert_dir, "--data", data)
    one_error_line(code, err, r"d.tsv:3: not valid UTF-8")


@pytest.mark.parametrize("grouped", [False, True], ids=["shuffled", "length-grouped"])
def test_finetune_keeps_best_checkpoint(cli, tiny_bert_dir, tmp_path, grouped):
    out = tmp_path / "teacher"
    code, stdout, err = cli("finetune-teacher", "--teacher", tiny_bert_dir, "--out", out,
                            "--max-train-examples", 64, "--epochs", 2, "--batch-size", 16,
                            "--set", "teacher.finetune.eval_every=2", "--set", "data.max_dev_examples=64",
                            "--set", f"teacher.finetune.group_by_length={str(grouped).lower()}",
                            "--no-progress")
    assert code == 0, err
    assert is_finetuned(out)
    assert (out / "labels.txt").read_text() == "negative\npositive\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 8 and len(metrics["log"]) == 4
    best = max(l["dev_accuracy"] for l in metrics["log"])
    assert metrics["dev"]["accuracy"] == best
    dev = tmp_path / "dev.tsv"
    from pipeline.data.default_data import default_path

    dev.write_text("".join(default_path("dev.tsv").read_text().splitlines(keepends=True)[:65]))
    code, stdout, err = cli("evaluate", "--model", out, "--data", dev, "--json", "--no-progress")
    assert code == 0 and json.loads(stdout)["accuracy"] == pytest.approx(best)  # the saved model is the best one
    assert not list(tmp_path.glob(".teacher.*"))  # no temp dirs left behind


def test_finetune_failure_leaves_no_output(cli, tiny_bert_dir, tmp_path):
    bad = tmp_path / "train.tsv"
    bad.write_text("sentence\tlabel\n")
    code, _, err = cli("finetune-teacher", "--teacher", tiny_bert_dir, "--train", bad,
                       "--out", tmp_path / "t")
    one_error_line(code, err, r"train.tsv: no data rows after the header")
    assert not (tmp_path / "t").exists()


def test_embedded_minilm_teacher_loads_real_weights():
    d = embedded_teacher_dir()
    assert (d / "model.safetensors").is_file()
    model, tok, src = load_classifier("minilm", labels=["negative", "positive"])
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    assert tok.vocab_size == 30522 and src.is_local
    # Real pretrained weights: the word embeddings are not at their random-init scale.
    emb = model.bert.embeddings.word_embeddings.weight
    assert emb.std().item() > 0.03
    assert tok("Hello, world!")["input_ids"] == [101, 7592, 1010, 2088, 999, 102]


def test_console_script_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "evaluate", "--model",
                           str(tmp_path / "x"), "--data", "default"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: model directory not found: {tmp_path / 'x'}"]


def test_help_lists_commands(cli):
    with pytest.raises(SystemExit) as e:
        cli("--help")
    assert e.value.code == 0
