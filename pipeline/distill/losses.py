"""Distillation losses as plain functions of tensors (each unit-tested against hand-computed values).

Shapes: hidden states [B, L, H]; attention scores [B, heads, L, L] (pre-softmax, no mask added);
logits [B, C]; `mask` is the attention mask [B, L] (1 = real token, 0 = padding).

Token-level losses average over real tokens only, and attention losses over (query, key) pairs
where both are real tokens, so the value of a loss does not depend on how much padding a batch
has (that is also what makes the teacher cache exact: it stores only the real positions).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_LABEL = -100  # labels of augmented examples: no hard-label loss on them


def _token_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.to(like.dtype).unsqueeze(-1)  # [B, L, 1]


def hidden_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """TinyBERT embedding/hidden loss: MSE over real tokens and hidden units (student already
    projected to the teacher's width)."""
    m = _token_mask(mask, student)
    sq = (student.float() - teacher.float()) ** 2 * m
    return sq.sum() / (m.sum() * student.shape[-1]).clamp_min(1.0)


def _pair_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    m = mask.to(like.dtype)
    return (m[:, None, :, None] * m[:, None, None, :])  # [B, 1, L, L]


def attention_score_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """TinyBERT attention loss: MSE between pre-softmax scores, averaged over heads and the
    (query, key) pairs where both tokens are real (padded positions never count)."""
    pm = _pair_mask(mask, student)
    sq = (student.float() - teacher.float()) ** 2 * pm
    return sq.sum() / (pm.sum() * student.shape[1]).clamp_min(1.0)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention distributions from raw scores, padded keys excluded (as the model does it)."""
    scores = scores.float()
    bias = (1.0 - mask.to(scores.dtype))[:, None, None, :] * torch.finfo(scores.dtype).min
    return torch.softmax(scores + bias, dim=-1)


def attention_kl(student_scores: torch.Tensor, teacher_scores: torch.Tensor, mask: torch.Tensor,
                 align=None) -> torch.Tensor:
    """MobileBERT attention transfer: KL(teacher || student) between attention distributions
    (over real keys), averaged over heads and real query positions. `align(s, t)` may average
    head groups of the distributions when head counts differ."""
    ps = masked_softmax(student_scores, mask)
    pt = masked_softmax(teacher_scores, mask)
    if align is not None:
        ps, pt = align(ps, pt)
    kmask = mask.to(ps.dtype)[:, None, None, :]
    log_ps = torch.log(ps.clamp_min(1e-12))
    log_pt = torch.log(pt.clamp_min(1e-12))
    kl = (pt * (log_pt - log_ps) * kmask).sum(-1)  # [B, h, Lq]
    qmask = mask.to(kl.dtype)[:, None, :]
    return (kl * qmask).sum() / (qmask.sum() * kl.shape[1]).clamp_min(1.0)


def layer_normalize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Zero mean, unit variance over the hidden units (LayerNorm without parameters)."""
    x = x.float()
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps)


def feature_map_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MobileBERT feature-map transfer: MSE between layer-normalized feature maps (real tokens)."""
    return hidden_mse(layer_normalize(student), layer_normalize(teacher), mask)


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                       temperature: float = 1.0) -> torch.Tensor:
    """TinyBERT prediction loss: -sum_c softmax(t/T)_c * log_softmax(s/T)_c, mean over the batch.
    (The reference code also divides by the number of classes; we do not.)"""
    t = torch.softmax(teacher_logits.float() / temperature, dim=-1)
    return -(t * torch.log_softmax(student_logits.float() / temperature, dim=-1)).sum(-1).mean()


def kl_div_logits(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  temperature: float = 1.0) -> torch.Tensor:
    """DistilBERT distillation loss: KL(softmax(t/T) || softmax(s/T)) * T^2, mean over the batch
    (T^2 keeps gradient magnitudes comparable across temperatures, Hinton et al. 2015)."""
    log_ps = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    log_pt = torch.log_softmax(teacher_logits.float() / temperature, dim=-1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()
    return kl * temperature ** 2


def hard_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Task loss on gold labels; examples labelled IGNORE_LABEL (augmented ones) do not count.
    A batch without any gold label gives 0 (not NaN)."""
    valid = labels != IGNORE_LABEL
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float()[valid], labels[valid])


def cosine_hidden(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """DistilBERT cosine loss: mean over real tokens of 1 - cos(student_t, teacher_t)."""
    cos = F.cosine_similarity(student.float(), teacher.float(), dim=-1, eps=1e-8)  # [B, L]
    m = mask.to(cos.dtype)
    return ((1.0 - cos) * m).sum() / m.sum().clamp_min(1.0)
