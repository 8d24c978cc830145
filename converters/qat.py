"""Quantization-aware fine-tuning of a BERT student for the full-int8 TFLite artifact.

The weights are fine-tuned against the float student's own logits (self-distillation: only
unlabeled task text is needed) while PyTorch simulates every quantization point the full-int8
file will have (fake quantization, straight-through gradients):

- FULLY_CONNECTED weights: per-channel symmetric int8, as the converter writes them;
- every activation the calibrator measures: per-tensor int8 over the min/max seen on the same
  calibration samples the converter uses (padded to L), measured again every
  `recalibrate_every` steps as the weights move; Q/K/V symmetric (`_FastCalibrator.symmetric_matmul`);
- the fixed output scales of TFLite's int8 kernels: SOFTMAX 1/256 (zero point -128),
  L2_NORMALIZATION and TANH 1/128;
- LayerNorm in the L2 form of `int8_graph.py`, its gamma*sqrt(H) and beta as the int8 constants
  TFLite stores, and the attention-mask bias `FULL_INT8_MASK_VALUE`;
- with `cls_split`, the [CLS] row's own ranges (the graph of `cls_split.py`).

Only the weights are learned; the converter then calibrates the fine-tuned model as it would
any other, so the simulation must stay faithful to the graph: on the SST-2 student it predicts
the real file's argmax agreement within a fraction of a point (docs/int8-numerics.md).
Embedding tables stay frozen (their gathers are exact lookups of int8 tables).
"""
from __future__ import annotations

import copy
import math
import time
from typing import Optional, Sequence

import numpy as np

from converters.common import INPUT_NAMES

SUPPORTED_MODEL_TYPES = ("bert",)  # modules below mirror BERT's; others convert without QAT
ATTENTION_NAME = "bert_edge_int8_qat"
QAT_SEED = 20261202


def _nn():
    import torch
    from torch import nn

    return torch, nn


def _fake_quant_module():
    torch, nn = _nn()

    class FakeQuant(nn.Module):
        """One per-tensor int8 quantization point. kind: 'minmax' (asymmetric, calibrated),
        'symmetric' (calibrated, zero point 0), 'softmax' (1/256, zp -128), 'unit' (1/128, zp 0).
        split: the [CLS] row (row 0 of the sequence axis: 1 for [B, L, H], 2 for attention's
        [B, heads, L, .]) is its own tensor with its own range, as in cls_split.py's graph."""

        def __init__(self, kind: str = "minmax"):
            super().__init__()
            self.kind = kind
            self.observing = False
            self.split = False
            for part in ("", "_cls"):
                self.register_buffer("lo" + part, torch.tensor(0.0))
                self.register_buffer("hi" + part, torch.tensor(0.0))
                self.register_buffer("seen" + part, torch.tensor(False))

        def forward(self, x):
            if self.split and x.dim() in (3, 4) and x.shape[x.dim() - 2] > 1:
                axis = x.dim() - 2
                return torch.cat([self._quantize(x.narrow(axis, 0, 1), "_cls"),
                                  self._quantize(x.narrow(axis, 1, x.shape[axis] - 1), "")], axis)
            return self._quantize(x, "")

        def _quantize(self, x, part: str):
            if self.kind == "softmax":
                return torch.fake_quantize_per_tensor_affine(x, 1.0 / 256, -128, -128, 127)
            if self.kind == "unit":
                return torch.fake_quantize_per_tensor_affine(x, 1.0 / 128, 0, -128, 127)
            lo_b, hi_b, seen = (getattr(self, n + part) for n in ("lo", "hi", "seen"))
            if self.observing:
                lo, hi = x.detach().min(), x.detach().max()
                if not bool(seen):
                    lo_b.copy_(lo)
                    hi_b.copy_(hi)
                    seen.fill_(True)
                else:
                    lo_b.copy_(torch.minimum(lo_b, lo))
                    hi_b.copy_(torch.maximum(hi_b, hi))
                return x
            lo, hi = min(float(lo_b), 0.0), max(float(hi_b), 0.0)  # TFLite ranges hold 0
            if self.kind == "symmetric":
                bound = max(-lo, hi, 1e-8)
                return torch.fake_quantize_per_tensor_affine(x, bound / 127, 0, -128, 127)
            return _asymmetric(x, lo, hi)

    return FakeQuant


def _per_channel_weight(w):
    torch, _ = _nn()
    scale = w.detach().abs().amax(dim=1).clamp(min=1e-8) / 127
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


def _asymmetric(x, lo: float, hi: float):
    """Per-tensor int8 over [lo, hi] (which holds 0), zero point as TFLite computes it."""
    torch, _ = _nn()
    scale = max(hi - lo, 1e-8) / 255
    zero = int(max(-128, min(127, round(-128 - lo / scale))))
    return torch.fake_quantize_per_tensor_affine(x, scale, zero, -128, 127)


def _constant(c):
    """A constant operand of MUL/ADD as TFLite stores it: per-tensor int8 over [min, max] incl. 0."""
    return _asymmetric(c, min(float(c.detach().min()), 0.0), max(float(c.detach().max()), 0.0))


def _wrappers():
    torch, nn = _nn()
    F = torch.nn.functional
    FakeQuant = _fake_quant_module()

    class QLinear(nn.Module):
        def __init__(self, inner, out_kind: str):
            super().__init__()
            self.inner, self.out = inner, FakeQuant(out_kind)

        def forward(self, x):
            return self.out(F.linear(x, _per_channel_weight(self.inner.weight), self.inner.bias))

    class QLayerNorm(nn.Module):
        """x - mean, L2_NORMALIZATION (fixed 1/128 output), * gamma*sqrt(H), + beta: the
        int8_graph.py form, with each of its int8 tensors."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.x, self.mean, self.dev, self.unit = (FakeQuant(), FakeQuant(), FakeQuant(),
                                                      FakeQuant("unit"))
            self.scaled, self.out = FakeQuant(), FakeQuant()

        def forward(self, x):
            x = self.x(x)
            d = self.dev(x - self.mean(x.mean(-1, keepdim=True)))
            u = self.unit(d / d.norm(dim=-1, keepdim=True).clamp(min=1e-12))
            s = self.scaled(u * _constant(self.inner.weight * math.sqrt(x.shape[-1])))
            return self.out(s + _constant(self.inner.bias))

    class QActivation(nn.Module):
        def __init__(self, inner, kind: str):
            super().__init__()
            self.inner, self.out = inner, FakeQuant(kind)

        def forward(self, x):
            return self.out(self.inner(x))

    class AttentionPoints(nn.Module):
        def __init__(self):
            super().__init__()
            self.scores, self.scaled, self.biased = FakeQuant(), FakeQuant(), FakeQuant()
            self.probs, self.context = FakeQuant("softmax"), FakeQuant()

    return FakeQuant, QLinear, QLayerNorm, QActivation, AttentionPoints


def _attention(mask_value: float):
    torch, _ = _nn()

    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_):
        q = module.int8_points
        scaling = query.size(-1) ** -0.5 if scaling is None else scaling
        s = q.scaled(q.scores(torch.matmul(query, key.transpose(2, 3))) * scaling)
        if attention_mask is not None:  # eager mask: 0 / dtype-min, clamped as the graph's bias
            s = s + attention_mask.clamp(min=mask_value)
        p = q.probs(torch.softmax(q.biased(s), dim=-1))
        out = q.context(torch.matmul(p, value))
        return out.transpose(1, 2).contiguous(), p

    return attention


class Simulated:
    """The student with its int8 points in place; `restore()` gives back the plain model."""

    def __init__(self, model, mask_value: float, cls_split: bool = False):
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        torch, nn = _nn()
        FakeQuant, QLinear, QLayerNorm, QActivation, AttentionPoints = _wrappers()
        ALL_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, _attention(mask_value))
        ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, eager_mask)  # additive 4-D mask
        self.model = model
        self.configs = {id(m.config): (m.config, m.config._attn_implementation)
                        for m in model.modules() if hasattr(m, "config")}
        for cfg, _ in self.configs.values():
            cfg._attn_implementation = ATTENTION_NAME
        self.wrapped = []  # (parent, name, original child)
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                new = None
                if isinstance(child, nn.Linear):
                    new = QLinear(child, "symmetric" if name in ("query", "key", "value") else "minmax")
                elif isinstance(child, nn.LayerNorm):
                    new = QLayerNorm(child)
                elif name == "intermediate_act_fn":
                    new = QActivation(child, "minmax")  # int8 GELU lookup table output
                elif isinstance(child, nn.Tanh):
                    new = QActivation(child, "unit")  # int8 TANH: fixed 1/128 output
                if new is not None:
                    setattr(parent, name, new)
                    self.wrapped.append((parent, name, child))
            if hasattr(parent, "query") and hasattr(parent, "attention_head_size"):
                parent.int8_points = AttentionPoints()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        for name, p in model.named_parameters():
            p.requires_grad_("embeddings" not in name)
        self.points = [m for m in model.modules() if isinstance(m, FakeQuant)]
        if cls_split:
            # Every per-token tensor but those cls_split.py's graph keeps whole: keys and values
            # (concatenated for attention) and the embedding sum (sliced, keeping its scale).
            whole = {id(m) for n, m in model.named_modules()
                     if n.endswith(("key.out", "value.out", "embeddings.LayerNorm.x"))}
            for p in self.points:
                p.split = id(p) not in whole

    def calibrate(self, batches) -> None:
        """Ranges as the converter's calibrator measures them: min/max over the batches."""
        torch, _ = _nn()
        for p in self.points:
            p.observing = True
            p.seen.fill_(False)
            p.seen_cls.fill_(False)
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            for b in batches:
                self.model(**b)
        self.model.train(was)
        for p in self.points:
            p.observing = False

    def restore(self):
        for parent, name, child in self.wrapped:
            setattr(parent, name, child)
        for m in self.model.modules():
            if hasattr(m, "int8_points"):
                del m.int8_points
        for cfg, impl in self.configs.values():
            cfg._attn_implementation = impl
        for p in self.model.parameters():
            p.requires_grad_(False)
        return self.model.eval()


def finetune(model, tokenizer, texts: Sequence[str], calibration: Sequence[dict], steps: int,
             mask_value: float, learning_rate: float = 1e-5, batch_size: int = 32,
             max_length: int = 64, recalibrate_every: int = 100, probe_texts: int = 256,
             threads: Optional[int] = None, progress: bool = False,
             cls_split: bool = False) -> tuple:
    """A fine-tuned copy of `model` for full-int8 conversion, and facts for the report.

    texts: unlabeled task texts to train on; calibration: the converter's calibration samples
    (dicts of int arrays [1, L]); cls_split: the file is converted from cls_split.py's graph.
    The report's `simulated_*` figures compare the simulated int8
    model with the float student on `probe_texts` texts at their real length, before and after.
    """
    torch, _ = _nn()
    F = torch.nn.functional
    from tqdm.auto import tqdm

    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    saved_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    t_start = time.perf_counter()
    try:
        torch.manual_seed(QAT_SEED)
        rng = np.random.default_rng(QAT_SEED)
        teacher = model.eval()
        sim = Simulated(copy.deepcopy(model), mask_value, cls_split)
        calib = [{k: torch.as_tensor(np.concatenate([s[k] for s in calibration[i:i + 20]]),
                                     dtype=torch.long) for k in INPUT_NAMES}
                 for i in range(0, len(calibration), 20)]
        probe = [texts[i] for i in rng.permutation(len(texts))[:probe_texts]]

        def agreement() -> dict:
            sim.model.eval()
            diffs, agree = [], []
            with torch.no_grad():
                for t in probe:
                    enc = tokenizer(t, truncation=True, max_length=max_length * 2, return_tensors="pt")
                    a, b = teacher(**enc).logits, sim.model(**enc).logits
                    diffs.append(float((a - b).abs().mean()))
                    agree.append(bool(a.argmax(-1) == b.argmax(-1)))
            sim.model.train()
            return {"argmax_agreement": float(np.mean(agree)), "mean_abs_diff": float(np.mean(diffs))}

        sim.calibrate(calib)
        before = agreement()
        params = [p for p in sim.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
        warmup = max(1, steps // 30)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps))
        order, pos, losses = rng.permutation(len(texts)), 0, []
        sim.model.train()
        bar = tqdm(range(steps), desc="tflite_int8_full: QAT", disable=not progress, leave=False,
                   unit="step")
        for step in bar:
            if step and step % recalibrate_every == 0:
                sim.calibrate(calib)
            if pos + batch_size > len(order):
                order, pos = rng.permutation(len(texts)), 0
            batch = [texts[i] for i in order[pos:pos + batch_size]]
            pos += batch_size
            enc = tokenizer(batch, padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            with torch.no_grad():
                target = teacher(**enc).logits
            out = sim.model(**enc).logits
            loss = (F.kl_div(F.log_softmax(out, -1), F.log_softmax(target, -1), log_target=True,
                             reduction="batchmean") + F.mse_loss(out, target))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-10:]):.4f}")
        bar.close()
        sim.calibrate(calib)
        after = agreement()
        tuned = sim.restore()
    finally:
        torch.set_num_threads(saved_threads)
    head = losses[:max(1, len(losses) // 10)]
    tail = losses[-max(1, len(losses) // 10):]
    return tuned, {
        "steps": steps, "learning_rate": learning_rate, "batch_size": batch_size,
        "max_length": max_length, "train_texts": len(texts), "recalibrate_every": recalibrate_every,
        "loss_first_tenth": float(np.mean(head)) if losses else None,
        "loss_last_tenth": float(np.mean(tail)) if losses else None,
        "probe_texts": len(probe), "simulated_before": before, "simulated_after": after,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
