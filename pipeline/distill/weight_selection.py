"""Start a narrower, shallower BERT student as a slice of its BERT teacher ("weight selection").

TinyBERT starts its students from random weights and relies on general distillation over a
Wikipedia-sized corpus to teach them language. Without that corpus (or that compute) a random
4-layer student never catches up on a small task set. Selecting a subset of the teacher's
weights instead gives the student a working language model on step 0: it keeps the teacher
layers that the uniform layer map pairs with the student's, the most important hidden units (by
LayerNorm gain), the most important dimensions of every attention head (by their query/key and
value/output weight norms) and the most important FFN neurons (by in x out weight norms).
Distillation then repairs what the slicing lost. See docs/distillation.md, "Initialization".
"""
from __future__ import annotations

import math
from typing import Optional

from pipeline.errors import BertEdgeError


def spread_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """0-based teacher layers to copy: the ones the uniform layer map makes each student layer
    imitate, so a sliced student starts where its intermediate losses want it (the last layer
    always kept: MiniLM's [CLS] only becomes sentence-specific there). 4 of 6 -> [1, 2, 4, 5]."""
    from pipeline.distill.layer_map import uniform_layer_map

    return [l - 1 for l in uniform_layer_map(student_layers, teacher_layers)]


def incompatibility(student_config, teacher_config) -> Optional[str]:
    """Why the student cannot be sliced from the teacher, or None when it can."""
    s, t = student_config, teacher_config
    if s.model_type != "bert" or t.model_type != "bert":
        return f"{s.model_type} student from a {t.model_type} teacher"
    if s.vocab_size != t.vocab_size:
        return "vocabulary sizes differ"
    checks = [("hidden_size", "wider"), ("intermediate_size", "wider FFN"),
              ("num_hidden_layers", "deeper"), ("num_attention_heads", "more heads")]
    for key, what in checks:
        if getattr(s, key) > getattr(t, key):
            return f"student is {what} than the teacher ({key} {getattr(s, key)} > {getattr(t, key)})"
    if s.hidden_size // s.num_attention_heads > t.hidden_size // t.num_attention_heads:
        return "student attention heads are wider than the teacher's"
    return None


def _top(scores, k: int):
    """Indices of the k largest scores, in their original order."""
    import torch

    return torch.sort(torch.topk(scores, k).indices).values


def select_from_teacher(student, teacher, layers: Optional[list[int]] = None) -> str:
    """Overwrite `student`'s embeddings, encoder, pooler (and classifier when label counts
    match) with a selection of `teacher`'s weights. Returns a one-line description."""
    import torch

    sc, tc = student.config, teacher.config
    why = incompatibility(sc, tc)
    if why:
        raise BertEdgeError(f"student.init_encoder=teacher: cannot slice the teacher ({why})")
    if layers is None:
        layers = spread_layers(tc.num_hidden_layers, sc.num_hidden_layers)
    tb, sb = teacher.base_model, student.base_model
    t_layers = tb.encoder.layer
    th, sh = tc.hidden_size, sc.hidden_size
    t_heads, s_heads = tc.num_attention_heads, sc.num_attention_heads
    t_hd, s_hd = th // t_heads, sh // s_heads

    with torch.no_grad():
        # hidden units: the residual stream's dims, ranked by their total LayerNorm gain
        gain = tb.embeddings.LayerNorm.weight.detach().abs().float().clone()
        for layer in t_layers:
            gain += layer.attention.output.LayerNorm.weight.detach().abs().float()
            gain += layer.output.LayerNorm.weight.detach().abs().float()
        hid = _top(gain, sh)

        def copy(dst, src):
            dst.copy_(src.to(dst.dtype))

        te, se = tb.embeddings, sb.embeddings
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            t, s = getattr(te, name), getattr(se, name)
            rows = min(t.weight.shape[0], s.weight.shape[0])
            copy(s.weight[:rows], t.weight[:rows][:, hid])
        copy(se.LayerNorm.weight, te.LayerNorm.weight[hid])
        copy(se.LayerNorm.bias, te.LayerNorm.bias[hid])

        # heads kept: evenly spread when the student has fewer
        head_ids = [round(i * (t_heads - 1) / max(1, s_heads - 1)) for i in range(s_heads)] \
            if s_heads < t_heads else list(range(t_heads))
        for si, ti in enumerate(layers):
            tl, sl = t_layers[ti], sb.encoder.layer[si]
            ta, sa = tl.attention.self, sl.attention.self
            qk_rows, vo_rows = [], []
            for h in head_ids:
                base = h * t_hd
                rows = torch.arange(base, base + t_hd)
                qk = (ta.query.weight[rows][:, hid].norm(dim=1) * ta.key.weight[rows][:, hid].norm(dim=1))
                vo = (ta.value.weight[rows][:, hid].norm(dim=1)
                      * tl.attention.output.dense.weight[hid][:, rows].norm(dim=0))
                qk_rows.append(rows[_top(qk, s_hd)])
                vo_rows.append(rows[_top(vo, s_hd)])
            qk_rows, vo_rows = torch.cat(qk_rows), torch.cat(vo_rows)
            # fewer dims per head shrink q.k; scale q so the scores keep the teacher's temperature
            q_scale = math.sqrt(s_hd / t_hd)
            copy(sa.query.weight, ta.query.weight[qk_rows][:, hid] * q_scale)
            copy(sa.query.bias, ta.query.bias[qk_rows] * q_scale)
            copy(sa.key.weight, ta.key.weight[qk_rows][:, hid])
            copy(sa.key.bias, ta.key.bias[qk_rows])
            copy(sa.value.weight, ta.value.weight[vo_rows][:, hid])
            copy(sa.value.bias, ta.value.bias[vo_rows])
            to, so = tl.attention.output, sl.attention.output
            copy(so.dense.weight, to.dense.weight[hid][:, vo_rows])
            copy(so.dense.bias, to.dense.bias[hid])
            copy(so.LayerNorm.weight, to.LayerNorm.weight[hid])
            copy(so.LayerNorm.bias, to.LayerNorm.bias[hid])
            ti_w, to_w = tl.intermediate.dense.weight, tl.output.dense.weight
            score = ti_w[:, hid].norm(dim=1) * to_w[hid].norm(dim=0)
            neurons = _top(score, sc.intermediate_size)
            copy(sl.intermediate.dense.weight, ti_w[neurons][:, hid])
            copy(sl.intermediate.dense.bias, tl.intermediate.dense.bias[neurons])
            copy(sl.output.dense.weight, to_w[hid][:, neurons])
            copy(sl.output.dense.bias, tl.output.dense.bias[hid])
            copy(sl.output.LayerNorm.weight, tl.output.LayerNorm.weight[hid])
            copy(sl.output.LayerNorm.bias, tl.output.LayerNorm.bias[hid])

        what = "embeddings, layers, pooler"
        tp, sp = getattr(tb, "pooler", None), getattr(sb, "pooler", None)
        if tp is not None and sp is not None:
            copy(sp.dense.weight, tp.dense.weight[hid][:, hid])
            copy(sp.dense.bias, tp.dense.bias[hid])
        t_cls, s_cls = getattr(teacher, "classifier", None), getattr(student, "classifier", None)
        if (isinstance(t_cls, torch.nn.Linear) and isinstance(s_cls, torch.nn.Linear)
                and t_cls.out_features == s_cls.out_features):
            copy(s_cls.weight, t_cls.weight[:, hid])
            copy(s_cls.bias, t_cls.bias)
            what += ", classifier"
    ffn = f", FFN {tc.intermediate_size}->{sc.intermediate_size}" if sc.intermediate_size < tc.intermediate_size else ""
    return (f"sliced from the teacher ({what}; teacher layers {layers}, hidden {th}->{sh}, "
            f"head dim {t_hd}->{s_hd}{ffn})")
