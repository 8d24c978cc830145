"""TFLite Model Metadata for MediaPipe Tasks / Task Library (converters/tflite_metadata.py) and the
MediaPipe TextClassifier check in parity (pipeline/parity.py), on a tiny random BERT.

One conversion WITHOUT metadata (the plain onnx2tf/TFLite files); metadata is then written with
the same function convert_all calls, so "with" and "without" are the same graph bytes.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from test_converters import CAL_TEXTS, L, LABELS, make_student

pytest.importorskip("mediapipe")

TEXTS = ["a wonderful film with great acting", "the plot was dull and the acting was bad",
         "i loved it", "not good", "Boring, VERY boring!", "terrible", "fun and funny",
         "i hated the ending but loved the rest", "", "it was okay but the story was quite poor"]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    from converters import convert_all

    root = tmp_path_factory.mktemp("md")
    student = make_student(root / "student")
    out = root / "convert"
    report = convert_all(student, out, targets="tflite_fp32,tflite_int8", max_seq_length=L,
                         progress=False, metadata=False)
    return {"student": student, "out": out, "report": report, "root": root}


def _with_metadata(plain, name="model_int8.tflite"):
    from transformers import AutoTokenizer

    from converters.tflite_metadata import add_metadata

    tok = AutoTokenizer.from_pretrained(plain["student"])
    src = plain["out"] / name
    dst = plain["root"] / f"md_{name}"
    if not dst.exists():
        dst.write_bytes(add_metadata(src.read_bytes(), tok, LABELS, name="tiny", version="9.9",
                                     vocab_file=plain["student"] / "vocab.txt")[0])
    return src, dst


def _inputs(student, texts=TEXTS):
    from transformers import AutoTokenizer

    from converters.common import encode_fixed

    return encode_fixed(AutoTokenizer.from_pretrained(student), texts, None, L)


def test_plain_conversion_has_no_metadata(plain):
    from converters.tflite_metadata import read_metadata

    assert read_metadata(plain["out"] / "model_int8.tflite") == {}
    assert "metadata" not in plain["report"]["artifacts"]["tflite_int8"]


def test_metadata_present_and_parseable(plain):
    from converters.tflite_metadata import read_metadata

    _, md_file = _with_metadata(plain)
    md = read_metadata(md_file)
    assert md["name"] == "tiny" and md["version"] == "9.9"
    # BERT input tensors in the order MediaPipe's preprocessor looks them up, tokenizer unit
    assert md["inputs"] == ["ids", "mask", "segment_ids"]
    units = md["json"]["subgraph_metadata"][0]["input_process_units"]
    assert units[0]["options_type"] == "BertTokenizerOptions"
    assert md["vocab"] == (plain["student"] / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert md["labels"] == LABELS
    assert md["outputs"] == ["probabilities", "logits"]


def test_metadata_keeps_interpreter_results(plain):
    """Same logits to the bit with and without metadata; `probabilities` is their softmax."""
    from ai_edge_litert.interpreter import Interpreter

    from converters import load_runner

    arrays = _inputs(plain["student"])
    for name in ("model_fp32.tflite", "model_int8.tflite"):
        src, dst = _with_metadata(plain, name)
        a = load_runner(src).logits(arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"])
        b = load_runner(dst).logits(arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"])
        assert np.array_equal(a, b), name
        it = Interpreter(model_path=str(dst))
        it.allocate_tensors()
        outs = {d["name"]: d["index"] for d in it.get_output_details()}
        ins = {d["name"]: d["index"] for d in it.get_input_details()}
        assert set(ins) == {"input_ids", "attention_mask", "token_type_ids"}
        assert it.get_signature_list()["serving_default"]["outputs"] == ["logits"]
        for i in range(3):
            for k, idx in ins.items():
                it.set_tensor(idx, arrays[k][i:i + 1])
            it.invoke()
            lg, pr = it.get_tensor(outs["logits"]), it.get_tensor(outs["probabilities"])
            assert np.array_equal(lg, b[i:i + 1])
            ref = np.exp(lg - lg.max()) / np.exp(lg - lg.max()).sum()
            assert np.allclose(pr, ref, atol=1e-6) and abs(pr.sum() - 1) < 1e-5


def test_add_probabilities_is_idempotent(plain):
    from converters.tflite_metadata import add_probabilities_output

    _, md_file = _with_metadata(plain)
    data = md_file.read_bytes()
    assert add_probabilities_output(data) == data


def test_mediapipe_text_classifier_agrees_with_litert(plain):
    """MediaPipe's TextClassifier (raw text, its own tokenizer) loads the file and its top
    category matches our runner's on every sentence; its scores are the probabilities."""
    from converters import load_runner
    from converters.mediapipe_text import MediaPipeTextRunner

    arrays = _inputs(plain["student"])
    for name in ("model_fp32.tflite", "model_int8.tflite"):
        _, dst = _with_metadata(plain, name)
        lg = load_runner(dst).logits(arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"])
        with MediaPipeTextRunner(dst, num_labels=len(LABELS)) as mp:
            scores = mp.scores(TEXTS)
            assert mp.head_name == "probabilities"
        assert np.array_equal(scores.argmax(1), lg.argmax(1)), name
        probs = np.exp(lg - lg.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        assert np.abs(scores - probs).max() < 1e-4, name
        assert np.allclose(scores.sum(1), 1, atol=1e-5)


def test_mediapipe_refuses_a_file_without_metadata(plain):
    from converters.mediapipe_text import MediaPipeTextRunner
    from pipeline.errors import BertEdgeError

    with pytest.raises(BertEdgeError, match="MediaPipe TextClassifier cannot load"):
        MediaPipeTextRunner(plain["out"] / "model_int8.tflite")


def test_convert_all_writes_metadata_before_validation(plain, tmp_path, monkeypatch):
    """convert_all(metadata=True) hands the validation step the file WITH metadata."""
    from converters import convert_all, validate
    from converters.tflite_metadata import read_metadata

    seen = []
    real = validate.validate_artifact

    def spy(path, *a, **kw):
        seen.append(read_metadata(path).get("outputs"))
        return real(path, *a, **kw)

    monkeypatch.setattr(validate, "validate_artifact", spy)
    rep = convert_all(plain["student"], tmp_path / "c", targets="tflite_int8", max_seq_length=L,
                      progress=False)
    assert seen == [["probabilities", "logits"]]
    md = rep["artifacts"]["tflite_int8"]["metadata"]
    assert md["writer"].startswith("mediapipe ") and md["version"]
    assert read_metadata(tmp_path / "c" / "model_int8.tflite")["labels"] == LABELS
    assert json.loads((tmp_path / "c" / "convert.json").read_text())["versions"]["mediapipe"]


def test_parity_mediapipe_check(plain, tmp_path):
    """The parity helper: ready with agreement 1 on a good file; a pair task, a file without
    metadata and a disagreeing runner are each reported not MediaPipe-ready, with the reason."""
    from converters import load_runner
    from pipeline.parity import EvalSet, mediapipe_check
    from pipeline.report import mediapipe_lines

    _, dst = _with_metadata(plain)
    arrays = _inputs(plain["student"])
    lg = load_runner(dst).logits(arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"])
    labels = list(lg.argmax(1))
    data = EvalSet(list(TEXTS), None, labels, LABELS, "test")
    ok = mediapipe_check(dst, data, lg, progress=False)
    assert ok["ready"] is True and ok["agreement_litert"] == 1.0 and ok["accuracy"] == 1.0
    assert ok["max_abs_score_diff"] < 1e-4 and ok["head"] == "probabilities"

    flipped = mediapipe_check(dst, data, -lg, progress=False)
    assert flipped["ready"] is False and "agrees with the LiteRT runner on" in flipped["reason"]
    pairs = mediapipe_check(dst, EvalSet(list(TEXTS), list(TEXTS), labels, LABELS, "t"), lg, progress=False)
    assert pairs["ready"] is False and "pair task" in pairs["reason"]
    bare = tmp_path / "bare.tflite"
    shutil.copyfile(plain["out"] / "model_int8.tflite", bare)
    no_md = mediapipe_check(bare, data, lg, progress=False)
    assert no_md["ready"] is False and "cannot load" in no_md["reason"]

    report = {"models": [{"name": "tflite_int8", "mediapipe": ok},
                         {"name": "tflite_fp32", "mediapipe": no_md}]}
    text = "\n".join(mediapipe_lines(report))
    assert "MediaPipe-ready" in text and "not MediaPipe-ready" in text


ACCENTED = ["how do you spell cliché ?", "Café, naïve, résumé", "a great FILM, déjà vu", "ok"]


def test_mediapipe_sees_hf_ids_on_accented_text_of_an_fp32_file(plain, monkeypatch):
    """MediaPipe's WordPiece keeps accents that BERT-uncased strips: with the text normalized as
    the app does (mediapipe_input), an fp32 file agrees with LiteRT on every dev and probe text
    within 1e-3; with raw text the fp32 rule fails and names the differing sentences."""
    from transformers import AutoTokenizer

    from converters import load_runner, mediapipe_text
    from converters.common import encode_fixed
    from pipeline.parity import MEDIAPIPE_FP32_MAX_SCORE_DIFF, EvalSet, mediapipe_check
    from pipeline.report import mediapipe_lines

    src, dst = _with_metadata(plain, "model_fp32.tflite")
    tok = AutoTokenizer.from_pretrained(plain["student"])
    enc = encode_fixed(tok, ACCENTED, None, L)
    lg = load_runner(dst).logits(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    data = EvalSet(list(ACCENTED), None, list(lg.argmax(1)), LABELS, "test")
    ok = mediapipe_check(dst, data, lg, progress=False, tokenizer=tok, fp32=True, max_seq_length=L)
    assert ok["ready"] is True and ok["normalized"], ok
    # at L = 40 the tiny char-level vocabulary makes the probe's long words over-length: listed
    assert all("over-length" in d["set"] for d in ok["differing"])
    assert ok["probe_n"] == len(mediapipe_text.PROBE_TEXTS) and ok["probe_agreement_litert"] == 1.0
    assert ok["max_abs_score_diff"] <= MEDIAPIPE_FP32_MAX_SCORE_DIFF
    within = [i for i, t in enumerate(mediapipe_text.PROBE_TEXTS)
              if len(tok(t)["input_ids"]) <= L]
    assert len(within) >= 20 and ok["differing_count"] == 0

    monkeypatch.setattr(mediapipe_text, "mediapipe_input", lambda tok: (lambda text: text))
    raw = mediapipe_check(dst, data, lg, progress=False, tokenizer=tok, fp32=True, max_seq_length=L)
    assert raw["ready"] is False and raw["differing_count"] >= 3, raw
    named = {d["text"] for d in raw["differing"]}
    assert "how do you spell cliché ?" in named and "ok" not in named
    assert "texts differ from the LiteRT runner on an fp32 file" in raw["reason"]
    text = "\n".join(mediapipe_lines({"models": [{"name": "tflite_fp32", "mediapipe": raw}]}))
    assert "differs (dev" in text and "cliché" in text


def test_mediapipe_input_is_the_bert_normalizer_for_wordpiece_only(tmp_path):
    from transformers import AutoTokenizer

    from converters.mediapipe_text import mediapipe_input
    from tiny_models import make_tiny_family

    tok = AutoTokenizer.from_pretrained(make_tiny_family("bert", tmp_path / "bert", sharp=False))
    assert mediapipe_input(tok)("Café NAÏVE\u00a0x") == "cafe naive x"
    bpe = AutoTokenizer.from_pretrained(make_tiny_family("roberta", tmp_path / "rob", sharp=False))
    assert mediapipe_input(bpe)("Café NAÏVE") == "Café NAÏVE"
