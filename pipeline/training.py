"""What the training loops share: the distillation batch order, and the optimizer parameter
groups teacher fine-tuning uses too."""
from __future__ import annotations

from typing import Optional

import numpy as np


def epoch_batches(n: int, batch_size: int, seed: int, phase: int, epoch: int, world: int = 1,
                  rank: int = 0, lengths: Optional[np.ndarray] = None) -> list[np.ndarray]:
    """This process's index batches for one epoch. The order depends only on (seed, phase,
    epoch); each global batch of `batch_size` is split across the processes.

    With `lengths`, batches group examples of similar length (as HF's group_by_length): the
    shuffled order is cut into mega-batches of 50 batches, each sorted by length, and the batch
    order is shuffled again. Dynamic padding then pads little, which on short-text tasks such as
    SST-2 cuts the compute per epoch several-fold."""
    rng = np.random.default_rng([seed, phase, epoch])
    perm = rng.permutation(n)
    if lengths is not None:
        mega = batch_size * 50
        chunks = [perm[i:i + mega] for i in range(0, n, mega)]
        perm = np.concatenate([c[np.argsort(-lengths[c], kind="stable")] for c in chunks])
    globals_ = [perm[i:i + batch_size] for i in range(0, n, batch_size)]
    if lengths is not None:
        order = rng.permutation(len(globals_))
        globals_ = [globals_[i] for i in order]
    # every process needs at least one example
    return [g[rank::world] for g in globals_ if len(g) >= world]


def steps_per_epoch(n: int, batch_size: int, world: int) -> int:
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= world else 0)


def param_groups(module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for _, p in module.named_parameters():
        (no_decay if p.ndim < 2 else decay).append(p)  # no decay on biases and LayerNorm
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_adamw(groups, lr: float):
    """AdamW, fused when the device supports it: the per-parameter loop of the default AdamW is
    a large share of a small model's step on a CPU (docs/distillation.md has the measurement)."""
    import torch

    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)
