"""converters/: every target on a tiny random BERT and a tiny MobileBERT student, through the
real converters and the real runtimes (onnxruntime, ai_edge_litert, torch lite interpreter).

Each tiny model is converted once per module (module-scoped fixtures); the tests then check the
artifacts on padded, unpadded, [CLS]-only and max-length inputs, the report, the failure paths
(one-line error naming step and op, debug folder kept, no artifact under a final name) and that
the shared validation step catches a graph that ignores the attention mask.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

L = 40  # differs from every tiny width (hidden 32/64, FFN 64, heads 4, head dim 8/16)
LABELS = ["negative", "positive"]
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CAL_TEXTS = [
    "a wonderful film with great acting", "the plot was dull and the acting was bad",
    "i loved it", "not good", "boring, very boring", "the best movie i have seen this year",
    "it was okay but the story was quite poor", "terrible", "fun and funny",
    "i hated the ending but loved the rest",
]


# -- tiny students --------------------------------------------------------------------------

def make_student(root: Path, kind: str = "bert", **kw) -> Path:
    from tiny_models import make_tiny_bert, make_tiny_mobilebert, sharpen

    if kind == "bert":
        d = make_tiny_bert(root, labels=LABELS, **kw)
    else:
        d = make_tiny_mobilebert(root, **kw)
    sharpen(d, std=0.2 if kind == "bert" else 0.12)  # MobileBERT has no LayerNorm: keep it tame
    (d / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return d


def _convert(tmp_path_factory, kind: str):
    from converters import convert_all

    root = tmp_path_factory.mktemp(f"conv_{kind}")
    student = make_student(root / "student", kind)
    out = root / "convert"
    report = convert_all(student, out, max_seq_length=L, calibration_texts=CAL_TEXTS,
                         num_calibration=8, progress=False)
    return {"student": student, "out": out, "report": report, "kind": kind}


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return _convert(tmp_path_factory, "bert")


@pytest.fixture(scope="module")
def mobilebert(tmp_path_factory):
    return _convert(tmp_path_factory, "mobilebert")


@pytest.fixture(scope="module", params=["bert", "mobilebert"])
def conv(request):
    return request.getfixturevalue(request.param)


def _cases(student: Path) -> tuple[dict, list]:
    """Padded (several lengths), unpadded/max-length, empty text, bare [CLS]."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(student)
    texts = ["a great movie", "the acting was bad and the plot was dull, not fun at all",
             "i loved it so much, a really fun film", "", "very " * 60 + "good"]
    enc = tok(texts, padding="max_length", truncation=True, max_length=L, return_token_type_ids=True)
    arrays = {k: np.asarray(enc[k], np.int32) for k in INPUTS}
    bare = {k: np.zeros((1, L), np.int32) for k in INPUTS}
    bare["input_ids"][0, 0] = tok.cls_token_id
    bare["attention_mask"][0, 0] = 1
    arrays = {k: np.concatenate([arrays[k], bare[k]]) for k in INPUTS}
    lengths = arrays["attention_mask"].sum(1)
    assert lengths[4] == L and lengths[5] == 1 and all(0 < n < L for n in lengths[:4])
    assert len({int(n) for n in lengths}) == 6  # six different padding lengths
    return arrays, ["short", "long", "3 words", "empty", "max-length", "[CLS] only"]


# (atol, rtol of the max |reference logit|) per backend for these tests. Full int8 is measured
# and reported, not gated here (the parity gate decides whether it ships): on these random
# students its error is 10-50% of the logit range, see the report's validation numbers.
TOL = {"onnx": (1e-4, 1e-4), "tflite_fp32": (1e-4, 1e-4), "tflite_int8": (0.02, 0.05),
       "ptl_int8": (0.02, 0.05), "tflite_int8_full": None}


# -- artifacts and runtimes -----------------------------------------------------------------

def test_all_artifacts_and_report(conv):
    from converters import ARTIFACTS, BACKENDS

    out, rep = conv["out"], conv["report"]
    for b in BACKENDS:
        assert (out / ARTIFACTS[b]).stat().st_size > 1000, b
    saved = json.loads((out / "convert.json").read_text())
    assert saved["targets"] == list(BACKENDS) and set(saved["artifacts"]) == set(BACKENDS)
    assert not saved.get("failed")
    if conv["kind"] == "mobilebert":  # the trigram input became a convolution for torch.export
        assert saved["artifacts"]["pte_int8"]["rewrites"]["trigram_conv"] == 1
    assert saved["max_seq_length"] == L and saved["labels"] == LABELS
    assert [i["name"] for i in saved["inputs"]] == list(INPUTS)
    assert all(s >= 0 for s in saved["step_seconds"].values())
    for b, e in saved["artifacts"].items():
        assert e["file"] == ARTIFACTS[b] and e["size_bytes"] == (out / e["file"]).stat().st_size
        v = e["validation"]
        assert v["passed"] and v["cases"] >= 15 and 0.0 <= v["argmax_agreement"] <= 1.0
        assert any("[CLS] only" in k for k in v["per_case_max_abs_diff"])
        assert any(f"({L} tokens)" in k for k in v["per_case_max_abs_diff"])
    assert saved["tflite_graph_check"]["ok"]
    # nothing left behind: no work dir, no debug folder, no temp files
    assert sorted(p.name for p in out.iterdir()) == sorted([ARTIFACTS[b] for b in BACKENDS] + ["convert.json"])
    assert rep["artifacts"].keys() == saved["artifacts"].keys()


@pytest.mark.parametrize("backend", ["onnx", "tflite_fp32", "tflite_int8", "tflite_int8_full", "ptl_int8"])
def test_artifact_matches_float_student(conv, backend):
    from converters import ARTIFACTS, load_runner

    arrays, names = _cases(conv["student"])
    ref = load_runner(conv["student"]).logits(*(arrays[k] for k in INPUTS))
    runner = load_runner(conv["out"] / ARTIFACTS[backend], num_threads=1)
    got = runner.logits(*(arrays[k] for k in INPUTS))
    assert got.shape == (len(names), len(LABELS)) and got.dtype == np.float32
    assert np.all(np.isfinite(got))
    scale = float(np.abs(ref).max())
    assert scale > 0.2, "sharpened tiny model should have O(1) logits"
    diff = np.abs(got - ref).max(axis=1)
    if TOL[backend] is None:
        assert np.abs(got).max() < 10 * scale  # sane magnitude; accuracy is the gate's call
        return
    atol, rtol = TOL[backend]
    assert diff.max() <= atol + rtol * scale, dict(zip(names, diff.round(5)))
    if backend in ("onnx", "tflite_fp32"):
        assert (got.argmax(1) == ref.argmax(1)).all()


def test_padding_does_not_leak(conv):
    """Random ids in padded positions (beyond the first) leave every artifact's logits alone."""
    from converters import ARTIFACTS, BACKENDS, load_runner
    from converters.validate import PROBE_TOLERANCES

    arrays, _ = _cases(conv["student"])
    rows = [0, 2, 3, 5]  # padded cases
    noisy = {k: arrays[k][rows].copy() for k in INPUTS}
    rng = np.random.default_rng(0)
    for r in range(len(rows)):
        n = int(noisy["attention_mask"][r].sum())
        noisy["input_ids"][r, n + 1:] = rng.integers(5, 100, L - n - 1)
    ref_clean = load_runner(conv["student"]).logits(*(arrays[k][rows] for k in INPUTS))
    ref_noisy = load_runner(conv["student"]).logits(*(noisy[k] for k in INPUTS))
    np.testing.assert_allclose(ref_noisy, ref_clean, atol=1e-5)  # the float student ignores pads
    for b in BACKENDS:
        runner = load_runner(conv["out"] / ARTIFACTS[b], num_threads=1)
        # padded=True: the padded positions must reach the graph to test its mask
        clean = runner.logits(*(arrays[k][rows] for k in INPUTS), padded=True)
        moved = np.abs(runner.logits(*(noisy[k] for k in INPUTS), padded=True) - clean).max()
        atol, rtol = PROBE_TOLERANCES[b]  # ptl: per-tensor dynamic activation scales see pads
        assert moved <= atol + rtol * np.abs(clean).max(), (b, moved)


def test_tflite_builtin_ops_clean_names_and_signature(conv):
    from ai_edge_litert.interpreter import Interpreter

    from converters.tflite import tflite_op_counts

    for f in ("model_fp32.tflite", "model_int8.tflite", "model_int8_full.tflite"):
        path = conv["out"] / f
        ops, custom = tflite_op_counts(path)
        assert custom == [] and not any(o.startswith(("CUSTOM", "FLEX", "DELEGATE")) for o in ops), ops
        assert ops.get("FULLY_CONNECTED", 0) > 0
        it = Interpreter(model_path=str(path))
        ins = {d["name"]: d for d in it.get_input_details()}
        assert set(ins) == set(INPUTS)
        for d in ins.values():
            assert d["dtype"] == np.int32 and list(d["shape"]) == [1, L]
        # + MediaPipe's head 0 (softmax of the logits, converters/tflite_metadata.py), first
        assert [d["name"] for d in it.get_output_details()] == ["probabilities", "logits"]
        assert all(d["dtype"] == np.float32 for d in it.get_output_details())
        sig = it.get_signature_list()["serving_default"]
        assert sorted(sig["inputs"]) == sorted(INPUTS) and sig["outputs"] == ["logits"]
        # signature runner binds by name, whatever the tensor order
        arrays, _ = _cases(conv["student"])
        runner = it.get_signature_runner("serving_default")
        out = runner(**{k: arrays[k][:1] for k in reversed(INPUTS)})["logits"]
        assert out.shape == (1, len(LABELS))


def test_int8_weights_include_embeddings(conv):
    """Dynamic-range int8 quantizes the word-embedding table too; full int8 quantizes activations."""
    from ai_edge_litert.interpreter import Interpreter

    cfg = json.loads((conv["student"] / "config.json").read_text())
    emb_shape = [cfg["vocab_size"], cfg.get("embedding_size") or cfg["hidden_size"]]
    for f in ("model_int8.tflite", "model_int8_full.tflite"):
        it = Interpreter(model_path=str(conv["out"] / f))
        emb = [d for d in it.get_tensor_details() if list(d["shape"]) == emb_shape]
        assert emb and all(d["dtype"] == np.int8 for d in emb), (f, [(d["name"], d["dtype"]) for d in emb])
    rep = conv["report"]["artifacts"]
    assert rep["tflite_int8"]["size_bytes"] < rep["tflite_fp32"]["size_bytes"]
    assert rep["tflite_int8"]["weight_bytes_by_type"].get("INT8", 0) > \
        rep["tflite_int8"]["weight_bytes_by_type"].get("FLOAT32", 0)
    full = Interpreter(model_path=str(conv["out"] / "model_int8_full.tflite"))
    kinds = {np.dtype(d["dtype"]).name for d in full.get_tensor_details()}
    assert "int8" in kinds
    cal = rep["tflite_int8_full"]["calibration"]
    assert cal["samples"] == 8 and cal["source"] == "calibration_texts"


def test_full_int8_uses_bounded_mask_bias(conv):
    """The full-int8 graph computes the attention bias with FULL_INT8_MASK_VALUE (edited into
    the shared frozen graph), so its int8 range is [-40, 0], not [-10000, 0]."""
    from ai_edge_litert.interpreter import Interpreter

    from converters.tflite import FULL_INT8_MASK_VALUE

    assert conv["report"]["artifacts"]["tflite_int8_full"]["mask_value"] == FULL_INT8_MASK_VALUE
    it = Interpreter(model_path=str(conv["out"] / "model_int8_full.tflite"))
    lows = []
    for d in it.get_tensor_details():
        scale, zero = d["quantization"]
        if d["dtype"] == np.int8 and list(d["shape_signature"]) == [1, -1] and scale > 0:
            lows.append((-128 - zero) * scale)
    assert any(abs(lo - FULL_INT8_MASK_VALUE) < 1.0 for lo in lows), lows


def test_full_int8_graph_is_integer_and_runtime_safe(conv):
    """Full int8 is genuine: every FULLY_CONNECTED / BATCH_MATMUL / L2_NORMALIZATION / GELU /
    SOFTMAX runs on int8 tensors, LayerNorm is the L2_NORMALIZATION form and tanh-GELU the GELU
    builtin (converters/int8_graph.py), the BATCH_MATMUL operands have zero point 0, and LiteRT's
    default XNNPACK delegate gives the same logits as its builtin kernels (no delegate)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from converters.runtimes import TFLiteRunner
    from converters.tflite import tflite_op_counts

    path = str(conv["out"] / "model_int8_full.tflite")
    ops, _ = tflite_op_counts(path)
    assert "SQUARED_DIFFERENCE" not in ops and "RSQRT" not in ops, ops
    if conv["kind"] == "bert":  # MobileBERT has NoNorm and ReLU: nothing to rewrite
        # cls_split.py: [CLS] and the other rows each have their LayerNorms and GELU, except in
        # the last layer, where only [CLS] is read (2 + 4 + 2 LayerNorms, 2 + 1 GELUs)
        assert ops.get("L2_NORMALIZATION") == 8 and ops.get("GELU") == 3, ops
        assert conv["report"]["artifacts"]["tflite_int8_full"]["graph"]["rewritten"] == \
            {"layernorm": 8, "gelu": 3, "exact_gelu": 0}
    it = Interpreter(model_path=path)
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    hot = {"FULLY_CONNECTED", "BATCH_MATMUL", "L2_NORMALIZATION", "GELU", "SOFTMAX"}
    seen = set()
    for op in it._get_ops_details():
        if op["op_name"] not in hot:
            continue
        ins = [tensors[i] for i in op["inputs"] if i >= 0]
        if op["op_name"] == "SOFTMAX" and ins[0]["name"] == "logits":
            continue  # the metadata's float `probabilities` output, after the int8 body
        seen.add(op["op_name"])
        assert all(t["dtype"] in (np.int8, np.int32) for t in ins + [tensors[o] for o in op["outputs"]]), \
            (op["op_name"], [(t["name"], t["dtype"]) for t in ins])
        if op["op_name"] == "BATCH_MATMUL":  # the right operand's zero point must be 0
            assert ins[1]["quantization"][1] == 0, [t["quantization"] for t in ins]
    assert {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX"} <= seen
    arrays, _ = _cases(conv["student"])
    got = {}
    for kind in (OpResolverType.AUTO, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES):
        r = TFLiteRunner(path, num_threads=1)
        r.interpreter = Interpreter(model_path=path, num_threads=1, experimental_op_resolver_type=kind)
        r.interpreter.allocate_tensors()
        r._length = int(r._in["input_ids"]["shape"][1])
        got[kind] = r.logits(*(arrays[k] for k in INPUTS))
    scale = float(np.abs(got[OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES]).max())
    assert np.abs(got[OpResolverType.AUTO] - got[OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES]).max() <= 0.02 + 0.05 * scale


def test_ptl_bytecode_and_ops(conv):
    from torch.jit.mobile import _get_model_bytecode_version

    from converters.torchscript_mobile import ANDROID_MAX_BYTECODE, ANDROID_MIN_BYTECODE

    path = conv["out"] / "model_int8.ptl"
    e = conv["report"]["artifacts"]["ptl_int8"]
    version = _get_model_bytecode_version(str(path))
    assert e["bytecode_version"] == version and ANDROID_MIN_BYTECODE <= version <= ANDROID_MAX_BYTECODE
    assert e["android_runtime"].endswith("pytorch_android_lite:2.1.0")
    ops = e["validation"]["ops"]
    assert "quantized::linear_dynamic" in ops
    assert any(o.startswith("quantized::embedding") for o in ops), ops  # int8 embedding tables
    assert "aten::scaled_dot_product_attention" not in ops


def test_load_runner_contract(conv, tmp_path):
    from converters import load_runner
    from pipeline.errors import BertEdgeError

    for name in ("model_int8.ptl", "model.onnx", "model_int8.tflite"):
        r = load_runner(conv["out"] / name)
        # the real-length contract travels inside the file
        assert r.dynamic and r.max_seq_length == L, name
        assert r.context == (1 if conv["kind"] == "mobilebert" else 0), name
        with pytest.raises(BertEdgeError, match=f"at most {L}"):
            r.logits(*(np.ones((1, L + 1), np.int32) for _ in INPUTS))
    one = load_runner(conv["out"] / "model.onnx").logits(np.zeros(L, np.int32), np.ones(L, np.int32),
                                                         np.zeros(L, np.int32))
    assert one.shape == (1, len(LABELS))  # 1-D input = one row
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"x")
    with pytest.raises(BertEdgeError, match="unknown model format"):
        load_runner(bad)
    with pytest.raises(BertEdgeError, match="not found"):
        load_runner(tmp_path / "missing.tflite")


# -- real length --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["onnx", "tflite_fp32", "tflite_int8", "tflite_int8_full", "ptl_int8"])
def test_every_artifact_runs_at_real_length(conv, backend):
    """Each file takes [1, n] for any n up to L and gives the logits of its padded run; the
    validation record says so."""
    from converters import ARTIFACTS, load_runner

    val = conv["report"]["artifacts"][backend]["validation"]
    assert val["real_length"]["argmax_agreement_vs_padded"] == 1.0
    runner = load_runner(conv["out"] / ARTIFACTS[backend])
    inputs, _ = _cases(conv["student"])
    arrays = [inputs[k] for k in INPUTS]
    padded = runner.logits(*arrays, padded=True)
    real = runner.logits(*arrays)
    lengths = inputs["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) >= 4 and lengths.min() <= 2 and lengths.max() == L
    tol = 1e-4 if backend in ("onnx", "tflite_fp32") else 0.05 * float(np.abs(padded).max()) + 1e-3
    assert np.abs(real - padded).max() <= tol
    assert (real.argmax(1) == padded.argmax(1)).all()


def test_validation_refuses_a_fixed_length_artifact(bert, tmp_path):
    import torch

    from converters import ConversionError
    from converters.onnx_export import make_wrapper
    from converters.student import load_student
    from converters.validate import build_validation_set, compute_reference, validate_artifact

    student = load_student(bert["student"])
    vset = build_validation_set(student.tokenizer, L)
    compute_reference(vset, student.model)
    path = tmp_path / "fixed.onnx"
    ids = torch.ones(1, L, dtype=torch.int32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(make_wrapper(student.model), (ids, ids, ids), str(path),
                          input_names=list(INPUTS), output_names=["logits"], opset_version=17,
                          dynamo=False)
    with pytest.raises(ConversionError, match="fixed sequence length"):
        validate_artifact(path, "onnx", vset, "onnx")


# -- the shared validation step catches mask bugs -------------------------------------------

def _traced_without_mask(student_dir: Path, path: Path) -> None:
    """A .ptl whose wrapper drops the attention mask (what a bad trace can bake in)."""
    import torch

    from converters.student import load_student

    model = load_student(student_dir).model

    class NoMask(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids.long(), token_type_ids=token_type_ids.long(),
                          return_dict=False)[0]

    from converters import real_length

    ids = torch.ones(1, L, dtype=torch.int32)
    with torch.no_grad():
        traced = torch.jit.trace(NoMask().eval(), (ids, ids, ids), check_trace=False)
    traced._save_for_lite_interpreter(str(path),
                                      _extra_files={real_length.KEY: real_length.dumps(L, 0)})


def _onnx_without_mask(student_dir: Path, path: Path) -> None:
    import torch

    from converters.student import load_student

    model = load_student(student_dir).model

    class NoMask(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            everything = (attention_mask >= 0).long()  # reads the input, ignores its values
            return self.m(input_ids=input_ids.long(), attention_mask=everything,
                          token_type_ids=token_type_ids.long(), return_dict=False)[0]

    ids = torch.ones(1, L, dtype=torch.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(NoMask().eval(), (ids, ids, ids), str(path), input_names=list(INPUTS),
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {1: "sequence"} for n in INPUTS})
    from converters import real_length
    from converters.onnx_export import set_metadata

    set_metadata(path, real_length.KEY, real_length.dumps(L, 0))


@pytest.mark.parametrize("fmt", ["ptl_int8", "onnx"])
def test_validation_catches_graph_that_ignores_mask(bert, tmp_path, fmt):
    from converters import ConversionError
    from converters.student import load_student
    from converters.validate import build_validation_set, compute_reference, validate_artifact

    student = load_student(bert["student"])
    vset = build_validation_set(student.tokenizer, L, student.config["vocab_size"])
    compute_reference(vset, student.model)
    path = tmp_path / ("bad.ptl" if fmt == "ptl_int8" else "bad.onnx")
    (_traced_without_mask if fmt == "ptl_int8" else _onnx_without_mask)(bert["student"], path)
    with pytest.raises(ConversionError) as ei:
        validate_artifact(path, fmt, vset, fmt)
    msg = str(ei.value)
    assert "\n" not in msg and f"'{fmt}'" in msg
    assert "attention mask" in msg or "disagrees" in msg, msg
    # The mask probe alone catches it, even with parity turned off (the full-int8 setting).
    with pytest.raises(ConversionError, match="does not respect the attention mask"):
        validate_artifact(path, fmt, vset, fmt, tolerance=None)
    # and the good artifact passes the same checks
    good = validate_artifact(bert["out"] / ("model_int8.ptl" if fmt == "ptl_int8" else "model.onnx"),
                             fmt, vset, fmt)
    assert good["passed"]


# -- failures: one line, step + op, debug folder, no artifact under a final name -------------

def _one_line(exc) -> str:
    msg = str(exc)
    assert "\n" not in msg and msg.startswith("convert step '"), msg
    return msg


def test_unsupported_architecture(tmp_path):
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from converters import ConversionError, convert_all
    from pipeline.errors import BertEdgeError

    d = tmp_path / "gpt2"
    GPT2ForSequenceClassification(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50,
                                             n_positions=64, pad_token_id=0)).save_pretrained(d)
    out = tmp_path / "out"
    with pytest.raises(ConversionError) as ei:
        convert_all(d, out, max_seq_length=L, progress=False)
    msg = _one_line(ei.value)
    assert isinstance(ei.value, BertEdgeError)
    assert "'load'" in msg and "gpt2" in msg and "GPT2ForSequenceClassification" in msg
    assert ei.value.step == "load" and ei.value.op == "gpt2"
    assert (out / "_failed_load" / "error.txt").is_file()
    assert not list(out.glob("model*"))


def test_exact_gelu_lowers_to_the_gelu_builtin(tmp_path):
    """Every hub BERT uses exact (erf) GELU: its TFLite files hold the GELU builtin, no Flex op,
    and match the exact float model (not a tanh approximation of it)."""
    from converters import ARTIFACTS, convert_all
    from converters.tflite import tflite_op_counts

    student = make_student(tmp_path / "gelu", act="gelu")
    out = tmp_path / "out"
    targets = ["tflite_fp32", "tflite_int8", "tflite_int8_full"]
    rep = convert_all(student, out, targets=targets, max_seq_length=L, progress=False,
                      calibration_texts=CAL_TEXTS, num_calibration=8)
    assert rep["gelu_fused"]["exact_gelu"] == 2 and not rep["approximate_gelu"]
    for b in targets:
        ops, custom = tflite_op_counts(out / ARTIFACTS[b])
        # one per layer; full int8's [CLS] split (cls_split.py) has 2 + 1
        gelus = 3 if b == "tflite_int8_full" else 2
        assert ops.get("GELU") == gelus and not custom and not any("FLEX" in o.upper() for o in ops), ops
        assert rep["artifacts"][b]["validation"]["passed"], b
    assert rep["artifacts"]["tflite_fp32"]["validation"]["max_abs_diff"] < 1e-4

    # --approximate-gelu still swaps in tanh GELU, and reports what that costs
    rep = convert_all(student, out, targets=["tflite_fp32"], max_seq_length=L, progress=False,
                      approximate_gelu=True)
    assert rep["approximate_gelu"] and rep["artifacts"]["tflite_fp32"]["validation"]["passed"]
    effect = rep["approximate_gelu_effect"]  # tanh vs exact GELU, measured on the float student
    assert effect["replaced_modules"] == 2 and 0 < effect["max_abs_logit_diff_vs_exact"] < 0.05
    assert rep["gelu_fused"]["exact_gelu"] == 0  # nothing exact left to fuse


def test_failed_validation_keeps_candidate_in_debug_folder(bert, tmp_path, monkeypatch):
    """A conversion whose artifact fails its check: the artifact stays only in the debug folder."""
    from converters import ConversionError, convert_all, validate

    monkeypatch.setitem(validate.TOLERANCES, "ptl_int8", (0.0, 0.0))  # no int8 artifact is exact
    out = tmp_path / "out"
    out.mkdir()
    (out / "model_fp32.tflite").write_bytes(b"previous")  # a previous run's outputs
    (out / "convert.json").write_text("{}")
    with pytest.raises(ConversionError) as ei:
        convert_all(bert["student"], out, targets="onnx,ptl_int8", max_seq_length=L, progress=False)
    msg = _one_line(ei.value)
    assert ei.value.step == "ptl_int8" and "disagrees with the float student" in msg
    # the previous outputs stand; onnx finished and was validated, but only in the debug folder
    assert (out / "model_fp32.tflite").read_bytes() == b"previous"
    assert (out / "convert.json").read_text() == "{}"
    assert not (out / "model.onnx").exists() and (out / "_failed_ptl_int8" / "model.onnx").is_file()
    assert not (out / "model_int8.ptl").exists()
    assert (out / "_failed_ptl_int8" / "model_int8.ptl").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_optional_target_failure_is_reported_and_the_rest_published(bert, tmp_path, monkeypatch):
    """An optional target that fails validation is left out with its reason; the others land."""
    from converters import convert_all, validate

    monkeypatch.setitem(validate.TOLERANCES, "ptl_int8", (0.0, 0.0))
    out = tmp_path / "out"
    out.mkdir()
    (out / "model_int8.ptl").write_bytes(b"an earlier run's .ptl")
    rep = convert_all(bert["student"], out, targets="onnx,ptl_int8", max_seq_length=L,
                      progress=False, optional=["ptl_int8"])
    assert set(rep["artifacts"]) == {"onnx"} and set(rep["failed"]) == {"ptl_int8"}
    assert "disagrees with the float student" in rep["failed"]["ptl_int8"]["reason"]
    assert (out / "model.onnx").is_file() and (out / "_failed_ptl_int8" / "model_int8.ptl").is_file()
    assert not (out / "model_int8.ptl").exists()  # not this run's: it must not pass for one
    saved = json.loads((out / "convert.json").read_text())
    assert saved["failed"]["ptl_int8"]["debug_dir"].endswith("_failed_ptl_int8")


def test_bad_inputs(tmp_path):
    from converters import ConversionError, convert_all
    from pipeline.errors import BertEdgeError

    with pytest.raises(ConversionError, match="model directory not found"):
        convert_all(tmp_path / "nope", tmp_path / "o1", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConversionError, match="no config.json"):
        convert_all(tmp_path / "empty", tmp_path / "o2", progress=False)
    with pytest.raises(BertEdgeError, match="unknown convert target"):
        convert_all(tmp_path / "empty", tmp_path / "o3", targets="tflite,onnx", progress=False)


def test_build_length_avoids_the_model_widths():
    from converters.student import build_length

    cfg = {"model_type": "bert", "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4}
    assert build_length(cfg, 40) == 40
    assert build_length(cfg, 32) == 34  # 32 is the width, 33 - 1 too
    assert build_length(cfg, 33) == 34  # the rows after the first would be 32 long
    mobile = {"model_type": "mobilebert", "hidden_size": 384, "embedding_size": 128,
              "intra_bottleneck_size": 128, "true_hidden_size": 128, "num_attention_heads": 4,
              "intermediate_size": 512}
    assert build_length(mobile, 128) == 130


@pytest.mark.parametrize("kind,length,targets", [
    ("mobilebert", 32, "tflite_fp32,tflite_int8_full"),  # trigram slices [1, 32, 32]
    ("bert", 33, "tflite_int8_full"),  # cls_split.py's other rows are 32 long
])
def test_seq_length_equal_to_a_width_converts(kind, length, targets, tmp_path, monkeypatch):
    """onnx2tf confuses a sequence length equal to a model width (MobileBERT's trigram slices cut
    the wrong axis: logits off by 30%): the graph is built at the next clear length and the
    files still take [1, max_seq_length], checked at every length by validation."""
    from converters import convert_all, tflite
    from converters.runtimes import TFLiteRunner

    converted = []  # graphs handed to the TFLite converter (kept alive: their ids stay unique)
    real_converter = tflite.ServingGraph.converter
    monkeypatch.setattr(tflite.ServingGraph, "converter",
                        lambda self: converted.append(self) or real_converter(self))
    student = make_student(tmp_path / "student", kind)
    out = tmp_path / "out"
    report = convert_all(student, out, targets=targets, max_seq_length=length,
                         calibration_texts=CAL_TEXTS, num_calibration=8, progress=False)
    assert report["tflite_build_length"] == 34
    # the fp32 file the graph check converted is the one tflite_fp32 ships, not converted again
    assert len({id(g) for g in converted}) == len(converted), [id(g) for g in converted]
    for backend in targets.split(","):
        assert report["artifacts"][backend]["validation"]["passed"], backend
        runner = TFLiteRunner(str(out / f"model_{backend[len('tflite_'):]}.tflite"), num_threads=1)
        assert runner.max_seq_length == length and runner.dynamic
        assert list(runner._in["input_ids"]["shape"]) == [1, length]
    entry = report["artifacts"]["tflite_int8_full"]
    assert entry["cls_split"] is (kind == "bert")
    if kind == "bert":  # int8 noise, as at L = 40 (a wrong graph is off by the logits' size)
        v = entry["validation"]
        assert v["mean_abs_diff"] <= 0.1 * v["max_abs_reference_logit"], v


def test_seq_length_beyond_the_position_table_is_refused(bert, tmp_path):
    from converters import ConversionError, convert_all

    with pytest.raises(ConversionError, match="max_position_embeddings"):
        convert_all(bert["student"], tmp_path / "out", targets="onnx", max_seq_length=4096,
                    progress=False)


# -- CLI ------------------------------------------------------------------------------------

def test_cli_convert(bert, tmp_path, capsys):
    from pipeline.commands import convert as cmd
    from pipeline.cli import main

    assert cmd.HELP and "\n" not in cmd.HELP
    cal = tmp_path / "cal.tsv"
    cal.write_text("sentence\tlabel\n" + "".join(f"{t}\t1\n" for t in CAL_TEXTS), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["convert", "--model", str(bert["student"]), "--out", str(out), "--targets", "onnx",
                 "--max-seq-length", str(L), "--calibration-data", str(cal), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "model.onnx").is_file() and "convert.json" in captured.out

    for argv, needle in ((["--model", str(tmp_path / "missing")], "model directory not found"),
                         (["--model", str(bert["student"]), "--targets", "tflite"], "unknown convert target"),
                         (["--model", str(bert["student"]), "--calibration-data", str(tmp_path / "x.txt")],
                          "file not found")):
        code = main(["convert", *argv, "--out", str(tmp_path / "o"), "--no-progress"])
        err = capsys.readouterr().err
        lines = [ln for ln in err.strip().splitlines() if ln.startswith("error: ")]
        assert code == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err


# -- canary: the internals the fast path relies on -------------------------------------------

def test_canary_internal_apis():
    """The speed-ups and the .ptl path use a few private/deprecated APIs. If an upgrade removes
    one, this fails first and says which (the converters fall back where they can)."""
    import onnx2tf.onnx2tf as o2t
    import tensorflow as tf
    import torch
    from tensorflow.lite.python.optimize import calibrator
    from torch.ao.quantization import (float_qparams_weight_only_qconfig,  # noqa: F401
                                       per_channel_dynamic_qconfig, quantize_dynamic)
    from torch.jit import mobile

    assert callable(getattr(o2t, "dummy_onnx_inference", None)), "onnx2tf reference-run hook moved"
    fn = tf.function(lambda x: x + 1.0, input_signature=[tf.TensorSpec([1], tf.float32)])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()])
    assert callable(getattr(conv, "_freeze_concrete_function", None)), "TFLite freeze hook moved"
    assert callable(getattr(calibrator.Calibrator, "calibrate", None))
    for name in ("_load_for_lite_interpreter", "_backport_for_mobile", "_get_model_bytecode_version",
                 "_export_operator_list"):
        assert hasattr(mobile, name), name
    assert hasattr(torch.jit.ScriptModule, "_save_for_lite_interpreter")
    assert "qnnpack" in torch.backends.quantized.supported_engines  # the phone's engine
