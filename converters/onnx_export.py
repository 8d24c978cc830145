"""PyTorch student -> ONNX: int32 [1, seq] inputs (seq dynamic, 1..max_seq_length), `logits`
output, simplified.

The export wrapper does the int32 -> int64 casts and builds the additive attention mask itself
(a [1, 1, 1, seq] float tensor, which BERT and MobileBERT take as-is), so the exported graph has
one explicit, bounded mask path instead of whatever mask helper the transformers version traces.
Position ids come from a cumulative sum over the input rather than from its Shape: no op of the
graph reads the sequence length, so a converter that fixes shapes (onnx2tf builds at
max_seq_length, see `static_copy`) leaves nothing length-specific but its Reshape constants.
"""
from __future__ import annotations

import collections
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from converters.common import INPUT_NAMES, OUTPUT_NAME, ConversionError

# Added to attention scores at padded key positions. exp(-10000) == 0 in float32, so float
# graphs are exact; the TFLite full-int8 path rebinds it (see tflite.py) because calibration
# must cover the whole range of the masked scores.
MASK_VALUE = -10000.0
OPSET = 17

# ONNX ops that onnx2tf can only lower to TensorFlow Select (Flex) ops, with the usual cause.
FLEX_ONLY_ONNX_OPS = {
    # Exact GELU's Erf is fused into the GELU builtin (int8_graph.fuse_gelu); one left over is
    # an erf in some other formula.
    "Erf": "an erf outside the exact-GELU pattern 0.5*x*(1+erf(x/sqrt(2))); convert with "
           "approximate_gelu=True / --approximate-gelu if it is a GELU variant",
}


def make_wrapper(model, mask_input: str = "int", mask_value: float = MASK_VALUE,
                 positions_from_input: bool = True, tie_unused_inputs: bool = True):
    """nn.Module(input_ids, attention_mask, token_type_ids) -> logits for export/tracing.

    mask_input='int': attention_mask is the 0/1 int mask of the contract.
    mask_input='bias': the second input is already the float additive bias [1, L] (used for the
    graph handed to onnx2tf; the TF signature computes it from the int mask).
    positions_from_input=False: the model derives position ids from the sequence length itself
    (torch.export keeps that symbolic; a cumsum would run outside ExecuTorch's XNNPACK).
    tie_unused_inputs: a family without token types (DistilBERT) adds `0 * token_type_ids` to
    the ids so the ONNX exporter keeps the contract's third input (it drops unused inputs);
    torch.export and tracing keep every argument anyway, so the .pte path turns it off (an int
    add would run outside XNNPACK).
    """
    import torch

    from converters.families import REGISTRY, position_offset

    fam = REGISTRY[model.config.model_type]
    first_position = position_offset(model.config)

    class ExportWrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            if not positions_from_input and first_position:
                # RoBERTa-style: HF would count positions with cumsum over `ids != pad`, which
                # runs outside XNNPACK; a slice of a constant row is shape glue, like BERT's.
                rows = torch.arange(first_position, int(model.config.max_position_embeddings))[None, :]
                self.register_buffer("position_rows", rows, persistent=False)

        def forward(self, input_ids, attention_mask, token_type_ids):
            if mask_input == "bias":
                bias = attention_mask.to(torch.float32)
            else:
                bias = (1.0 - attention_mask.to(torch.float32)) * mask_value
            ids = input_ids.to(torch.long)
            types = token_type_ids.to(torch.long)
            kwargs = {}
            if fam.token_types:
                kwargs["token_type_ids"] = types
            elif tie_unused_inputs:
                # The contract's third input stays in every graph (runtimes and the app feed
                # three); a family without token types adds 0 * types, which no exporter folds.
                ids = ids + types * 0
            # first_position + 0..seq-1 without a Shape op (see the module docstring); HF derives
            # RoBERTa's from the padding (padding_idx + 1 + ...), equal on every real position.
            if positions_from_input:
                positions = torch.cumsum(ids * 0 + 1, dim=1) - 1 + first_position
            elif first_position:
                positions = self.position_rows[:, :ids.shape[1]]  # no symbolic add: no prim op
            else:
                positions = None  # the model slices its own position_ids buffer
            out = self.inner(input_ids=ids,
                             attention_mask=bias[:, None, None, :],
                             position_ids=positions,
                             return_dict=False, **kwargs)
            return out[0]

    return ExportWrapper(model).eval()  # eval() on the wrapper too: no captured Dropout


def approximate_gelu_(model) -> int:
    """Swap exact (erf) GELU modules for tanh GELU in place; returns how many were swapped."""
    import torch
    from transformers import activations

    exact = tuple(c for c in (getattr(activations, "GELUActivation", None),) if c is not None)
    swapped = 0
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if (isinstance(child, exact) and not getattr(child, "approximate", False)) or \
                    (isinstance(child, torch.nn.GELU) and child.approximate == "none"):
                setattr(parent, name, torch.nn.GELU(approximate="tanh"))
                swapped += 1
    return swapped


def example_inputs(max_seq_length: int, mask_input: str = "int"):
    import torch

    ids = torch.zeros(1, max_seq_length, dtype=torch.int32)
    ids[0, 0], ids[0, 1] = 2, 3  # values do not matter to tracing; small: any vocabulary has them
    mask = torch.zeros(1, max_seq_length, dtype=torch.int32)
    mask[0, :2] = 1
    if mask_input == "bias":
        mask = (1.0 - mask.float()) * MASK_VALUE
    return ids, mask, torch.zeros(1, max_seq_length, dtype=torch.int32)


SEQ_AXIS = "sequence"


def export_onnx(model, path: str | Path, max_seq_length: int, mask_input: str = "int",
                opset: int = OPSET, step: str = "onnx") -> None:
    """torch.onnx.export (TorchScript exporter) of the wrapped model to `path` (not simplified),
    traced at max_seq_length with a dynamic sequence axis."""
    import torch

    wrapper = make_wrapper(model, mask_input=mask_input)
    args = example_inputs(max_seq_length, mask_input)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, args, str(path), input_names=list(INPUT_NAMES),
                              output_names=[OUTPUT_NAME], opset_version=opset,
                              do_constant_folding=True, dynamo=False,
                              dynamic_axes={n: {1: SEQ_AXIS} for n in INPUT_NAMES})
    except Exception as e:
        op = _op_from_text(str(e))
        raise ConversionError(step, f"torch.onnx.export failed: {type(e).__name__}: {e}",
                              op=op) from e


def simplify_onnx(src: str | Path, dst: str | Path, step: str = "onnx") -> dict:
    """onnxsim in-process, one pass; returns node counts before/after."""
    import onnx
    import onnxsim

    model = onnx.load(str(src))
    before = len(model.graph.node)
    try:
        # One pass reaches the fixed point on these graphs (a second pass removed nothing on
        # BERT/MobileBERT exports); onnx2tf's own three subprocess passes are skipped.
        simplified, ok = onnxsim.simplify(model)
    except Exception as e:
        raise ConversionError(step, f"onnxsim failed: {type(e).__name__}: {e}") from e
    if not ok:
        raise ConversionError(step, "onnxsim could not verify the simplified graph")
    onnx.save(simplified, str(dst))
    return {"nodes_before": before, "nodes_after": len(simplified.graph.node)}


POSITION_ROWS = "position_rows"


def static_copy(src: str | Path, dst: str | Path, max_seq_length: int,
                step: str = "tflite_graph", table_rows: Optional[int] = None,
                first_row: int = 0) -> Optional[np.ndarray]:
    """The graph for onnx2tf: inputs fixed at [1, max_seq_length] (onnx2tf guesses tensor
    layouts from static shapes; tflite.py makes the length dynamic again after conversion),
    simplified again so every Shape-derived value folds to a constant.

    The position-embedding lookup becomes a float input `position_rows` [1, L, hidden] that the
    TF serving function slices from the table (returned here; None if the model has none).
    Why: TFLite's dynamic-range int8 quantizes every Gather table with ONE scale, and row 0 of
    BERT-family position tables is ~10x larger than the rest: the logits of a 4L-312D student
    moved by 0.6. A slice of a float constant is not quantized, and is exactly what a
    fixed-length graph had (there onnxsim folded the lookup into a constant). `table_rows`
    (default max_seq_length): rows of the table returned, when the graph is built at another
    length than the file's longest input (student.build_length). `first_row`: the first position
    id (families.position_offset: RoBERTa-style tables start at padding_idx + 1), so row i of the
    returned table is the embedding of the i-th token."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    L = int(max_seq_length)
    for inp in g.input:
        dim = inp.type.tensor_type.shape.dim[1]
        dim.Clear()
        dim.dim_value = L
    del g.value_info[:]
    inits = {i.name: i for i in g.initializer}
    table = None
    for node in list(g.node):
        if node.op_type == "Gather" and node.input[0].endswith("position_embeddings.weight") \
                and node.input[0] in inits and table is None:
            # Only the first rows up to the file's longest input are ever read: no more are kept.
            table = numpy_helper.to_array(inits[node.input[0]])[
                first_row:first_row + (table_rows or L)].astype(np.float32)
            g.node.remove(node)
            rows = node.output[0]
            for other in g.node:  # consumers read the new input under its own name
                for k, name in enumerate(other.input):
                    if name == rows:
                        other.input[k] = POSITION_ROWS
            g.input.append(helper.make_tensor_value_info(POSITION_ROWS, onnx.TensorProto.FLOAT,
                                                         [1, L, int(table.shape[1])]))
    onnx.save(model, str(dst))
    simplify_onnx(dst, dst, step=step)
    return table


def set_metadata(path: str | Path, key: str, value: str) -> None:
    """Add (or replace) one metadata_props entry of an ONNX file."""
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != key]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key, entry.value = key, value
    onnx.save(model, str(path))


def onnx_op_counts(path: str | Path) -> dict:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return dict(sorted(collections.Counter(n.op_type for n in model.graph.node).items()))


def check_tflite_lowerable(op_counts: dict, step: str) -> None:
    """Fail before onnx2tf on ops that would only become Flex ops."""
    for op, why in FLEX_ONLY_ONNX_OPS.items():
        if op in op_counts:
            raise ConversionError(step, f"ONNX op {op} (x{op_counts[op]}) has no TFLite builtin "
                                         f"equivalent (it would become Flex{op}); cause: {why}",
                                  op=op)


def _op_from_text(text: str) -> Optional[str]:
    import re

    m = re.search(r"(aten::\w+|prim::\w+|quantized::\w+)", text)
    return m.group(1) if m else None


def add_int_mask_input(src: str | Path, dst: str | Path, mask_value: float = MASK_VALUE) -> None:
    """Turn a graph exported with mask_input='bias' (float additive bias [1, L] named
    attention_mask) into the contract graph: int32 0/1 `attention_mask`, followed by
    Cast -> (1 - m) -> * mask_value feeding the original bias uses."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    inp = next((i for i in g.input if i.name == "attention_mask"), None)
    if inp is None:
        raise ConversionError("onnx", "exported graph has no attention_mask input")
    internal = "attention_bias"
    for node in g.node:
        for k, name in enumerate(node.input):
            if name == "attention_mask":
                node.input[k] = internal
    for out in g.output:
        if out.name == "attention_mask":  # never happens for a classifier; be safe
            raise ConversionError("onnx", "attention_mask is also a graph output")
    inp.type.tensor_type.elem_type = TensorProto.INT32
    g.initializer.extend([
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "attention_mask_one"),
        numpy_helper.from_array(np.array(mask_value, dtype=np.float32), "attention_mask_value"),
    ])
    new_nodes = [
        helper.make_node("Cast", ["attention_mask"], ["attention_mask_f"], to=TensorProto.FLOAT,
                         name="attention_mask_cast"),
        helper.make_node("Sub", ["attention_mask_one", "attention_mask_f"], ["attention_mask_inv"],
                         name="attention_mask_invert"),
        helper.make_node("Mul", ["attention_mask_inv", "attention_mask_value"], [internal],
                         name="attention_mask_bias"),
    ]
    for i, node in enumerate(new_nodes):
        g.node.insert(i, node)
    onnx.save(model, str(dst))  # checked by running it (onnxruntime) in the validation step
