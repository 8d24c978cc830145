"""ExecuTorch `.pte` targets: XNNPACK delegation, int8 size, dynamic length, runner errors."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("executorch")
L = 32


@pytest.fixture(scope="module")
def pte(tiny_bert_dir, tmp_path_factory):
    """One conversion of the tiny student to both .pte files (lowering is the slow part)."""
    from converters import convert_all

    out = tmp_path_factory.mktemp("pte")
    report = convert_all(tiny_bert_dir, out, targets="pte_fp32,pte_int8", max_seq_length=L,
                         progress=False)
    return out, report


def test_both_targets_validated_and_delegated(pte):
    from converters.executorch_pte import GLUE_OPS

    out, report = pte
    assert not report["failed"]
    for backend in ("pte_fp32", "pte_int8"):
        entry = report["artifacts"][backend]
        assert entry["validation"]["passed"]
        # Everything but lookups and shape glue runs inside XNNPACK.
        assert set(entry["validation"]["ops"]) <= GLUE_OPS
        assert entry["delegate_calls"].get("XnnpackBackend", 0) >= 1
        assert entry["sequence_length"] == [1, L]
    fp32 = report["artifacts"]["pte_fp32"]
    assert fp32["rewrites"]["layer_norm"] > 0 and fp32["rewrites"]["tanh_gelu"] > 0


def test_int8_quantizes_linears_and_embeddings(pte, tiny_bert_dir):
    """Every Linear weight and the word/position tables are stored as int8: the file shrinks by
    ~3 bytes per such weight (on the demo student that makes it 26% of the fp32 file; on this
    tiny model the program's fixed overhead dominates, so the saving is what is checked)."""
    import torch

    from converters.student import load_student

    out, report = pte
    int8 = report["artifacts"]["pte_int8"]
    assert int8["rewrites"]["int8_embedding"] >= 2  # word + position tables
    assert int8["rewrites"]["fp32_embedding"] == 1  # token types (2 rows)
    model = load_student(tiny_bert_dir, L).model
    quantized = sum(m.weight.numel() for m in model.modules()
                    if isinstance(m, torch.nn.Linear)
                    or (isinstance(m, torch.nn.Embedding) and m.num_embeddings >= 64))
    saved = report["artifacts"]["pte_fp32"]["size_bytes"] - int8["size_bytes"]
    # 3 bytes per weight, less the per-row scales and zero points.
    assert saved >= 0.8 * 3 * quantized


@pytest.mark.parametrize("backend", ["pte_fp32", "pte_int8"])
def test_any_length_matches_padded(pte, tiny_bert_dir, backend):
    """The graph takes 1..L tokens; a padded row runs at its real length, so padding length
    and content do not move the logits, and fp32 stays on the float student."""
    from converters.backends import ARTIFACTS
    from converters.runtimes import HFRunner, load_runner

    out, _ = pte
    runner = load_runner(out / ARTIFACTS[backend], num_threads=1)
    ref = HFRunner(tiny_bert_dir)
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, L):
        ids = rng.integers(5, 60, size=(1, n)).astype(np.int32)
        ids[0, 0] = 2
        mask, types = np.ones_like(ids), np.zeros_like(ids)
        got = runner.logits(ids, mask, types)
        padded = np.zeros((1, L), np.int32)
        padded[0, :n] = ids
        pmask = np.zeros_like(padded)
        pmask[0, :n] = 1
        assert np.array_equal(runner.logits(padded, pmask, np.zeros_like(padded)), got)
        if backend == "pte_fp32":
            assert np.abs(got - ref.logits(ids, mask, types)).max() < 1e-4


def test_runner_refuses_too_long_and_corrupt(pte, tmp_path):
    from converters.backends import ARTIFACTS
    from converters.errors import BertEdgeError
    from converters.runtimes import load_runner

    out, _ = pte
    runner = load_runner(out / ARTIFACTS["pte_int8"])
    ids = np.ones((1, L + 1), np.int32)
    with pytest.raises(BertEdgeError, match="at most"):
        runner.logits(ids, ids, np.zeros_like(ids))
    bad = tmp_path / "model_int8.pte"
    bad.write_bytes((out / ARTIFACTS["pte_int8"]).read_bytes()[:4096])
    with pytest.raises(BertEdgeError, match="model_int8.pte"):
        load_runner(bad)
    bad.write_bytes(b"not a program at all")
    with pytest.raises(BertEdgeError, match="not an ExecuTorch program"):
        load_runner(bad)


def test_delegation_check_names_a_hot_op():
    from converters.common import ConversionError
    from converters.executorch_pte import check_delegation

    check_delegation({"outside_delegate": {"aten::embedding": 3},
                      "delegates": {"XnnpackBackend": 4}}, "pte_int8")
    with pytest.raises(ConversionError, match="aten::native_layer_norm"):
        check_delegation({"outside_delegate": {"aten::native_layer_norm": 9},
                          "delegates": {"XnnpackBackend": 4}}, "pte_int8")
    with pytest.raises(ConversionError, match="no XNNPACK delegate"):
        check_delegation({"outside_delegate": {}, "delegates": {}}, "pte_fp32")


def test_metadata_version_helper_rules():
    """The port of MediaPipe's minimum-parser-version helper (its 1.x wheels lack the native
    one): BERT tokenizer process units need 1.1.0, a vocabulary file alone 1.0.1."""
    md = pytest.importorskip("mediapipe.tasks.metadata.metadata_schema_py_generated")
    import flatbuffers

    from converters.tflite_metadata import min_parser_version

    def build(units: bool) -> bytes:
        f = md.AssociatedFileT()
        f.name, f.type = "vocab.txt", md.AssociatedFileType.VOCABULARY
        t = md.TensorMetadataT()
        t.associatedFiles = [f]
        if units:
            u = md.ProcessUnitT()
            u.optionsType = md.ProcessUnitOptions.BertTokenizerOptions
            u.options = md.BertTokenizerOptionsT()
            t.processUnits = [u]
        sg = md.SubGraphMetadataT()
        sg.inputTensorMetadata = [t]
        m = md.ModelMetadataT()
        m.subgraphMetadata = [sg]
        b = flatbuffers.Builder(0)
        b.Finish(m.Pack(b), b"M001")
        return bytes(b.Output())

    assert min_parser_version(build(False)) == "1.0.1"
    assert min_parser_version(build(True)) == "1.1.0"


def test_mobilebert_trigram_rewrite_is_the_same_function(tmp_path):
    """The convolution that replaces MobileBERT's shifted-slice trigram input gives the Hugging
    Face embeddings' output at every length, 1 and 2 included (the lengths torch.export guarded)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from converters.executorch_pte import prepare_for_xnnpack
    from tiny_models import make_tiny_mobilebert

    model = AutoModelForSequenceClassification.from_pretrained(make_tiny_mobilebert(tmp_path / "mb")).eval()
    original = model.mobilebert.embeddings
    with torch.no_grad():  # non-zero bias and weights so a swapped neighbour would show
        original.embedding_transformation.weight.normal_(0, 0.5)
        original.embedding_transformation.bias.normal_(0, 0.5)
    rewritten = torch.nn.Module()
    rewritten.embeddings = original
    assert prepare_for_xnnpack(rewritten)["trigram_conv"] == 1
    gen = torch.Generator().manual_seed(0)
    for n in (1, 2, 3, 11):
        ids = torch.randint(5, model.config.vocab_size, (2, n), generator=gen)
        types = torch.randint(0, 2, (2, n), generator=gen)
        with torch.no_grad():
            want = original(input_ids=ids, token_type_ids=types)
            got = rewritten.embeddings(input_ids=ids, token_type_ids=types)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
