"""A phase's training objective: weighted sum of named losses over mapped layers.

A *method* is only a set of default weights per phase kind; any phase may set its own
`loss_weights`, so e.g. TinyBERT's intermediate losses plus DistilBERT's cosine loss is one line
of config. Loss names:

| name      | what                                                            | from       |
|-----------|-----------------------------------------------------------------|------------|
| `emb`     | MSE between embedding outputs (student projected to teacher width) | TinyBERT |
| `hidden`  | MSE between mapped layer outputs, summed over layers             | TinyBERT   |
| `attn`    | MSE between mapped pre-softmax attention scores, summed          | TinyBERT   |
| `soft_ce` | soft cross-entropy on logits at temperature T                    | TinyBERT   |
| `kl`      | KL on softened logits times T^2                                  | DistilBERT |
| `ce`      | cross-entropy on gold labels (the task loss)                     | DistilBERT |
| `cos`     | 1 - cosine between last-layer hidden states                      | DistilBERT |
| `fmt`     | MSE between layer-normalized feature maps, summed over layers    | MobileBERT |
| `at`      | KL between mapped attention distributions, summed over layers    | MobileBERT |
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Optional

import torch

from pipeline.distill import losses as L
from pipeline.distill.features import FeatureSpec
from pipeline.distill.layer_map import align_heads, layer_pairs
from pipeline.errors import BertEdgeError

LOSS_NAMES = ("emb", "hidden", "attn", "soft_ce", "kl", "ce", "cos", "fmt", "at")
TEACHER_FREE = {"ce"}  # losses that need no teacher
LABELED = {"ce"}  # losses that need gold labels
METHODS = ("tinybert", "distilbert", "mobilebert", "labels-only")

# method -> phase kind -> default weights
DEFAULT_WEIGHTS = {
    "tinybert": {"intermediate": {"emb": 1.0, "hidden": 1.0, "attn": 1.0},
                 "prediction": {"soft_ce": 1.0}},
    # DistilBERT's 5:2:1 (distillation : MLM : cosine), with the task loss in the MLM slot.
    "distilbert": {"intermediate": {"cos": 1.0},
                   "prediction": {"kl": 5.0, "ce": 2.0, "cos": 1.0}},
    # MobileBERT: layer-wise feature-map + attention transfer, then a 1:1 KD / ground-truth mix.
    "mobilebert": {"intermediate": {"fmt": 1.0, "at": 1.0},
                   "prediction": {"kl": 0.5, "ce": 0.5}},
    "labels-only": {"prediction": {"ce": 1.0}},
}


def check_method(method: str) -> str:
    if method not in METHODS:
        close = difflib.get_close_matches(method, METHODS, n=1, cutoff=0.4)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise BertEdgeError(f"distill.method '{method}' is unknown{hint}; methods: {', '.join(METHODS)}")
    return method


def phase_weights(method: str, kind: str, user: dict, where: str) -> dict:
    """The phase's loss weights: the method's defaults for `kind`, replaced by `user` if given."""
    if user:
        out = {}
        for k, v in user.items():
            if k not in LOSS_NAMES:
                close = difflib.get_close_matches(str(k), LOSS_NAMES, n=1, cutoff=0.4)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise BertEdgeError(f"{where}: unknown loss '{k}'{hint}; losses: {', '.join(LOSS_NAMES)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise BertEdgeError(f"{where}.{k}: weight must be a number >= 0, got {v!r}")
            out[k] = float(v)
    else:
        out = dict(DEFAULT_WEIGHTS[method].get(kind, {}))
    out = {k: v for k, v in out.items() if v > 0}
    if not out:
        raise BertEdgeError(f"{where}: every loss weight is 0; nothing to train")
    return out


@dataclass
class Objective:
    weights: dict
    layer_map: list  # student layer i+1 -> teacher layer (or None)
    student_layers: int
    temperature: float = 1.0
    head_align: Optional[str] = "same"  # see layer_map.head_alignment; None = skip attention losses

    def __post_init__(self):
        self.pairs = layer_pairs(self.layer_map)
        if self.head_align is None:
            self.weights = {k: v for k, v in self.weights.items() if k not in ("attn", "at")}
            if not self.weights:
                raise BertEdgeError("only attention losses were configured and they are skipped "
                                    "(head counts differ, distill.head_mismatch=skip)")
        self.last_pair = (self.student_layers, self._teacher_of(self.student_layers))

    def _teacher_of(self, s_layer: int) -> int:
        t = self.layer_map[s_layer - 1] if s_layer >= 1 else 0
        if t is None:  # cos on an unmapped last layer: use the teacher's last mapped layer
            mapped = [t for _, t in self.pairs]
            t = mapped[-1]
        return t

    @property
    def needs_teacher(self) -> bool:
        return any(k not in TEACHER_FREE for k in self.weights)

    @property
    def needs_labels(self) -> bool:
        return any(k in LABELED for k in self.weights)

    def _active_pairs(self, layers=None):
        return [p for p in self.pairs if layers is None or p[0] in layers]

    def _emb_active(self, layers) -> bool:  # progressive: the embeddings train with the first layer
        return layers is None or (bool(self.pairs) and self.pairs[0][0] in layers)

    def _cos_active(self, layers) -> bool:
        return layers is None or self.last_pair[0] in layers

    def specs(self, layers=None) -> tuple[FeatureSpec, FeatureSpec]:
        """(student spec, teacher spec): the features this objective reads."""
        w = self.weights
        s_hidden, t_hidden, s_scores, t_scores = set(), set(), set(), set()
        pairs = self._active_pairs(layers)
        if "emb" in w and self._emb_active(layers):
            s_hidden.add(0), t_hidden.add(0)
        if "hidden" in w or "fmt" in w:
            for s, t in pairs:
                s_hidden.add(s), t_hidden.add(t)
        if "cos" in w and self._cos_active(layers):
            s, t = self.last_pair
            s_hidden.add(s), t_hidden.add(t)
        if "attn" in w or "at" in w:
            for s, t in pairs:
                s_scores.add(s), t_scores.add(t)
        s_logits = any(k in w for k in ("soft_ce", "kl", "ce"))
        t_logits = any(k in w for k in ("soft_ce", "kl"))
        return (FeatureSpec(tuple(sorted(s_hidden)), tuple(sorted(s_scores)), s_logits),
                FeatureSpec(tuple(sorted(t_hidden)), tuple(sorted(t_scores)), t_logits))

    def __call__(self, s: dict, t: Optional[dict], mask: torch.Tensor,
                 labels: Optional[torch.Tensor] = None, layers=None) -> tuple[torch.Tensor, dict]:
        """Total loss and its named (weighted-before) components. `layers` restricts the layer
        losses to those student layers (progressive training)."""
        w = self.weights
        parts: dict[str, torch.Tensor] = {}
        pairs = self._active_pairs(layers)
        align = (lambda a, b: align_heads(a, b, self.head_align)) if self.head_align else None
        if "emb" in w and 0 in s["hidden"] and self._emb_active(layers):
            parts["emb"] = L.hidden_mse(s["hidden"][0], t["hidden"][0], mask)
        if "hidden" in w and pairs:
            parts["hidden"] = sum(L.hidden_mse(s["hidden"][a], t["hidden"][b], mask) for a, b in pairs)
        if "fmt" in w and pairs:
            parts["fmt"] = sum(L.feature_map_mse(s["hidden"][a], t["hidden"][b], mask) for a, b in pairs)
        if "attn" in w and pairs:
            parts["attn"] = sum(L.attention_score_mse(*align(s["scores"][a], t["scores"][b]), mask)
                                for a, b in pairs)
        if "at" in w and pairs:
            parts["at"] = sum(L.attention_kl(s["scores"][a], t["scores"][b], mask, align=align)
                              for a, b in pairs)
        if "cos" in w and self._cos_active(layers):
            a, b = self.last_pair
            if a in s["hidden"]:
                parts["cos"] = L.cosine_hidden(s["hidden"][a], t["hidden"][b], mask)
        if "soft_ce" in w:
            parts["soft_ce"] = L.soft_cross_entropy(s["logits"], t["logits"], self.temperature)
        if "kl" in w:
            parts["kl"] = L.kl_div_logits(s["logits"], t["logits"], self.temperature)
        if "ce" in w:
            parts["ce"] = L.hard_cross_entropy(s["logits"], labels)
        if not parts:
            raise RuntimeError("objective produced no loss term")
        total = sum(w[k] * v for k, v in parts.items())
        return total, parts
