"""ONNX rewrites of a BERT-family graph before onnx2tf: GELU as one op for every TFLite file,
LayerNorm in an int8-friendly form for full int8.

GELU, both forms, becomes one ONNX `Gelu` (opset 20), which onnx2tf writes as `tf.nn.gelu` and
the TFLite converter as its GELU builtin (XNNPACK delegates it; the int8 kernel is a lookup
table, exact to the output step):
- exact GELU, `0.5*x*(1 + erf(x/sqrt(2)))` (hidden_act 'gelu': every hub BERT, DistilBERT,
  ELECTRA, RoBERTa, MiniLM): Erf has no TFLite builtin and would otherwise become FlexErf, which
  no stock runtime has. `fuse_gelu` does this for every TFLite file.
- tanh-GELU as eight elementwise ops (x^3 alone spans thousands under full int8).

Full int8 gives every op output one int8 scale and zero point. LayerNorm as onnx2tf writes it
(mean, SquaredDifference, mean, Rsqrt, ...) cannot live with that: the squared deviations are
quantized with one scale set by the rare large ones, so for most tokens every square rounds to 0
and the variance - and the normalization - is wrong (30% relative error after the embedding
LayerNorm of a 4L-312D student; scripts/diagnose_full_int8.py). Rewritten as
`unit = d / sqrt(sum(d*d))` with `d = x - mean(x)` on rows of width H, then
`unit * (gamma * sqrt(H)) + beta`: the same function (LayerNorm's epsilon, 1e-12 in BERT, is
dropped), and TFLite fuses the first part into its L2_NORMALIZATION op, which sums the squares
of the int8 inputs exactly in int32.

The float function is unchanged (tests/test_int8_graph.py checks it in onnxruntime).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

GELU_OPSET = 20  # first opset with the Gelu operator
_GELU_CONSTANTS = {"cube": 3.0, "coeff": 0.044715, "scale": 0.7978845608, "one": 1.0, "half": 0.5,
                   "sqrt2": 1.4142135624, "inv_sqrt2": 0.7071067812}


def fuse_gelu(src: str | Path, dst: str | Path) -> dict:
    """Write `src` with every GELU (exact and tanh) as one `Gelu` op to `dst`; counts."""
    return rewrite_for_full_int8(src, dst, layernorm=False)


def rewrite_for_full_int8(src: str | Path, dst: str | Path, layernorm: bool = True) -> dict:
    """Write `src` with LayerNorm (unless layernorm=False) and GELU rewritten (see the module
    docstring) to `dst`; returns how many of each were rewritten. Needs static shapes on the
    LayerNorm inputs (the [1, L] graph that onnx2tf gets, onnx_export.static_copy)."""
    import onnx
    from onnx import helper

    model = onnx.shape_inference.infer_shapes(onnx.load(str(src)))
    g = model.graph
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx") and o.version < GELU_OPSET:
            o.version = GELU_OPSET  # the graph's other ops mean the same in opset 20
    consts = {i.name: i for i in g.initializer}
    # Nodes are keyed by their first output name (unique in a graph; protobuf wrapper ids are not
    # stable).
    replaced: dict = {}  # node replaced -> the new nodes written in its place
    dropped: set = set()  # nodes removed without replacement
    counts = {"layernorm": 0, "gelu": 0, "exact_gelu": 0}
    for kind, matches in (("gelu", _gelu_matches(g, consts)),
                          ("exact_gelu", _exact_gelu_matches(g, consts))):
        for x, last, nodes in matches:
            replaced[last.output[0]] = [helper.make_node(
                "Gelu", [x], [last.output[0]], approximate="tanh" if kind == "gelu" else "none",
                name=f"{last.name or last.output[0]}_gelu")]
            dropped.update(n.output[0] for n in nodes if n.output[0] != last.output[0])
            counts[kind] += 1
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(g.value_info) + list(g.input) + list(g.output)}
    for node in [n for n in g.node if layernorm and n.op_type == "LayerNormalization"]:
        new = _layernorm_as_l2(g, node, consts, shapes.get(node.input[0]))
        if new:
            replaced[node.output[0]] = new
            counts["layernorm"] += 1
    nodes = []
    for n in g.node:
        if n.output[0] in replaced:
            nodes.extend(replaced[n.output[0]])
        elif n.output[0] not in dropped:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)  # each replacement sits where its last node was: still in order
    del g.value_info[:]
    used = {x for n in g.node for x in n.input}
    keep = [i for i in g.initializer if i.name in used]  # the replaced ops' constants
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return counts


def _scalar(consts: dict, name: str, value: float) -> bool:
    from onnx import numpy_helper

    if name not in consts:
        return False
    a = numpy_helper.to_array(consts[name])
    return a.size == 1 and abs(float(a.reshape(-1)[0]) - value) <= 1e-3 * max(1.0, abs(value))


def _graph_index(g) -> tuple[dict, dict]:
    """({tensor: nodes reading it}, {tensor: node writing it}) of an ONNX graph."""
    consumers: dict = {}
    for n in g.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    return consumers, {o: n for n in g.node for o in n.output}


def _gelu_matches(g, consts: dict):
    """(x, last node, all nodes) of each `0.5*x * (1 + tanh(0.79788*(x + 0.044715*x^3)))` chain,
    as torch exports transformers' NewGELUActivation / nn.GELU(approximate='tanh')."""
    consumers, producer = _graph_index(g)
    c = _GELU_CONSTANTS

    def only(name, op, const=None):
        users = consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op:
            raise LookupError
        if const is not None and not any(_scalar(consts, i, const) for i in users[0].input):
            raise LookupError
        return users[0]

    for pow_ in [n for n in g.node if n.op_type == "Pow"]:
        try:
            x = pow_.input[0]
            if not _scalar(consts, pow_.input[1], c["cube"]):
                continue
            m1 = only(pow_.output[0], "Mul", c["coeff"])
            a = only(m1.output[0], "Add")
            if x not in a.input:
                continue
            m2 = only(a.output[0], "Mul", c["scale"])
            t = only(m2.output[0], "Tanh")
            a1 = only(t.output[0], "Add", c["one"])
            last = only(a1.output[0], "Mul")
            half = producer.get(next(i for i in last.input if i != a1.output[0]))
            if half is None or half.op_type != "Mul" or x not in half.input or \
                    not any(_scalar(consts, i, c["half"]) for i in half.input) or \
                    len(consumers.get(half.output[0], [])) != 1:
                continue
        except (LookupError, StopIteration):
            continue
        yield x, last, (pow_, m1, a, m2, t, a1, last, half)


def _exact_gelu_matches(g, consts: dict):
    """(x, last node, all nodes) of each `(x * (1 + erf(x / sqrt(2)))) * 0.5` chain (or with
    `x * 0.7071` for the division, or 0.5 applied to x first), as torch exports exact GELU."""
    consumers, producer = _graph_index(g)
    c = _GELU_CONSTANTS

    def has(node, value):
        return any(_scalar(consts, i, value) for i in node.input)

    def single_user(name):
        users = consumers.get(name, [])
        if len(users) != 1:
            raise LookupError
        return users[0]

    for erf in [n for n in g.node if n.op_type == "Erf"]:
        try:
            scale = producer.get(erf.input[0])
            if scale is None or not ((scale.op_type == "Div" and _scalar(consts, scale.input[1], c["sqrt2"]))
                                     or (scale.op_type == "Mul" and has(scale, c["inv_sqrt2"]))):
                continue
            x = next(i for i in scale.input if i not in consts)
            add = single_user(erf.output[0])
            if add.op_type != "Add" or not has(add, c["one"]):
                continue
            m1 = single_user(add.output[0])
            if m1.op_type != "Mul":
                continue
            other = next(i for i in m1.input if i != add.output[0])
            chain = [scale, erf, add, m1]
            if other == x:  # (x * (1 + erf)) * 0.5
                last = single_user(m1.output[0])
                if last.op_type != "Mul" or not has(last, c["half"]):
                    continue
                chain.append(last)
            else:  # (0.5 * x) * (1 + erf)
                half = producer.get(other)
                if half is None or half.op_type != "Mul" or x not in half.input or \
                        not has(half, c["half"]) or len(consumers.get(half.output[0], [])) != 1:
                    continue
                last = m1
                chain.append(half)
        except (LookupError, StopIteration):
            continue
        yield x, last, tuple(chain)


def _layernorm_as_l2(g, node, consts: dict, shape) -> list:
    """The nodes replacing one LayerNormalization over the last axis ([] to keep it)."""
    from onnx import helper, numpy_helper

    axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
    if not shape or any(d <= 0 for d in shape) or axis not in (-1, len(shape) - 1) or \
            len(node.input) < 3 or node.input[1] not in consts:
        return []
    gamma = numpy_helper.to_array(consts[node.input[1]]).astype(np.float32)
    width = int(shape[-1])
    base = node.name or node.output[0]

    def const(suffix, value):
        name = f"{base}_{suffix}"
        g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    axes = const("axes", np.array([-1], np.int64))
    x, n = node.input[0], lambda s: f"{base}_{s}"
    return [
        helper.make_node("ReduceMean", [x, axes], [n("mean")], keepdims=1),
        helper.make_node("Sub", [x, n("mean")], [n("centered")]),
        # Rows of width H: TFLite's L2_NORMALIZATION pattern only fuses when the squared input
        # is not itself a Sub (that one would become SquaredDifference first).
        helper.make_node("Reshape", [n("centered"), const("rows", np.array([-1, width], np.int64))],
                         [n("rows2d")]),
        helper.make_node("ReduceSumSquare", [n("rows2d"), axes], [n("sumsq")], keepdims=1),
        helper.make_node("Sqrt", [n("sumsq")], [n("norm")]),
        helper.make_node("Div", [n("rows2d"), n("norm")], [n("unit")]),
        helper.make_node("Reshape", [n("unit"), const("shape", np.array(shape, np.int64))],
                         [n("unit_nd")]),
        helper.make_node("Mul", [n("unit_nd"), const("gain", gamma * np.float32(np.sqrt(width)))],
                         [n("scaled")]),
        helper.make_node("Add", [n("scaled"), node.input[2]], [node.output[0]]),
    ]
