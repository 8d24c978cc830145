"""converters/cls_split.py: the [CLS] row in its own tensors for full int8 - the same function,
its own int8 scales in the converted file, weights stored once, and runnable from [CLS] alone."""
from __future__ import annotations

import numpy as np
import pytest

from tests.test_converters import INPUTS, L, make_student


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    from converters.student import load_student

    return load_student(make_student(tmp_path_factory.mktemp("cls") / "student"), L)


def test_split_forward_is_the_models_function(student):
    """Logits equal the HF model's at every length, with and without padding (the mask bias
    reaches both pieces), and for [CLS] alone (no other rows)."""
    import torch

    from converters import cls_split, onnx_export

    model = student.model.eval()
    plain = onnx_export.make_wrapper(model, mask_input="bias")
    split = onnx_export.make_wrapper(cls_split.wrap(model), mask_input="bias")
    assert cls_split.supported(model)
    rng = np.random.default_rng(0)
    for n, real in ((L, L), (L, 7), (9, 9), (2, 2), (1, 1), (L, 1)):
        ids = torch.as_tensor(rng.integers(5, model.config.vocab_size, (1, n)), dtype=torch.int32)
        types = torch.as_tensor(rng.integers(0, 2, (1, n)), dtype=torch.int32)
        bias = torch.zeros(1, n)
        bias[0, real:] = onnx_export.MASK_VALUE
        with torch.no_grad():
            a, b = plain(ids, bias, types), split(ids, bias, types)
        assert float((a - b).abs().max()) < 1e-5, (n, real)


def test_only_bert_classifiers_are_split(tmp_path):
    from converters import cls_split
    from converters.student import load_student

    mobile = load_student(make_student(tmp_path / "m", "mobilebert"), L)
    assert not cls_split.supported(mobile.model)


def test_full_int8_file_splits_cls_and_stores_weights_once(student, tmp_path):
    """The converted file: [CLS] rows have their own int8 scales (FULLY_CONNECTED outputs of
    one row), every FULLY_CONNECTED weight buffer is shared by the two pieces instead of stored
    twice, and the real-length contract feeds a [CLS]-only input with one padded row."""
    import json

    from ai_edge_litert.interpreter import Interpreter

    from converters import convert_all
    from converters.runtimes import TFLiteRunner, tflite_contract
    from tests.test_converters import CAL_TEXTS

    out = tmp_path / "convert"
    report = convert_all(student.model_dir, out,
                         targets=["tflite_int8_full"], max_seq_length=L,
                         calibration_texts=CAL_TEXTS, num_calibration=8, progress=False)
    entry = report["artifacts"]["tflite_int8_full"]
    assert entry["cls_split"] is True
    path = out / "model_int8_full.tflite"
    it = Interpreter(model_path=str(path))
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    fc = [op for op in it._get_ops_details() if op["op_name"] == "FULLY_CONNECTED"]
    one_row = [op for op in fc if tensors[op["outputs"][0]]["shape"][-2] == 1]
    many = [op for op in fc if tensors[op["outputs"][0]]["shape"][-2] == L - 1]
    assert one_row and many
    # the same weights give the [CLS] row and the others different output scales (keys and
    # values excepted: they are concatenated, one scale for both)
    out_scale = lambda op: tensors[op["outputs"][0]]["quantization"][0]  # noqa: E731
    rest = {op["inputs"][1]: out_scale(op) for op in many}
    pairs = [(out_scale(op), rest[op["inputs"][1]]) for op in one_row if op["inputs"][1] in rest]
    assert len(pairs) >= 6 and sum(a != b for a, b in pairs) >= len(pairs) // 2, pairs
    # weights stored once: as many distinct FULLY_CONNECTED weight buffers as Linear layers
    import torch

    linears = sum(isinstance(m, torch.nn.Linear) for m in student.model.modules())
    from tensorflow.lite.tools import flatbuffer_utils

    fb_model = flatbuffer_utils.read_model(str(path))
    sub = fb_model.subgraphs[0]
    fc_code = [i for i, c in enumerate(fb_model.operatorCodes)
               if max(c.builtinCode, c.deprecatedBuiltinCode) == 9]  # FULLY_CONNECTED
    buffers = {sub.tensors[op.inputs[1]].buffer for op in sub.operators if op.opcodeIndex in fc_code}
    assert len(buffers) == linears, (len(buffers), linears)
    assert tflite_contract(path)["trailing_context"] == 1
    ids = np.zeros((1, L), np.int32)
    ids[0, 0] = 101
    mask = np.zeros((1, L), np.int32)
    mask[0, 0] = 1
    logits = TFLiteRunner(str(path), num_threads=1).logits(ids, mask, np.zeros_like(mask))
    assert np.isfinite(logits).all()
    assert json.loads((out / "convert.json").read_text())["sequence"]["trailing_context"] == 0


def test_simulation_gives_cls_its_own_ranges(student):
    """converters/qat.py with cls_split: row 0 of every per-token point has its own range;
    keys, values and the embedding sum stay whole (the graph concatenates / slices them)."""
    import copy

    import torch

    from converters import qat, validate
    from converters.tflite import FULL_INT8_MASK_VALUE
    from tests.test_converters import CAL_TEXTS

    sim = qat.Simulated(copy.deepcopy(student.model), FULL_INT8_MASK_VALUE, cls_split=True)
    enc = validate.encode(student.tokenizer, CAL_TEXTS, L)
    sim.calibrate([{k: torch.as_tensor(enc[k], dtype=torch.long) for k in INPUTS}])
    points = {n: m for n, m in sim.model.named_modules() if isinstance(m, type(sim.points[0]))}
    whole = [n for n, m in points.items() if not m.split]
    assert whole and all(n.endswith(("key.out", "value.out", "embeddings.LayerNorm.x")) for n in whole)
    split = [m for m in points.values() if m.split and m.kind == "minmax"]
    assert any(float(m.hi_cls) != float(m.hi) for m in split)
    per_token = [m for m in split if bool(m.seen_cls)]  # the pooler and classifier see one row
    assert len(per_token) >= len(split) - 3
