"""converters/int8_graph.py: the rewrites keep the float function and find every LayerNorm and
GELU (tanh and exact) of an exported BERT."""
from __future__ import annotations

import numpy as np
import pytest

from tests.tiny_models import make_tiny_bert

L = 16


@pytest.fixture(scope="module", params=["gelu_new", "gelu"])
def graphs(tmp_path_factory, request):
    from converters import onnx_export
    from converters.student import load_student

    root = tmp_path_factory.mktemp("int8_graph")
    student = load_student(make_tiny_bert(root / "student", layers=3, act=request.param), L)
    raw, bias, static = root / "raw.onnx", root / "bias.onnx", root / "static.onnx"
    onnx_export.export_onnx(student.model, raw, L, mask_input="bias")
    onnx_export.simplify_onnx(raw, bias)
    onnx_export.static_copy(bias, static, L)
    return root, static, request.param


def _run(path, feed):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v for k, v in feed.items() if k in {i.name for i in sess.get_inputs()}})[0]


def test_rewrite_keeps_the_float_function(graphs):
    import onnx

    from converters.int8_graph import rewrite_for_full_int8

    root, static, act = graphs
    out = root / "int8.onnx"
    counts = rewrite_for_full_int8(static, out)
    exact = act == "gelu"
    assert counts == {"layernorm": 2 * 3 + 1, "gelu": 0 if exact else 3, "exact_gelu": 3 if exact else 0}
    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    assert "LayerNormalization" not in ops and "Tanh" in ops  # the pooler's tanh stays
    assert ops.count("Gelu") == 3 and ops.count("ReduceSumSquare") == 7 and "Pow" not in ops
    assert "Erf" not in ops
    rng = np.random.default_rng(0)
    model = onnx.load(str(static))
    feed = {}
    for inp in model.graph.input:
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        if inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            feed[inp.name] = rng.normal(size=shape).astype(np.float32) * 0.1
            if inp.name == "attention_mask":
                feed[inp.name] = np.where(np.arange(L) < 9, 0.0, -10000.0)[None].astype(np.float32)
        else:
            feed[inp.name] = rng.integers(0, 50, size=shape).astype(np.int32)
            if inp.name == "token_type_ids":
                feed[inp.name][:] = 0
    a, b = _run(static, feed), _run(out, feed)
    assert np.abs(a - b).max() <= 1e-4 * max(1.0, float(np.abs(a).max())), (a, b)


def test_fuse_gelu_keeps_layernorm(graphs):
    import onnx

    from converters.int8_graph import fuse_gelu

    root, static, act = graphs
    counts = fuse_gelu(static, root / "fused.onnx")
    assert counts["layernorm"] == 0 and counts["gelu"] + counts["exact_gelu"] == 3
    ops = [n.op_type for n in onnx.load(str(root / "fused.onnx")).graph.node]
    assert ops.count("LayerNormalization") == 7 and ops.count("Gelu") == 3 and "Erf" not in ops


def test_rewrite_leaves_unknown_graphs_alone(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from converters.int8_graph import rewrite_for_full_int8

    # x^3 without the rest of the tanh-GELU chain, and a LayerNorm over a dynamic axis
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    three = numpy_helper.from_array(np.array(3.0, np.float32), "three")
    g1 = numpy_helper.from_array(np.ones(4, np.float32), "g")
    b1 = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    nodes = [helper.make_node("Pow", ["x", "three"], ["p"]),
             helper.make_node("LayerNormalization", ["p", "g", "b"], ["y"], axis=-1)]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=[three, g1, b1])
    src = tmp_path / "src.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    assert rewrite_for_full_int8(src, tmp_path / "dst.onnx") == {"layernorm": 0, "gelu": 0,
                                                                 "exact_gelu": 0}
    assert [n.op_type for n in onnx.load(str(tmp_path / "dst.onnx")).graph.node] == \
        ["Pow", "LayerNormalization"]
