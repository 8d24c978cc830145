"""Processes and devices: one CPU, one GPU, or several processes (`accelerate launch`, `torchrun`).

A thin layer over accelerate: it reads the launcher's environment (RANK/WORLD_SIZE/...), picks the
device and backend (NCCL on GPUs, gloo on CPUs), wraps the student in DistributedDataParallel,
and handles mixed precision. Everything else (data sharding, checkpoints, caches) is ours so that
the same run gives the same result however it is launched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Runtime:
    accelerator: Any
    rank: int
    world: int
    device: Any

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def say(self, msg: str) -> None:
        """Print a progress line once (from process 0), not once per process."""
        if self.is_main:
            print(msg, flush=True)

    def barrier(self) -> None:
        if self.world > 1:
            self.accelerator.wait_for_everyone()

    def gather_objects(self, obj) -> list:
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj):
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def mean(self, values: dict) -> dict:
        """Average a dict of floats over processes (for logging)."""
        if self.world == 1 or not values:
            return values
        import torch

        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        t = self.accelerator.reduce(t, reduction="mean")
        return {k: float(v) for k, v in zip(keys, t.tolist())}


def make_runtime(mixed_precision: str = "no") -> Runtime:
    import torch
    from accelerate import Accelerator, DistributedDataParallelKwargs

    # Intermediate phases leave the classifier unused and progressive training freezes layers:
    # DDP must look for unused parameters.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    use_cpu = not torch.cuda.is_available()
    acc = Accelerator(cpu=use_cpu, mixed_precision=None if mixed_precision == "no" else mixed_precision,
                      kwargs_handlers=[ddp])
    return Runtime(acc, acc.process_index, acc.num_processes, acc.device)
