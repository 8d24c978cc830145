"""PyTorch student -> ExecuTorch `.pte` with the XNNPACK delegate (fp32 and dynamic int8).

ExecuTorch is PyTorch's supported on-device runtime (TorchScript-mobile `.ptl` is frozen). The
graph is captured with `torch.export` with a dynamic sequence dimension (1..max_seq_length), so
it runs at the real length of a text: the runner and the app feed the tokens up to the last
attention-mask position, no padding.

Before export the student gets source rewrites, each because XNNPACK would otherwise
leave work to ExecuTorch's portable (naive reference) kernels or compute something else, or
torch.export would not take a dynamic length:
- LayerNorm -> the same formula from ops XNNPACK takes (mean and variance as a product with a
  1/H vector, rsqrt, mul, add): the partitioner has no layer_norm, and the portable kernel
  between every pair of delegate blobs made the fp32 graph several times slower.
- tanh GELU (`gelu_new`, `gelu_pytorch_tanh`, GELU(approximate='tanh')) -> written out with
  tanh: the partitioner maps `aten.gelu` to XNNPACK's exact (erf) GELU whatever `approximate`
  says, which moved the fp32 logits by ~1e-2, and `pow(x, 3)` is not delegated.
  Exact GELU stays `aten.gelu` (XNNPACK computes it exactly).
- MobileBERT's trigram input ([next, token, previous] embeddings through one linear layer) ->
  the equivalent kernel-3 convolution with the same weights: the Hugging Face code's shifted
  slices make torch.export guard the dynamic length against 2, a real length here.
After `to_edge`: views get one `-1` instead of a symbolic size (XNNPACK reshapes take one
inferred dim, no symbolic ones) and no-op expands (matmul's broadcast to the same shape) go.

int8 (`quantize="int8"`): every `nn.Linear` dynamic int8 (torchao `Int8DynamicActivationIntx
WeightConfig`: int8 per-channel weights, activations quantized per token at run time; XNNPACK's
qd8 GEMMs), and the word and position embedding tables int8 per row (ExecuTorch's
`quantized_decomposed.embedding_byte`, asymmetric: the position table's rows are not centred).
Tables with fewer than `MIN_QUANT_EMBEDDING_ROWS` rows (token types: 2) stay fp32: they are a
few KB, and their rounding error lands on every token.

`check_delegation` lists the ops the lowered program runs outside XNNPACK: only lookups and
shape glue (`GLUE_OPS`) may be there; any matmul, norm, activation or softmax is an error.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Optional

from converters.common import ConversionError, native_stderr, quiet_executorch

# Ops a lowered program may run outside the XNNPACK delegate: embedding lookups (a gather; the
# int8 one dequantizes one row per token), and shape/dtype glue around the delegate blobs.
GLUE_OPS = frozenset({
    "aten::embedding", "quantized_decomposed::embedding_byte", "aten::view_copy",
    "executorch_prim::et_view", "aten::slice_copy", "aten::select_copy", "aten::unsqueeze_copy",
    "aten::sym_size", "aten::_to_copy", "dim_order_ops::_to_dim_order_copy", "aten::squeeze_copy",
    "aten::clone", "dim_order_ops::_clone_dim_order",
})
MIN_QUANT_EMBEDDING_ROWS = 64
ANDROID_RUNTIME = "org.pytorch:executorch-android"
MIN_SEQ = 1


def _torch_modules():
    import torch

    class XnnLayerNorm(torch.nn.Module):
        """LayerNorm over the last dim from ops XNNPACK delegates (see the module doc)."""

        def __init__(self, ln):
            super().__init__()
            h = int(ln.normalized_shape[-1])
            self.register_buffer("avg", torch.full((1, h), 1.0 / h))
            self.weight, self.bias, self.eps = ln.weight, ln.bias, float(ln.eps)

        def forward(self, x):
            d = x - torch.nn.functional.linear(x, self.avg)
            var = torch.nn.functional.linear(d * d, self.avg)
            y = d * torch.rsqrt(var + self.eps)
            if self.weight is not None:
                y = y * self.weight
            return y + self.bias if self.bias is not None else y

    class TanhGelu(torch.nn.Module):
        """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with mul instead of pow."""

        def forward(self, x):
            inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))
            return 0.5 * x * (1.0 + torch.tanh(inner))

    class Int8Embedding(torch.nn.Module):
        """Asymmetric int8 per row, looked up by ExecuTorch's embedding_byte kernel."""

        def __init__(self, emb):
            super().__init__()
            w = emb.weight.detach().float()
            lo, hi = w.amin(dim=1), w.amax(dim=1)
            scale = ((hi - lo) / 255.0).clamp(min=1e-12)
            zero = torch.round(-128.0 - lo / scale).clamp(-128, 127)
            q = torch.round(w / scale[:, None] + zero[:, None]).clamp(-128, 127)
            self.register_buffer("qweight", q.to(torch.int8))
            self.register_buffer("scales", scale)
            self.register_buffer("zero_points", zero)

        def forward(self, ids):
            return torch.ops.quantized_decomposed.embedding_byte.default(
                self.qweight, self.scales, self.zero_points, -128, 127, ids)

    class ConvTrigramEmbeddings(torch.nn.Module):
        """MobileBERT's embeddings with the trigram input as the kernel-3 convolution the
        paper describes: the same weights as `embedding_transformation` over [next, token,
        previous], without the shifted slices torch.export guards on a dynamic length."""

        def __init__(self, emb):
            super().__init__()
            lin = emb.embedding_transformation
            e = int(emb.embedding_size)
            w = lin.weight.detach()  # (hidden, 3e): the columns of next, token, previous
            self.conv = torch.nn.Conv1d(e, w.shape[0], kernel_size=3, padding=1)
            with torch.no_grad():  # output[t] = W0 x[t-1] + W1 x[t] + W2 x[t+1]
                self.conv.weight.copy_(torch.stack([w[:, 2 * e:], w[:, e:2 * e], w[:, :e]], dim=2))
                self.conv.bias.copy_(lin.bias.detach())
            self.word_embeddings = emb.word_embeddings
            self.position_embeddings = emb.position_embeddings
            self.token_type_embeddings = emb.token_type_embeddings
            self.LayerNorm, self.dropout = emb.LayerNorm, emb.dropout
            self.register_buffer("position_ids", emb.position_ids, persistent=False)

        def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
            seq = input_ids.shape[1]
            if position_ids is None:
                position_ids = self.position_ids[:, :seq]
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
            x = x + self.position_embeddings(position_ids) + self.token_type_embeddings(token_type_ids)
            return self.dropout(self.LayerNorm(x))

    return XnnLayerNorm, TanhGelu, Int8Embedding, ConvTrigramEmbeddings


def _is_tanh_gelu(module) -> bool:
    import torch

    if isinstance(module, torch.nn.GELU):
        return module.approximate == "tanh"
    return type(module).__name__ in ("NewGELUActivation", "GELUTanh", "PytorchGELUTanh",
                                     "FastGELUActivation")


def prepare_for_xnnpack(model, quantize: Optional[str] = None) -> dict:
    """Rewrite `model` in place (see the module doc); returns what was replaced."""
    import torch

    XnnLayerNorm, TanhGelu, Int8Embedding, ConvTrigramEmbeddings = _torch_modules()
    counts = {"layer_norm": 0, "tanh_gelu": 0, "int8_embedding": 0, "fp32_embedding": 0,
              "trigram_conv": 0}
    for parent in list(model.modules()):  # first: its tables are then quantized like any other
        for name, child in list(parent.named_children()):
            if getattr(child, "trigram_input", False):
                setattr(parent, name, ConvTrigramEmbeddings(child))
                counts["trigram_conv"] += 1
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.LayerNorm):
                setattr(parent, name, XnnLayerNorm(child))
                counts["layer_norm"] += 1
            elif _is_tanh_gelu(child):
                setattr(parent, name, TanhGelu())
                counts["tanh_gelu"] += 1
            elif quantize == "int8" and isinstance(child, torch.nn.Embedding):
                if child.num_embeddings >= MIN_QUANT_EMBEDDING_ROWS:
                    setattr(parent, name, Int8Embedding(child))
                    counts["int8_embedding"] += 1
                else:
                    counts["fp32_embedding"] += 1
    if quantize == "int8":
        from torchao.quantization.granularity import PerAxis
        from torchao.quantization.quant_api import Int8DynamicActivationIntxWeightConfig, quantize_

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_(model, Int8DynamicActivationIntxWeightConfig(
                weight_dtype=torch.int8, weight_granularity=PerAxis(0)))
        counts["int8_linear"] = sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear))
    return counts


def _xnnpack_friendly_shapes(gm):
    """Edge-graph pass: symbolic view sizes -> one -1; expands to the same shape removed."""
    from executorch.exir.dialects._ops import ops as exir_ops
    from torch.fx.passes.infra.pass_base import PassResult

    changed = False
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        if node.target == exir_ops.edge.aten.expand_copy.default:
            src = node.args[0]
            if tuple(src.meta["val"].shape) == tuple(node.meta["val"].shape):
                node.replace_all_uses_with(src)
                gm.graph.erase_node(node)
                changed = True
        elif node.target == exir_ops.edge.aten.view_copy.default:
            shape = list(node.args[1])
            symbolic = [i for i, d in enumerate(shape) if not isinstance(d, int)]
            if len(symbolic) == 1 and -1 not in shape:
                shape[symbolic[0]] = -1
                node.args = (node.args[0], shape) + tuple(node.args[2:])
                changed = True
    if changed:
        gm.graph.eliminate_dead_code()
        gm.recompile()
    return PassResult(gm, changed)


def program_ops(program) -> dict:
    """{op name: count} of the ops an ExecuTorch program runs outside its delegates, and the
    delegate ids, from the emitted program (what the runtime will execute)."""
    ops: dict = {}
    delegates: dict = {}
    for plan in program.execution_plan:
        names = [op.name for op in plan.operators]
        for chain in plan.chains:
            for ins in chain.instructions:
                args = ins.instr_args
                if hasattr(args, "op_index"):
                    name = names[args.op_index]
                    ops[name] = ops.get(name, 0) + 1
                elif hasattr(args, "delegate_index"):
                    d = plan.delegates[args.delegate_index].id
                    delegates[d] = delegates.get(d, 0) + 1
    return {"outside_delegate": dict(sorted(ops.items())), "delegates": delegates}


def check_delegation(facts: dict, step: str) -> None:
    """ConversionError unless XNNPACK runs everything but GLUE_OPS."""
    hot = sorted(op for op in facts["outside_delegate"] if op not in GLUE_OPS)
    if hot or not facts["delegates"]:
        why = (f"ops left to ExecuTorch's portable kernels: {', '.join(hot)}" if hot
               else "no XNNPACK delegate in the program")
        raise ConversionError(step, f"{why} (only lookups and shape glue may run outside "
                                    "XNNPACK)", op=hot[0] if hot else None)


def convert_pte(model, path: str | Path, max_seq_length: int, quantize: Optional[str],
                step: str, trailing_context: int = 0) -> dict:
    """Rewrite, (quantize,) export, lower to XNNPACK and save `path`; returns report facts.
    The real-length contract (converters/real_length.py) rides along as two constant methods,
    `max_seq_length` and `trailing_context`."""
    import copy

    import torch

    quiet_executorch()
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower
        from executorch.exir.passes import _quant_patterns_and_replacements  # noqa: F401
        from executorch.exir.passes.sym_shape_eval_pass import ConstraintBasedSymShapeEvalPass
    except ImportError as e:
        raise ConversionError(step, f"ExecuTorch is not installed ({e}); `make venv` installs "
                                    "it") from e

    from converters.onnx_export import example_inputs, make_wrapper

    path = Path(path)
    work = copy.deepcopy(model).eval()
    with native_stderr(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            rewrites = prepare_for_xnnpack(work, quantize)
            wrapper = make_wrapper(work, mask_input="int", positions_from_input=False,
                                   tie_unused_inputs=False)
            args = example_inputs(max_seq_length, "int")
            seq = torch.export.Dim("seq", min=MIN_SEQ, max=max_seq_length)
            exported = torch.export.export(wrapper, args, dynamic_shapes=({1: seq},) * 3,
                                           strict=False)
            edge = to_edge_transform_and_lower(
                exported, partitioner=[XnnpackPartitioner()],
                transform_passes=[_xnnpack_friendly_shapes],
                constant_methods={"max_seq_length": int(max_seq_length),
                                  "trailing_context": int(trailing_context)})
            program = edge.to_executorch(ExecutorchBackendConfig(
                extract_delegate_segments=True, do_quant_fusion_and_const_prop=True,
                sym_shape_eval_pass=ConstraintBasedSymShapeEvalPass()))
        except ConversionError:
            raise
        except Exception as e:
            from converters.onnx_export import _op_from_text

            raise ConversionError(step, f"export/lowering failed: {type(e).__name__}: {e}",
                                  op=_op_from_text(str(e))) from e
    facts = program_ops(program.executorch_program)
    check_delegation(facts, step)
    path.write_bytes(program.buffer)
    from importlib.metadata import version

    return {
        "executorch_version": version("executorch"),
        "torch_version": torch.__version__,
        "android_runtime": ANDROID_RUNTIME,
        "sequence_length": [MIN_SEQ, max_seq_length],
        "rewrites": rewrites,
        "ops_outside_delegate": facts["outside_delegate"],
        "delegate_calls": facts["delegates"],
        "quantization": ("dynamic int8 Linear (per-channel weights, activations per token at run "
                         "time) + int8 word/position embeddings (per row)") if quantize else "fp32",
        "trailing_padding": "not fed: the runner and the app run the real length",
    }
