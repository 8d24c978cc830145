"""Convert what users bring: a tiny random-init `*ForSequenceClassification` of every family in
converters/families.py, with a real tokenizer of its kind (WordPiece; byte-level BPE and
SentencePiece Unigram trained offline), through the real converters and runtimes.

Each artifact passes the one validation step (real length and padded vs the float model, mask
probe); the tests add what differs per family: the contract's three inputs in every file, exact
GELU as the GELU builtin, RoBERTa's positions after the padding index, the MediaPipe tokenizer
each tokenizer family gets (or the reason it gets none), and one-line refusals.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tiny_models import make_tiny_family

L = 40
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Every target but ExecuTorch for every family; the .pte exports (the slowest) for the two
# families whose export wrapper differs (no token types; positions after the padding index).
FAST = "onnx,tflite_fp32,tflite_int8,tflite_int8_full,ptl_int8"
TARGETS = {"bert": FAST, "distilbert": "all", "electra": FAST, "roberta": "all",
           "xlm-roberta": FAST, "albert": FAST}
GATE_FP32 = 1e-3  # the parity gate's fp32 bound (converters/backends.py: 1e-4 + 1e-3 * scale)
MEDIAPIPE = {"bert": "bert", "distilbert": "bert", "electra": "bert", "roberta": None,
             "xlm-roberta": None, "albert": "sentencepiece"}
# What a user types: accents, case, full-width forms, ligatures, punctuation, digits
PROBE = ["the movie was good", "Café naïve résumé, déjà-vu!", "A TERRIBLE film ... really?",
         "ｇｏｏｄ ﬁne ① 42", "i loved it (a lot) ; they did not", ""]


@pytest.fixture(scope="module", params=list(TARGETS))
def family(request, tmp_path_factory):
    from converters import convert_all

    root = tmp_path_factory.mktemp(f"family_{request.param}")
    model = make_tiny_family(request.param, root / "model")
    report = convert_all(model, root / "out", targets=TARGETS[request.param], max_seq_length=L,
                         num_calibration=8, progress=False)
    return {"name": request.param, "model": model, "out": root / "out", "report": report}


def test_every_target_converts_and_passes_validation(family):
    from converters import ARTIFACTS
    from converters.common import parse_targets

    rep = family["report"]
    want = parse_targets(TARGETS[family["name"]])
    assert set(rep["artifacts"]) == set(want) and not rep["failed"]
    for b, e in rep["artifacts"].items():
        v = e["validation"]
        assert v["passed"], (b, v)
        assert (family["out"] / ARTIFACTS[b]).is_file()
        if b in ("onnx", "tflite_fp32", "pte_fp32"):
            assert v["max_abs_diff"] < GATE_FP32, (b, v["max_abs_diff"])
        assert any("[CLS] only" in k for k in v["per_case_max_abs_diff"])
    assert rep["model_type"] == json.loads((family["model"] / "config.json").read_text())["model_type"]


def test_every_artifact_takes_the_three_contract_inputs(family):
    """DistilBERT reads no token types and RoBERTa one: the files still take all three, so
    every runtime and the app feed every family the same way."""
    import onnx

    from converters import ARTIFACTS, load_runner

    out = family["out"]
    assert [i.name for i in onnx.load(str(out / "model.onnx")).graph.input] == list(INPUTS)
    from ai_edge_litert.interpreter import Interpreter

    sig = Interpreter(model_path=str(out / ARTIFACTS["tflite_fp32"])).get_signature_list()
    assert sorted(sig["serving_default"]["inputs"]) == sorted(INPUTS)
    # a short text at its own length through every runtime gives the float model's logits
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    import torch

    tok = AutoTokenizer.from_pretrained(family["model"])
    enc = tok(["the movie was good and the acting was great"], return_token_type_ids=True)
    arrays = {k: np.asarray(enc[k], np.int32) for k in INPUTS}
    model = AutoModelForSequenceClassification.from_pretrained(family["model"]).eval()
    with torch.no_grad():
        ref = model(input_ids=torch.tensor(enc["input_ids"]),
                    attention_mask=torch.tensor(enc["attention_mask"])).logits.numpy()
    for b in ("onnx", "tflite_fp32"):
        got = load_runner(out / ARTIFACTS[b]).logits(*(arrays[k] for k in INPUTS))
        assert np.abs(got - ref).max() < GATE_FP32, b


def test_exact_gelu_is_the_gelu_builtin(family):
    from converters import ARTIFACTS
    from converters.tflite import tflite_op_counts

    act = json.loads((family["model"] / "config.json").read_text())
    exact = (act.get("hidden_act") or act.get("activation")) == "gelu"
    for b in ("tflite_fp32", "tflite_int8", "tflite_int8_full"):
        ops, custom = tflite_op_counts(family["out"] / ARTIFACTS[b])
        # one per layer (2), ELECTRA's head has one more; never an Erf, Flex or custom op
        assert not custom and ops.get("GELU", 0) >= 2 and not any("ERF" in o for o in ops), (b, ops)
    fused = family["report"]["gelu_fused"]
    assert fused["exact_gelu" if exact else "gelu"] >= 2 and fused["exact_gelu" if not exact else "gelu"] == 0


def test_mediapipe_tokenizer_per_tokenizer_family(family):
    """WordPiece gets MediaPipe's BERT tokenizer and an ALBERT-style SentencePiece model its
    SentencePiece tokenizer, and MediaPipe then scores raw text as LiteRT does on HF's ids; BPE
    and XLM-R-style SentencePiece ([CLS]/[SEP] missing) get none, and convert.json says why."""
    from converters.common import encode_fixed
    from converters.mediapipe_text import MediaPipeTextRunner, mediapipe_input
    from converters.runtimes import load_runner
    from converters.tflite_metadata import read_metadata
    from transformers import AutoTokenizer

    path = family["out"] / "model_fp32.tflite"
    md = family["report"]["artifacts"]["tflite_fp32"]["metadata"]
    want = MEDIAPIPE[family["name"]]
    assert md["tokenizer"] == want
    assert read_metadata(path)["tokenizer"] == want
    if want is None:
        assert md["no_tokenizer"]
        if family["name"] == "roberta":
            assert "BPE" in md["no_tokenizer"]
        return
    probe = PROBE
    tok = AutoTokenizer.from_pretrained(family["model"])
    enc = encode_fixed(tok, probe, None, L)
    logits = load_runner(path).logits(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    # WordPiece text BERT-normalized first, as parity and the app do (MediaPipe keeps accents)
    with MediaPipeTextRunner(path, num_labels=2, prepare=mediapipe_input(tok)) as runner:
        scores = runner.scores(probe)
    assert np.abs(scores - probs).max() < 1e-4, (family["name"], np.abs(scores - probs).max(1))


def test_sentencepiece_gets_mediapipe_metadata_only_with_its_model_file_and_cls_sep(tmp_path):
    from converters.tflite_metadata import mediapipe_tokenizer
    from tiny_models import write_sentencepiece_tokenizer, write_unigram_tokenizer

    xlmr = write_sentencepiece_tokenizer(tmp_path / "xlmr", style="xlm-roberta")
    got = mediapipe_tokenizer(xlmr, tmp_path / "xlmr")
    assert got["kind"] == "unigram" and got["mediapipe"] is None and "[CLS]" in got["why"]
    albert = write_sentencepiece_tokenizer(tmp_path / "albert", style="albert")
    got = mediapipe_tokenizer(albert, tmp_path / "albert")
    assert got["mediapipe"] == "sentencepiece" and got["file"].endswith("spiece.model")
    bare = write_unigram_tokenizer(tmp_path / "bare", style="albert")  # tokenizer.json only
    got = mediapipe_tokenizer(bare, tmp_path / "bare")
    assert got["kind"] == "unigram" and got["mediapipe"] is None and ".model" in got["why"]


def test_roberta_positions_start_after_the_padding_index(tmp_path):
    from converters.families import max_real_length, position_offset

    model = make_tiny_family("roberta", tmp_path / "model", sharp=False)
    cfg = json.loads((model / "config.json").read_text())
    assert position_offset(cfg) == cfg["pad_token_id"] + 1 == 2
    assert max_real_length(cfg) == cfg["max_position_embeddings"] - 2
    assert position_offset({"model_type": "bert", "pad_token_id": 0}) == 0


def test_max_seq_length_beyond_a_roberta_table_is_refused(tmp_path):
    from converters import ConversionError, convert_all

    model = make_tiny_family("roberta", tmp_path / "model", sharp=False)  # 130 rows: 128 tokens
    with pytest.raises(ConversionError, match="128 positions"):
        convert_all(model, tmp_path / "out", targets="onnx", max_seq_length=129, progress=False)


def test_deberta_is_refused_in_one_line(tmp_path, cli):
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    d = tmp_path / "deberta"
    DebertaV2ForSequenceClassification(DebertaV2Config(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2)).save_pretrained(d)
    code, out, err = cli("convert", "--model", d, "--out", tmp_path / "out", "--no-progress")
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and err.rstrip().endswith(errors[0])
    assert "DeBERTa" in errors[0] and "Traceback" not in err
    assert not list((tmp_path / "out").glob("model*"))


def test_roberta_through_parity_and_bundle(tmp_path_factory, cli):
    """A user's RoBERTa (byte-level BPE) through the chain after distillation: finetune-teacher,
    convert, parity (MediaPipe not checked, with the reason), an app bundle whose manifest names
    the tokenizer (format_version 2, tokenizer.json) and whose golden ids are HF's, `evaluate`
    on the bundle and `device-check` on emulated arm64 CPUs."""
    from converters import convert_all
    from pipeline.bundle import make_bundle
    from pipeline.config import FinetuneConfig, load_config
    from pipeline.data import resolve_labeled
    from pipeline.finetune import finetune_teacher
    from pipeline.parity import run_parity
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("roberta_chain")
    cfg = load_config(None, [f"output_dir={root}", f"convert.max_seq_length={L}",
                             "data.max_train_examples=200", "data.max_dev_examples=60",
                             "parity.latency_runs=1", "bundle.golden_cases=6",
                             "bundle.backends=[tflite_int8, tflite_fp32]"])
    labels = ["negative", "positive"]
    train = resolve_labeled("default", "train", cfg.data)
    dev = resolve_labeled("default", "dev", cfg.data, label_names=labels)
    ft = FinetuneConfig(epochs=1, batch_size=32, learning_rate=2e-3, max_seq_length=L)
    base = make_tiny_family("roberta", root / "base", sharp=False)
    finetune_teacher(str(base), train, dev, root / "teacher", ft, seed=0, progress=False)
    convert_all(root / "teacher", root / "convert", targets="onnx,tflite_fp32,tflite_int8",
                max_seq_length=L, progress=False)
    report = run_parity(root / "teacher", root / "teacher", root / "convert", cfg,
                        out_dir=root / "parity", progress=False)
    assert report["gate"]["passed"], report["gate"]
    mp = [m.get("mediapipe") for m in report["models"] if m.get("mediapipe")]
    assert mp and all(m["ready"] is None and "tokenizer" in m["reason"] for m in mp)
    manifest = make_bundle(cfg, root / "teacher", root / "convert", root / "parity",
                           out_dir=root / "assets")
    assert manifest["format_version"] == 2 and "vocab" not in manifest
    assert manifest["tokenizer"]["type"] == "bpe" and manifest["tokenizer"]["file"] == "tokenizer.json"
    assert (root / "assets" / "tokenizer.json").is_file() and not (root / "assets" / "vocab.txt").exists()
    tok = AutoTokenizer.from_pretrained(root / "teacher")
    for line in (root / "assets" / "golden.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        enc = tok(row["text"], padding="max_length", truncation=True, max_length=L)
        assert row["input_ids"] == enc["input_ids"]
    # the bundle is self-contained: evaluate reads its tokenizer.json + labels.txt
    code, out, err = cli("evaluate", "--model", root / "assets" / "model_int8.tflite",
                         "--data", "default", "--no-progress")
    assert code == 0 and "accuracy" in out.lower(), err
    # edge-device parity reads the golden ids, not the tokenizer: unchanged for a BPE bundle
    code, out, err = cli("device-check", "--bundle", root / "assets", "--cases", "4")
    assert code == 0 and "Traceback" not in err, err


def test_hub_id_offline_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = cli("convert", "--model", "distilbert-base-uncased-finetuned-sst-2-english",
                         "--out", tmp_path / "out", "--no-progress")
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "HF_HUB_OFFLINE" in err and "--model DIR" in err and not (tmp_path / "out").exists()


def test_distilling_from_a_roberta_teacher_is_one_line(tmp_path):
    from pipeline.distill.plan import check_task_teacher
    from pipeline.errors import BertEdgeError

    model = make_tiny_family("roberta", tmp_path / "teacher", sharp=False)
    with pytest.raises(BertEdgeError, match="roberta teacher cannot be distilled from yet"):
        check_task_teacher(model)


@pytest.mark.parametrize("teacher_family", ["electra", "distilbert"])
def test_electra_and_distilbert_teachers_distill_into_a_student_that_converts(cli, tmp_path,
                                                                              teacher_family):
    """finetune-teacher on a user's ELECTRA / DistilBERT, TinyBERT task distillation from it
    (hidden states, attention scores of DistilBERT's q_lin/k_lin, embeddings), and the student
    converts; distilbert-style (a copy of teacher layers) is refused in one line."""
    import json as _json

    base = make_tiny_family(teacher_family, tmp_path / "base", sharp=False)
    common = ["--epochs", "1", "--max-train-examples", "120", "--max-seq-length", "32",
              "--no-progress"]
    code, _, err = cli("finetune-teacher", "--teacher", base, "--out", tmp_path / "teacher", *common)
    assert code == 0, err
    task = ["--phases", "task-intermediate,task-prediction", "--set",
            f"teacher.model={tmp_path / 'teacher'}"]
    code, _, err = cli("distill", "--teacher", tmp_path / "teacher", "--out", tmp_path / "student",
                       "--student", "tinybert-4l-312d", *task, *common,
                       "--set", "student.overrides.hidden_size=32",
                       "--set", "student.overrides.intermediate_size=64",
                       "--set", "student.overrides.num_hidden_layers=2",
                       "--set", "student.overrides.num_attention_heads=4")
    assert code == 0, err
    metrics = _json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert metrics["student"]["model_type"] == "bert"
    from converters import convert_all

    rep = convert_all(tmp_path / "student", tmp_path / "out", targets="tflite_fp32",
                      max_seq_length=32, progress=False)
    assert rep["artifacts"]["tflite_fp32"]["validation"]["passed"]
    code, _, err = cli("distill", "--teacher", tmp_path / "teacher", "--out", tmp_path / "s2",
                       "--student", "distilbert-style", *task, *common)
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and "bert or mobilebert teacher" in errors[0]
