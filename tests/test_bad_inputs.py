"""Issue 13: every bad input, across the subcommands, gives exit 2 (or the documented code), one
`error:` line naming the file / config key / value, no traceback, and leaves the workspace
(a user's files, previous outputs) byte-for-byte as it was: nothing lost, nothing half-written.

Each case runs in-process (the `cli` fixture) in a fresh workspace holding a foreign user
directory, a previous bert-edge output with a user's file in it, and a run directory; cases fail
before any training starts, so the whole table takes seconds.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

GOOD = "sentence\tlabel\n" + "a good film\tpositive\na bad film\tnegative\n" * 8
PREV_FILES = {"config.json": '{"model_type": "bert"}\n', "labels.txt": "negative\npositive\n",
              "metrics.json": "{}\n", "users-notes.txt": "mine, not bert-edge's\n"}
README_MARKED = "# r\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n"


def _previous_output(d: Path) -> None:
    """A previous output of bert-edge (manifest lists its files) plus a file a user put in it."""
    d.mkdir(parents=True)
    for name, text in PREV_FILES.items():
        (d / name).write_text(text)
    (d / ".bert-edge.json").write_text(json.dumps(
        {"tool": "bert-edge", "what": "teacher", "files": ["config.json", "labels.txt", "metrics.json"]}))


@pytest.fixture
def ws(tmp_path, monkeypatch):
    w = tmp_path / "ws"
    w.mkdir()
    (w / "train.tsv").write_text(GOOD)
    (w / "dev.tsv").write_text(GOOD)
    (w / "user").mkdir()
    (w / "user" / "notes.txt").write_text("my notes\n")
    (w / "afile").write_text("a file, not a directory\n")
    (w / "arts").mkdir()
    _previous_output(w / "prev")
    _previous_output(w / "run" / "teacher")
    monkeypatch.chdir(w)  # relative defaults (runs/default, the app's assets) land in the workspace
    return w


@pytest.fixture(scope="session")
def tiny3_dir(tmp_path_factory):
    """A tiny classifier with three labels (a, b, c): its head does not fit 2-class data."""
    from tiny_models import make_tiny_bert
    from pipeline.data import write_labels

    d = make_tiny_bert(tmp_path_factory.mktemp("tiny3") / "model", labels=["a", "b", "c"])
    write_labels(d / "labels.txt", ["a", "b", "c"])
    return d


def snapshot(root: Path) -> dict:
    """Every path under root -> its bytes (None for directories)."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def check_one_error(code, err, expected_code, pattern):
    assert "Traceback" not in err, err
    errors = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(errors) == 1, err
    assert code == expected_code, err
    assert re.search(pattern, errors[0]), errors[0]


FT = ["finetune-teacher", "--teacher", "{tiny}", "--no-progress", "--output-dir", "run",
      "--max-train-examples", "16", "--set", "data.max_dev_examples=16", "--epochs", "1"]
FTD = FT + ["--train", "train.tsv", "--dev", "dev.tsv", "--out", "new_teacher"]
DI = ["distill", "--teacher", "{tiny}", "--no-progress", "--output-dir", "run", "--out", "new_student",
      "--max-steps", "1"]
DID = DI + ["--train", "train.tsv", "--dev", "dev.tsv"]
EV = ["evaluate", "--no-progress", "--model", "{tiny}", "--data", "dev.tsv"]
CMP = ["compare", "--no-progress", "--output-dir", "cmp", "--train", "train.tsv", "--dev", "dev.tsv"]
EVA = ["evaluate", "--no-progress", "--tokenizer", "{tiny}", "--data", "dev.tsv", "--model"]
BE = ["bench", "--no-progress", "--no-bert-base", "--artifacts", "arts", "--student", "{tiny}",
      "--output-dir", "run"]
PA = ["parity", "--no-progress", "--output-dir", "run", "--teacher", "{tiny}", "--student", "{tiny}",
      "--artifacts", "arts"]
BU = ["bundle", "--output-dir", "run", "--student", "{tiny}", "--artifacts", "arts"]
RU = ["run", "--no-progress", "--output-dir", "run", "--set", "bundle.dir=run/bundle"]
CO = ["convert", "--model", "{tiny}", "--out", "conv", "--no-progress"]

ONE_LABEL = "sentence\tlabel\n" + "a good film\tpositive\n" * 6
NAN_LABEL = "sentence\tlabel\na good film\tpositive\nmeh\tnan\na bad film\tnegative\n"
MIXED = "sentence\tlabel\na good film\t1\na bad film\tnegative\nok\t0\n"
SUPERSCRIPT = "sentence\tlabel\na good film\t1\na bad film\t\u00b2\n"
THREE = "sentence\tlabel\na\tx\nb\ty\nc\tz\n"

# (id, argv, {file: content}, exit code, pattern the one error line must match)
CASES = [
    # --- finetune-teacher: output directory ------------------------------------------------
    ("ft-out-foreign-dir", FT + ["--out", "user"], {}, 2, r"--out user is not empty and is not a teacher directory written by bert-edge \(it holds notes.txt\)"),
    ("ft-out-is-file", FT + ["--out", "afile"], {}, 2, r"--out afile: exists and is not a directory"),
    ("ft-out-under-file", FT + ["--out", "afile/teacher"], {}, 2, r"--out afile/teacher: .*afile is a file, not a directory"),
    ("ft-out-dot", FT + ["--out", "."], {}, 2, r"--out \. is not empty and is not a teacher directory"),
    # --- finetune-teacher: labels ----------------------------------------------------------
    ("ft-one-class", FT + ["--train", "one.tsv"], {"one.tsv": ONE_LABEL}, 2, r"one.tsv:2: every label is 'positive' \(6 rows"),
    ("ft-nan-label", FT + ["--train", "nan.tsv"], {"nan.tsv": NAN_LABEL}, 2, r"nan.tsv:3: label 'nan' is a missing value"),
    ("ft-NaN-label-csv", FT + ["--train", "nan.csv"], {"nan.csv": "text,label\ngood,1\nbad,NaN\n"}, 2, r"nan.csv:3: label 'NaN' is a missing value"),
    ("ft-nan-label-jsonl", FT + ["--train", "nan.jsonl"],
     {"nan.jsonl": '{"sentence": "good", "label": 1}\n{"sentence": "bad", "label": NaN}\n'}, 2, r"nan.jsonl:2: label 'nan'"),
    ("ft-mixed-kinds", FT + ["--train", "mixed.tsv"], {"mixed.tsv": MIXED}, 2, r"mixed.tsv:3: label 'negative' mixes label kinds: line 2 has '1'"),
    ("ft-superscript-label", FT + ["--train", "sup.tsv"], {"sup.tsv": SUPERSCRIPT}, 2, r"sup.tsv:3: label '\u00b2' mixes label kinds"),
    ("ft-negative-label", FT + ["--train", "neg.tsv"], {"neg.tsv": "sentence\tlabel\na\t-1\nb\t1\n"}, 2, r"neg.tsv: negative label -1"),
    ("ft-label-names-one", FT + ["--set", "data.label_names=[only]"], {}, 2, r"data.label_names.*at least two"),
    ("ft-teacher-head-3-vs-2", ["finetune-teacher", "--teacher", "{tiny3}", "--no-progress", "--output-dir", "run",
                                "--train", "train.tsv", "--dev", "dev.tsv"], {}, 2, r"classifier has 3 labels, the data has 2"),
    # --- finetune-teacher: numbers ---------------------------------------------------------
    ("ft-epochs-nan", FT + ["--epochs", "nan"], {}, 2, r"'teacher.finetune.epochs' must be a finite number, got nan"),
    ("ft-lr-inf", FT + ["--lr", "inf"], {}, 2, r"'teacher.finetune.learning_rate' must be a finite number, got inf"),
    ("ft-lr-minus-inf", FT + ["--lr=-inf"], {}, 2, r"'teacher.finetune.learning_rate' must be a finite number"),
    ("ft-batch-0", FT + ["--batch-size", "0"], {}, 2, r"'teacher.finetune.batch_size' must be >= 1, got 0"),
    ("ft-seq-4", FT + ["--max-seq-length", "4"], {}, 2, r"'teacher.finetune.max_seq_length' must be >= 8, got 4"),
    ("ft-warmup-yaml-nan", FT + ["--set", "teacher.finetune.warmup_ratio=.nan"], {}, 2, r"'teacher.finetune.warmup_ratio' must be a finite number"),
    ("ft-decay-negative", FT + ["--set", "teacher.finetune.weight_decay=-1"], {}, 2, r"'teacher.finetune.weight_decay' must be >= 0, got -1"),
    ("ft-epochs-word", FT + ["--epochs", "abc"], {}, 2, r"argument --epochs: invalid float value: 'abc'"),
    ("ft-max-steps-negative", FT + ["--max-steps", "-1"], {}, 2, r"'teacher.finetune.max_steps' must be >= 0, got -1"),
    ("ft-seed-nan", FT + ["--set", "seed=nan"], {}, 2, r"'seed' must be a finite number, got nan"),
    ("ft-max-train-negative", FT + ["--max-train-examples", "-5"], {}, 2, r"'data.max_train_examples' must be >= 0, got -5"),
    ("ft-yaml-inf", FT + ["--config", "c.yaml"], {"c.yaml": "teacher:\n  finetune:\n    weight_decay: .inf\n"}, 2, r"'teacher.finetune.weight_decay' must be a finite number, got inf"),
    # --- finetune-teacher: data files ------------------------------------------------------
    ("ft-train-missing", FT + ["--train", "nope.tsv"], {}, 2, r"nope.tsv: file not found"),
    ("ft-train-empty", FT + ["--train", "empty.tsv"], {"empty.tsv": ""}, 2, r"empty.tsv: file is empty"),
    ("ft-train-latin1", FT + ["--train", "l1.tsv"], {"l1.tsv": b"sentence\tlabel\ncaf\xe9\t1\n"}, 2, r"l1.tsv:2: not valid UTF-8"),
    ("ft-csv-unterminated-quote", FT + ["--train", "q.csv"], {"q.csv": 'text,label\n"good,1\nbad,0\n'}, 2, r"q.csv:\d+: malformed CSV row"),
    ("ft-tsv-fields", FT + ["--train", "f.tsv"], {"f.tsv": "sentence\tlabel\ngood\t1\nbroken\n"}, 2, r"f.tsv:3: expected 2 TSV fields"),
    ("ft-config-bad-yaml", FT + ["--config", "bad.yaml"], {"bad.yaml": "teacher: [\n"}, 2, r"bad.yaml:\d+: invalid YAML"),
    ("ft-config-unknown-key", FT + ["--config", "k.yaml"], {"k.yaml": "teacher:\n  finetun: {}\n"}, 2, r"unknown config key 'teacher.finetun'"),
    ("ft-teacher-missing", ["finetune-teacher", "--teacher", "./no/such/dir", "--output-dir", "run"], {}, 2, r"no/such/dir"),
    ("ft-format-unknown", FT + ["--train", "x.parquet"], {"x.parquet": "a"}, 2, r"x.parquet: cannot tell the format"),
    # --- distill ---------------------------------------------------------------------------
    ("di-out-foreign-dir", DID + ["--out", "user"], {}, 2, r"--out user is not empty and is not a student directory written by bert-edge \(it holds notes.txt\)"),
    ("di-out-is-file", DID + ["--out", "afile"], {}, 2, r"--out afile: exists and is not a directory"),
    ("di-teacher-no-data", DI, {}, 2, r"--teacher .*: no training data given .*pass --train FILE"),
    ("di-temperature-nan", DID + ["--temperature", "nan"], {}, 2, r"'distill.temperature' must be a finite number, got nan"),
    ("di-temperature-0", DID + ["--temperature", "0"], {}, 2, r"'distill.temperature' must be > 0, got 0"),
    ("di-lr-negative", DID + ["--lr", "-1"], {}, 2, r"'distill.general.learning_rate' must be > 0, got -1"),
    ("di-epochs-inf", DID + ["--epochs", "inf"], {}, 2, r"'distill.general.epochs' must be a finite number, got inf"),
    ("di-overrides-layers-negative", DID + ["--set", "student.overrides={num_hidden_layers: -1}"], {}, 2,
     r"'student.overrides.num_hidden_layers' must be >= 1, got -1"),
    ("di-overrides-hidden-float", DID + ["--set", "student.overrides={hidden_size: 31.5}"], {}, 2,
     r"'student.overrides.hidden_size' must be a positive integer, got 31.5"),
    ("di-overrides-dropout-nan", DID + ["--set", "student.overrides={hidden_dropout_prob: .nan}"], {}, 2,
     r"'student.overrides.hidden_dropout_prob' must be a finite number"),
    ("di-overrides-dropout-2", DID + ["--set", "student.overrides={attention_probs_dropout_prob: 2}"], {}, 2,
     r"'student.overrides.attention_probs_dropout_prob' must be <= 1, got 2"),
    ("di-loss-weight-inf", DID + ["--set", "distill.task_prediction.loss_weights={ce: .inf}"], {}, 2,
     r"'distill.task_prediction.loss_weights.ce' must be a finite number, got inf"),
    ("di-augment-prob-2", DID + ["--set", "distill.augment_prob=2"], {}, 2, r"'distill.augment_prob' must be <= 1, got 2"),
    ("di-layer-map-nan", DID + ["--set", "distill.layer_map=[.nan]"], {}, 2, r"'distill.layer_map\[0\]' must be a finite number"),
    ("di-one-class", DI + ["--train", "one.tsv", "--dev", "dev.tsv"], {"one.tsv": ONE_LABEL}, 2, r"one.tsv:2: every label is 'positive'"),
    ("di-teacher-labels-3-vs-data", ["distill", "--teacher", "{tiny3}", "--no-progress", "--output-dir", "run", "--out", "s",
                                     "--train", "three.tsv", "--dev", "dev.tsv", "--phases", "task-prediction"],
     {"three.tsv": THREE.replace("x", "positive")}, 2, r"three.tsv:2: label 'positive' is not in the label set \(a, b, c\): 3 labels there, 3 distinct"),
    # --- evaluate --------------------------------------------------------------------------
    ("ev-seq-negative", EV + ["--max-seq-length", "-3"], {}, 2, r"argument --max-seq-length: must be >= 8, got -3"),
    ("ev-seq-nan", EV + ["--max-seq-length", "nan"], {}, 2, r"argument --max-seq-length: must be a finite number, got nan"),
    ("ev-seq-huge", EV + ["--max-seq-length", "100000"], {}, 2, r"argument --max-seq-length: must be <= 512, got 100000"),
    ("ev-corrupt-onnx", EVA + ["bad.onnx"], {"bad.onnx": "this is text, not a model\n"}, 2, r"bad.onnx: cannot load .onnx artifact"),
    ("ev-corrupt-tflite", EVA + ["bad.tflite"], {"bad.tflite": "this is text, not a model\n"}, 2, r"bad.tflite: .*(corrupt|cannot load)"),
    ("ev-corrupt-ptl", EVA + ["bad.ptl"], {"bad.ptl": "this is text, not a model\n"}, 2, r"bad.ptl: .*(corrupt|cannot load)"),
    ("ev-nan-label", EV[:-1] + ["nan.tsv"], {"nan.tsv": NAN_LABEL}, 2, r"nan.tsv:3: label 'nan' is a missing value"),
    ("ev-superscript-label", EV[:-1] + ["sup.tsv"], {"sup.tsv": "sentence\tlabel\ngood\t\u00b2\n"}, 2,
     r"sup.tsv:2: label '\u00b2' is not in the label set \(negative, positive\)"),
    ("ev-format-unknown", EV + ["--format", "xml"], {}, 2, r"unknown data format 'xml'"),
    ("ev-data-missing", EV[:-1] + ["nope.tsv"], {}, 2, r"nope.tsv: file not found"),
    ("ev-tokenizer-for-dir", EV + ["--tokenizer", "{tiny}"], {}, 2, r"--tokenizer is only for artifacts"),
    ("ev-artifact-missing", EVA + ["none.onnx"], {}, 2, r"artifact not found: none.onnx"),
    ("ev-model-labels-3", ["evaluate", "--model", "{tiny3}", "--data", "dev.tsv"], {}, 2,
     r"dev.tsv:2: label 'positive' is not in the label set \(a, b, c\): 3 labels there, 2 distinct"),
    # --- bench -----------------------------------------------------------------------------
    ("be-runs-negative", BE + ["--runs", "-1", "--warmup", "-5"], {}, 2, r"argument --runs: must be >= 1, got -1"),
    ("be-warmup-negative", BE + ["--warmup", "-5"], {}, 2, r"argument --warmup: must be >= 0, got -5"),
    ("be-runs-nan", BE + ["--runs", "nan"], {}, 2, r"argument --runs: must be a finite number"),
    ("be-runs-fraction", BE + ["--runs", "2.5"], {}, 2, r"argument --runs: must be an integer, got 2.5"),
    ("be-readme-missing", BE + ["--update-readme", "missing.md"], {}, 2, r"--update-readme missing.md: file not found"),
    ("be-readme-no-section", BE + ["--update-readme", "R.md"], {"R.md": "# no markers\n"}, 2, r"--update-readme R.md: no '.*' section"),
    ("be-readme-is-dir", BE + ["--update-readme", "user"], {}, 2, r"--update-readme user: file not found"),
    ("be-out-is-file", BE + ["--out", "afile", "--update-readme", "R.md"], {"R.md": README_MARKED}, 2, r"--out afile: exists and is not a directory"),
    ("be-threads-zero", BE + ["--threads", "0"], {}, 2, r"--threads must be a comma list of positive integers, got '0'"),
    ("be-seq-lens-word", BE + ["--seq-lens", "abc"], {}, 2, r"--seq-lens must be a comma list .*'abc'"),
    # --- parity ----------------------------------------------------------------------------
    ("pa-min-agreement-nan", PA + ["--min-agreement", "nan"], {}, 2, r"'parity.min_agreement' must be a finite number, got nan"),
    ("pa-min-agreement-2", PA + ["--min-agreement", "2"], {}, 2, r"'parity.min_agreement' must be <= 1, got 2"),
    ("pa-fp32-diff-inf", PA + ["--max-fp32-abs-diff", "inf"], {}, 2, r"'parity.max_fp32_abs_diff' must be a finite number, got inf"),
    ("pa-max-examples-negative", PA + ["--max-examples", "-1"], {}, 2, r"'parity.max_examples' must be >= 0, got -1"),
    ("pa-out-foreign-dir", PA + ["--out", "user"], {}, 2, r"user is not empty and is not a parity report directory .*notes.txt"),
    ("pa-out-is-file", PA + ["--out", "afile"], {}, 2, r"afile: exists and is not a directory"),
    # --- bundle ----------------------------------------------------------------------------
    ("bu-golden-0", BU + ["--golden-cases", "0"], {}, 2, r"'bundle.golden_cases' must be >= 1, got 0"),
    ("bu-golden-word", BU + ["--golden-cases", "nan"], {}, 2, r"argument --golden-cases: invalid int value: 'nan'"),
    ("bu-tolerance-nan", BU + ["--set", "bundle.tolerances={int8: {max_abs_logit_diff: .nan}}"], {}, 2,
     r"'bundle.tolerances.int8.max_abs_logit_diff' must be a finite number"),
    ("bu-out-foreign-dir", BU + ["--out", "user"], {}, 2, r"user is not empty and is not a bundle directory .*notes.txt"),
    ("bu-out-is-file", BU + ["--out", "afile"], {}, 2, r"afile: exists and is not a directory"),
    # --- run -------------------------------------------------------------------------------
    ("ru-agreement-nan", RU + ["--set", "parity.min_agreement=nan"], {}, 2, r"'parity.min_agreement' must be a finite number"),
    ("ru-temperature-negative", RU + ["--set", "distill.temperature=-1"], {}, 2, r"'distill.temperature' must be > 0, got -1"),
    ("ru-seq-inf", RU + ["--config", "c.yaml"], {"c.yaml": "convert:\n  max_seq_length: .inf\n"}, 2, r"'convert.max_seq_length' must be a finite number"),
    ("ru-output-dir-is-file", ["run", "--no-progress", "--output-dir", "afile"], {}, 2, r"afile: exists and is not a directory"),
    ("ru-bundle-dir-foreign", ["run", "--no-progress", "--output-dir", "run", "--set", "bundle.dir=user"], {}, 2,
     r"user is not empty and is not a bundle directory .*notes.txt"),
    ("ru-to-unknown", RU + ["--to", "deploy"], {}, 2, r"argument --to: invalid choice: 'deploy'"),
    ("ru-one-class", RU + ["--train", "one.tsv"], {"one.tsv": ONE_LABEL}, 2, r"one.tsv:2: every label is 'positive'"),
    # --- convert (argument validation only) ------------------------------------------------
    ("co-num-calibration-0", CO + ["--num-calibration", "0"], {}, 2, r"argument --num-calibration: must be >= 1, got 0"),
    ("co-threads-0", CO + ["--threads", "0"], {}, 2, r"argument --threads: must be >= 1, got 0"),
    ("co-targets-unknown", CO + ["--targets", "coreml"], {}, 2, r"unknown convert target\(s\) coreml"),
    ("co-seq-word", CO + ["--max-seq-length", "abc"], {}, 2, r"argument --max-seq-length: must be a number \(int\), got 'abc'"),
    ("co-model-missing", ["convert", "--model", "nomodel", "--out", "conv"], {}, 2, r"nomodel"),
    ("co-calibration-missing", CO + ["--calibration-data", "nope.txt"], {}, 2, r"--calibration-data: file not found: nope.txt"),
    ("co-out-foreign", ["convert", "--model", "{tiny}", "--out", "user", "--no-progress"], {}, 2,
     r"--out user is not empty and is not a conversion output directory .*notes.txt"),
    ("co-out-is-file", ["convert", "--model", "{tiny}", "--out", "afile", "--no-progress"], {}, 2,
     r"--out afile: exists and is not a directory"),
    # --- compare (all fail before the teacher is touched) ------------------------------------
    ("cmp-students-unknown", CMP + ["--students", "tinybert-4l-312d,tinybrt"], {}, 2,
     r"--students: unknown student preset 'tinybrt' \(did you mean"),
    ("cmp-students-twice", CMP + ["--students", "mobilebert,mobilebert"], {}, 2, r"--students: mobilebert given more than once"),
    ("cmp-students-config", CMP + ["--set", "compare.students=[bert-huge]"], {}, 2, r"compare.students: unknown student preset 'bert-huge'"),
    ("cmp-threads-zero", CMP + ["--threads", "0"], {}, 2, r"--threads must be a comma list of positive integers, got '0'"),
    ("cmp-within-negative", CMP + ["--within", "-1"], {}, 2, r"argument --within: must be >= 0"),
    ("cmp-overrides-not-mapping", CMP + ["--set", "compare.overrides.mobilebert=3"], {}, 2,
     r"'compare.overrides.mobilebert' must be a mapping"),
    ("cmp-output-dir-foreign", ["compare", "--no-progress", "--output-dir", "user"], {}, 2,
     r"output_dir user is not empty and is not a compare directory .*notes.txt"),
    # --- top level -------------------------------------------------------------------------
    ("cli-unknown-command", ["deploy"], {}, 2, r"argument COMMAND: invalid choice: 'deploy'"),
    ("cli-unknown-flag", ["evaluate", "--model", "x", "--data", "y", "--frobnicate"], {}, 2, r"unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("argv, files, code, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(cli, ws, tiny_bert_dir, tiny3_dir, argv, files, code, pattern):
    for name, content in files.items():
        p = ws / name
        p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content, encoding="utf-8")
    before = snapshot(ws)
    argv = [a.replace("{tiny3}", str(tiny3_dir)).replace("{tiny}", str(tiny_bert_dir)) for a in argv]
    rc, _, err = cli(*argv)
    check_one_error(rc, err, code, pattern)
    assert snapshot(ws) == before  # nothing lost, nothing (half-)written


def test_case_table_is_large_and_covers_every_subcommand():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)
    commands = {c[1][0] for c in CASES}
    assert {"finetune-teacher", "distill", "evaluate", "parity", "bundle", "bench", "run", "convert",
            "compare"} <= commands


# --- unwritable outputs (chattr +i: the only read-only that also binds root) ------------------

@pytest.fixture
def immutable(ws):
    made = []

    def _make(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        made.append(path)
        return path

    yield _make
    for p in made:
        subprocess.run(["chattr", "-i", str(p)], capture_output=True)


@pytest.mark.parametrize("argv, target", [
    (FTD[:-2] + ["--out", "ro"], "ro"),  # the output directory itself
    (FTD[:-2] + ["--out", "ro/teacher"], "ro"),  # its parent, where the temp dir is built
    (DID + ["--out", "ro/student"], "ro"),
    (BE + ["--out", "ro/bench"], "ro"),
], ids=["ft-out-immutable", "ft-out-parent-immutable", "di-out-parent-immutable", "be-out-parent-immutable"])
def test_unwritable_output_fails_before_work(cli, ws, tiny_bert_dir, immutable, argv, target):
    immutable(ws / target)
    before = snapshot(ws)
    rc, _, err = cli(*[a.replace("{tiny}", str(tiny_bert_dir)) for a in argv])
    check_one_error(rc, err, 2, r"cannot write in .*ro \(Operation not permitted|Permission denied|Read-only")
    assert snapshot(ws) == before


# --- the policy on success and interruption ---------------------------------------------------

def test_replacing_a_previous_output_keeps_the_users_files(cli, ws, tiny_bert_dir):
    rc, _, err = cli(*[a.replace("{tiny}", str(tiny_bert_dir)) for a in FTD[:-2]], "--out", "prev",
                     "--max-steps", "1")
    assert rc == 0, err
    prev = ws / "prev"
    assert (prev / "users-notes.txt").read_text() == PREV_FILES["users-notes.txt"]  # kept
    assert (prev / "model.safetensors").is_file() and (prev / "labels.txt").read_text() == "negative\npositive\n"
    manifest = json.loads((prev / ".bert-edge.json").read_text())
    assert "users-notes.txt" not in manifest["files"] and "model.safetensors" in manifest["files"]
    assert not [p for p in ws.iterdir() if p.name.startswith(".prev")]  # no temp/old dirs left
    # and a second run replaces our files again, still keeping the user's
    rc, _, err = cli(*[a.replace("{tiny}", str(tiny_bert_dir)) for a in FTD[:-2]], "--out", "prev",
                     "--max-steps", "1")
    assert rc == 0, err
    assert (prev / "users-notes.txt").is_file() and not (prev / "config.json").read_text().startswith('{"model_type"')


def test_interrupt_leaves_previous_output_unchanged(cli, ws, tiny_bert_dir, monkeypatch):
    import pipeline.finetune

    def interrupted(*a, **k):
        raise KeyboardInterrupt  # Ctrl-C while the new output is being written

    monkeypatch.setattr(pipeline.finetune, "write_labels", interrupted)
    before = snapshot(ws)
    rc, _, err = cli(*[a.replace("{tiny}", str(tiny_bert_dir)) for a in FTD[:-2]], "--out", "prev",
                     "--max-steps", "1")
    assert rc == 130 and err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in err
    assert snapshot(ws) == before


# --- valid input that used to be refused -------------------------------------------------------

def test_csv_quoted_newline_and_very_long_fields_are_read(cli, ws, tiny_bert_dir):
    long_text = "good " * 40000  # 200,000 characters: over csv's default 131,072 field limit
    (ws / "q.csv").write_text(f'text,label\n"a good\nfilm, really",positive\n"{long_text}",negative\nbad,negative\n')
    (ws / "long.tsv").write_text(f"sentence\tlabel\n{long_text}\tpositive\nbad\tnegative\n")
    from pipeline.data import load_labeled

    d = load_labeled(ws / "q.csv")
    assert d.texts[0] == "a good\nfilm, really" and len(d.texts[1]) == len(long_text) and d.labels == [1, 0, 0]
    for data in ("q.csv", "long.tsv"):
        rc, out, err = cli("evaluate", "--model", tiny_bert_dir, "--data", data, "--json", "--no-progress")
        assert rc == 0, err
        assert json.loads(out)["n"] == (3 if data == "q.csv" else 2)  # long text truncated, not refused


def test_csv_error_line_is_where_the_record_starts(ws):
    from pipeline.data import load_labeled
    from pipeline.errors import BertEdgeError

    (ws / "r.csv").write_text('text,label\n"two\nlines",positive\nx,y,z\n')
    with pytest.raises(BertEdgeError, match=r"r.csv:4: expected 2 CSV fields"):
        load_labeled(ws / "r.csv")


def test_hf_source_says_what_is_wrong(cli, ws):
    rc, _, err = cli("finetune-teacher", "--train", "hf:glue/sst2", "--output-dir", "run", "--no-progress")
    assert rc == 2 and "Traceback" not in err
    line = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(line) == 1 and "hf:glue/sst2" in line[0]
    try:
        import datasets  # noqa: F401
    except ImportError:  # the environment of issue 13: pyarrow built for numpy 2, numpy 1.26
        assert "pyarrow" in line[0] and "numpy" in line[0] and "installed" in line[0]


def test_help_text(capsys):
    from pipeline.cli import build_parser

    text = build_parser().format_help()
    for needle in ("0    ok", "2    bad input", "3    a parity gate failed", "130  interrupted",
                   "Output directories", ".bert-edge.json"):
        assert needle in text, needle
