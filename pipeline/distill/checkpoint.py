"""Atomic, resumable checkpoints: model + projections, optimizer, scheduler, every process's RNG,
data position, best-so-far weights, and the log offset.

A checkpoint is a directory `ckpt-<phase>-<step>` written as a hidden temp dir and renamed into
place only when every file (from every process) is on disk; `LATEST` (also written atomically)
names the newest. A kill at any moment leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Optional

import numpy as np

from pipeline.errors import BertEdgeError
from pipeline.fsutil import write_json_atomic, write_text_atomic


def rng_state() -> dict:
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir_files(path: Path) -> None:
    for f in path.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


class Checkpointer:
    """Collective save/load: every process calls `save` (each writes its RNG state), process 0
    writes the shared state and publishes the directory."""

    def __init__(self, root: str | Path, rank: int = 0, world: int = 1, barrier=lambda: None):
        self.root = Path(root)
        self.rank, self.world = rank, world
        self.barrier = barrier

    def latest(self) -> Optional[Path]:
        pointer = self.root / "LATEST"
        if not pointer.is_file():
            return None
        path = self.root / pointer.read_text(encoding="utf-8").strip()
        return path if (path / "state.json").is_file() else None

    def save(self, name: str, state: dict, tensors: dict) -> Path:
        """`tensors`: file stem -> object for torch.save (written by process 0 only)."""
        import torch

        final = self.root / name
        tmp = self.root / f".{name}.tmp"
        if self.rank == 0:
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.barrier()
        torch.save(rng_state(), tmp / f"rng-{self.rank}.pt")
        self.barrier()
        if self.rank == 0:
            for stem, obj in tensors.items():
                if obj is not None:
                    torch.save(obj, tmp / f"{stem}.pt")
            write_json_atomic(tmp / "state.json", {**state, "world_size": self.world})
            _fsync_dir_files(tmp)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            write_text_atomic(self.root / "LATEST", name + "\n")
            for old in self.root.glob("ckpt-*"):
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
        self.barrier()
        return final

    def load(self, path: Path) -> tuple[dict, dict]:
        """(state, objects): objects maps file stem -> loaded object; `rng` is this process's."""
        import torch

        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        if state.get("world_size", 1) != self.world:
            raise BertEdgeError(f"{path}: checkpoint was written by {state.get('world_size')} processes, "
                                f"this run has {self.world}; resume with the same process count")
        objs = {}
        for f in path.glob("*.pt"):
            if f.stem.startswith("rng-"):
                continue
            objs[f.stem] = torch.load(f, map_location="cpu", weights_only=False)
        rng_file = path / f"rng-{self.rank}.pt"
        if rng_file.is_file():
            objs["rng"] = torch.load(rng_file, map_location="cpu", weights_only=False)
        return state, objs

    def clear(self) -> None:
        if self.rank == 0:
            shutil.rmtree(self.root, ignore_errors=True)
        self.barrier()
