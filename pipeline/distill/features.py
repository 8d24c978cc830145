"""What the losses read from a model: hidden states, pre-softmax attention scores, logits.

transformers returns post-softmax attention maps only with eager attention, and none at all with
SDPA/flash. TinyBERT's attention loss needs the *pre-softmax* scores, so `ScoreCapture` hooks the
query and key projections of the chosen layers and recomputes `Q K^T / sqrt(d)` itself. That is
exact for BERT and MobileBERT (their scores are exactly that product before the mask is added),
works with every attention implementation (teacher and student can run fast SDPA), and costs one
small batched matmul per captured layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import torch
from torch import nn

from pipeline.errors import BertEdgeError


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a forward pass must return. Layers use hidden_states numbering
    (0 = embeddings, 1..N = transformer layers)."""
    hidden: tuple = ()
    scores: tuple = ()
    logits: bool = False

    def union(self, other: "FeatureSpec") -> "FeatureSpec":
        return FeatureSpec(tuple(sorted(set(self.hidden) | set(other.hidden))),
                           tuple(sorted(set(self.scores) | set(other.scores))),
                           self.logits or other.logits)

    def covers(self, other: "FeatureSpec") -> bool:
        return (set(other.hidden) <= set(self.hidden) and set(other.scores) <= set(self.scores)
                and (self.logits or not other.logits))

    @property
    def empty(self) -> bool:
        return not (self.hidden or self.scores or self.logits)


def encoder_layers(model: nn.Module):
    """The transformer blocks: `encoder.layer` (BERT, MobileBERT, ELECTRA) or
    `transformer.layer` (DistilBERT)."""
    base = getattr(model, "base_model", model)
    for holder in ("encoder", "transformer"):
        layers = getattr(getattr(base, holder, None), "layer", None)
        if layers is not None:
            return layers
    raise BertEdgeError(f"{type(model).__name__}: no encoder.layer or transformer.layer list (BERT, "
                        "MobileBERT, ELECTRA and DistilBERT models can be distilled)")


def self_attention(layer: nn.Module) -> tuple:
    """(query Linear, key Linear, heads, head size, score scale) of one block's self-attention:
    BERT-shaped `attention.self.query/key`, or DistilBERT's `attention.q_lin/k_lin`."""
    att = getattr(layer.attention, "self", None)
    if att is not None:
        size = int(att.attention_head_size)
        return (att.query, att.key, int(att.num_attention_heads), size,
                float(getattr(att, "scaling", size ** -0.5)))
    att = layer.attention
    heads = int(att.n_heads)
    size = int(att.dim) // heads
    return att.q_lin, att.k_lin, heads, size, size ** -0.5


def attention_geometry(model: nn.Module) -> tuple[int, int]:
    """(number of heads, head size) of the self-attention in `model`."""
    _, _, heads, size, _ = self_attention(encoder_layers(model)[0])
    return heads, size


def takes_token_types(model: nn.Module) -> bool:
    """DistilBERT's forward has no token_type_ids argument."""
    import inspect

    return "token_type_ids" in inspect.signature(model.forward).parameters


class ScoreCapture:
    """Forward hooks that record Q and K of the chosen layers (1-based); `pop()` returns
    {layer: scores [B, heads, L, L]} for the last forward pass and forgets them."""

    def __init__(self, model: nn.Module, layers):
        self.layers = tuple(sorted(set(layers)))
        self._q: dict[int, torch.Tensor] = {}
        self._k: dict[int, torch.Tensor] = {}
        self._geom: dict[int, tuple[int, int, float]] = {}
        self._handles = []
        mods = encoder_layers(model)
        for layer in self.layers:
            if not 1 <= layer <= len(mods):
                raise BertEdgeError(f"attention scores of layer {layer} requested, model has {len(mods)} layers")
            query, key, heads, size, scale = self_attention(mods[layer - 1])
            self._geom[layer] = (heads, size, scale)
            self._handles.append(query.register_forward_hook(partial(self._store, self._q, layer)))
            self._handles.append(key.register_forward_hook(partial(self._store, self._k, layer)))

    @staticmethod
    def _store(bucket, layer, module, inputs, output):
        bucket[layer] = output

    def pop(self) -> dict[int, torch.Tensor]:
        out = {}
        for layer in self.layers:
            if layer not in self._q:
                continue
            q, k = self._q.pop(layer), self._k.pop(layer)
            heads, size, scale = self._geom[layer]
            b, n, _ = q.shape
            q = q.view(b, n, heads, size).transpose(1, 2)
            k = k.view(b, k.shape[1], heads, size).transpose(1, 2)
            out[layer] = torch.matmul(q, k.transpose(-1, -2)) * scale
        return out

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class FeatureModel(nn.Module):
    """A Hugging Face BERT/MobileBERT model plus the learned width projections that feed the
    losses; `forward` returns {'logits', 'hidden': {layer: [B, L, H_teacher]}, 'scores': {...}}.

    Projections live inside this module so that DistributedDataParallel synchronizes their
    gradients with the student's.
    """

    def __init__(self, model: nn.Module, spec: FeatureSpec, projections: Optional[nn.ModuleDict] = None,
                 projection_of: Optional[dict] = None):
        super().__init__()
        self.model = model
        self.spec = spec
        self.projections = projections if projections is not None else nn.ModuleDict()
        self.projection_of = dict(projection_of or {})  # hidden layer -> key in projections
        self.capture = ScoreCapture(model, spec.scores) if spec.scores else None
        self.token_types = takes_token_types(model)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> dict:
        types = {"token_type_ids": token_type_ids} if self.token_types else {}
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         output_hidden_states=bool(self.spec.hidden), **types)
        hidden = {}
        for layer in self.spec.hidden:
            h = out.hidden_states[layer]
            key = self.projection_of.get(layer)
            hidden[layer] = self.projections[key](h) if key is not None else h
        scores = self.capture.pop() if self.capture is not None else {}
        logits = getattr(out, "logits", None) if self.spec.logits else None
        return {"logits": logits, "hidden": hidden, "scores": scores}

    def close(self) -> None:
        if self.capture is not None:
            self.capture.remove()
            self.capture = None
