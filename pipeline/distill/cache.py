"""Teacher outputs on disk, so epochs after the first skip the teacher forward pass.

One cache directory per (teacher weights, tokenized dataset, max length, dtype), named by a hash
of all of them, holding flat memory-mapped arrays of only the *real* token positions:

    meta.json            what is stored (layers, widths, heads, dtype) and whether it is complete
    lengths.npy          tokens per example
    done.u8              one byte per example: its features are written (a killed build resumes)
    logits.f32           [n, num_labels] float32 (tiny; kept exact)
    hidden_<layer>.bin   [sum(len), hidden] in `dtype` (float16 by default)
    scores_<layer>.bin   [sum(heads * len^2)] pre-softmax attention scores in `dtype`

The cache is filled in one length-sorted pass before the first epoch (little padding, no
gradients, several processes split it), then `read(indices)` rebuilds padded batch tensors.
Padded positions read back as 0; every loss masks them out, which is why cached and live teacher
features give the same losses (exactly with float32, to float16 rounding otherwise).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Optional

import numpy as np

from pipeline.distill.features import FeatureSpec
from pipeline.fsutil import write_json_atomic

FORMAT = 1
DTYPES = {"float16": np.float16, "float32": np.float32}


def teacher_identity(model_dir: str | Path) -> dict:
    """What identifies a teacher's weights cheaply: path, config, weight file sizes and mtimes."""
    model_dir = Path(model_dir).resolve()
    ident = {"path": str(model_dir)}
    cfg = model_dir / "config.json"
    if cfg.is_file():
        ident["config_sha"] = hashlib.sha256(cfg.read_bytes()).hexdigest()[:16]
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        st = f.stat()
        ident[f.name] = [st.st_size, st.st_mtime_ns]
    return ident


def dataset_fingerprint(features: list[dict], teacher: dict, max_length: int, dtype: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT, "teacher": teacher, "max_length": max_length,
                         "dtype": dtype}, sort_keys=True).encode())
    for f in features:
        h.update(np.asarray(f["input_ids"], dtype=np.int32).tobytes())
        h.update(np.asarray(f["token_type_ids"], dtype=np.int8).tobytes())
        h.update(b"|")
    return h.hexdigest()


def estimate_bytes(lengths: np.ndarray, spec: FeatureSpec, heads: int, hidden: int, num_labels: int,
                   dtype: str) -> int:
    item = np.dtype(DTYPES[dtype]).itemsize
    lengths = lengths.astype(np.int64)
    n = int(lengths.sum()) * hidden * item * len(spec.hidden)
    n += int((lengths ** 2).sum()) * heads * item * len(spec.scores)
    n += len(lengths) * num_labels * 4 * int(spec.logits)
    return n + len(lengths) * 9


class TeacherCache:
    def __init__(self, path: Path, meta: dict, lengths: np.ndarray, mode: str = "r+"):
        self.path = Path(path)
        self.meta = meta
        self.lengths = lengths.astype(np.int64)
        self.n = len(lengths)
        self.spec = FeatureSpec(tuple(meta["hidden"]), tuple(meta["scores"]), bool(meta["logits"]))
        self.heads = int(meta["heads"])
        self.hidden_size = int(meta["hidden_size"])
        self.num_labels = int(meta["num_labels"])
        self.dtype = DTYPES[meta["dtype"]]
        self.tok_off = np.concatenate([[0], np.cumsum(self.lengths)])
        self.score_off = np.concatenate([[0], np.cumsum(self.heads * self.lengths ** 2)])
        self.done = np.memmap(self.path / "done.u8", dtype=np.uint8, mode=mode, shape=(self.n,))
        self.logits = (np.memmap(self.path / "logits.f32", dtype=np.float32, mode=mode,
                                 shape=(self.n, self.num_labels)) if self.spec.logits else None)
        total_tok, total_sc = int(self.tok_off[-1]), int(self.score_off[-1])
        self.hidden = {l: np.memmap(self.path / f"hidden_{l}.bin", dtype=self.dtype, mode=mode,
                                    shape=(total_tok, self.hidden_size)) for l in self.spec.hidden}
        self.scores = {l: np.memmap(self.path / f"scores_{l}.bin", dtype=self.dtype, mode=mode,
                                    shape=(total_sc,)) for l in self.spec.scores}

    # --- creation ---------------------------------------------------------------------------

    @staticmethod
    def prepare(root: str | Path, fingerprint: str, lengths: np.ndarray, spec: FeatureSpec, heads: int,
                hidden_size: int, num_labels: int, dtype: str) -> Path:
        """Create (or reuse, or widen) the cache dir for `fingerprint`; return its path.
        Call on one process, then `TeacherCache.open` everywhere."""
        path = Path(root) / fingerprint[:24]
        meta_file = path / "meta.json"
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                meta = None
            if meta and meta.get("fingerprint") == fingerprint and meta.get("format") == FORMAT:
                have = FeatureSpec(tuple(meta["hidden"]), tuple(meta["scores"]), bool(meta["logits"]))
                if have.covers(spec):
                    return path
                spec = have.union(spec)  # widen: keep everything any earlier run needed
            shutil.rmtree(path, ignore_errors=True)
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        lengths = np.asarray(lengths, dtype=np.int64)
        np.save(tmp / "lengths.npy", lengths)
        item = np.dtype(DTYPES[dtype]).itemsize

        def alloc(name: str, nbytes: int) -> None:
            with open(tmp / name, "wb") as f:
                f.truncate(max(nbytes, 1))  # sparse until written

        alloc("done.u8", len(lengths))
        if spec.logits:
            alloc("logits.f32", len(lengths) * num_labels * 4)
        for l in spec.hidden:
            alloc(f"hidden_{l}.bin", int(lengths.sum()) * hidden_size * item)
        for l in spec.scores:
            alloc(f"scores_{l}.bin", int((heads * lengths ** 2).sum()) * item)
        meta = {"format": FORMAT, "fingerprint": fingerprint, "n": len(lengths),
                "hidden": list(spec.hidden), "scores": list(spec.scores), "logits": spec.logits,
                "heads": heads, "hidden_size": hidden_size, "num_labels": num_labels, "dtype": dtype,
                "complete": False}
        write_json_atomic(tmp / "meta.json", meta)
        try:
            os.replace(tmp, path)
        except OSError:  # another run sharing cache_dir created it meanwhile: check theirs
            shutil.rmtree(tmp, ignore_errors=True)
            if not (path / "meta.json").is_file():
                raise
            return TeacherCache.prepare(root, fingerprint, lengths, spec, heads, hidden_size, num_labels, dtype)
        return path

    @classmethod
    def open(cls, path: str | Path, mode: str = "r+") -> "TeacherCache":
        path = Path(path)
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        return cls(path, meta, np.load(path / "lengths.npy"), mode)

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete")) or bool(self.done.all())

    def mark_complete(self) -> None:
        self.flush()
        self.meta["complete"] = True
        write_json_atomic(self.path / "meta.json", self.meta)

    def missing(self) -> np.ndarray:
        return np.flatnonzero(self.done == 0)

    def nbytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    def flush(self) -> None:
        for arr in [self.done, self.logits, *self.hidden.values(), *self.scores.values()]:
            if arr is not None and hasattr(arr, "flush"):
                arr.flush()

    # --- write / read -----------------------------------------------------------------------

    def write(self, indices, feats: dict) -> None:
        """Store teacher features of a padded batch (tensors as `FeatureModel` returns them)."""
        logits = feats.get("logits")
        hidden = {l: feats["hidden"][l].detach().float().cpu().numpy() for l in self.spec.hidden}
        scores = {l: feats["scores"][l].detach().float().cpu().numpy() for l in self.spec.scores}
        if self.spec.logits:
            lg = logits.detach().float().cpu().numpy()
        for b, i in enumerate(indices):
            i = int(i)
            n = int(self.lengths[i])
            t0, s0 = self.tok_off[i], self.score_off[i]
            for l, h in hidden.items():
                self.hidden[l][t0:t0 + n] = h[b, :n]
            for l, sc in scores.items():
                self.scores[l][s0:s0 + self.heads * n * n] = sc[b, :, :n, :n].reshape(-1)
            if self.spec.logits:
                self.logits[i] = lg[b]
        self.done[np.asarray(indices, dtype=np.int64)] = 1  # after the data: a kill leaves it 0

    def read(self, indices, pad_to: Optional[int] = None, device=None) -> dict:
        """Padded float32 tensors for `indices`, shaped like a live teacher forward pass."""
        import torch

        idx = [int(i) for i in indices]
        lens = self.lengths[idx]
        L = int(pad_to or lens.max())
        out = {"logits": None, "hidden": {}, "scores": {}}
        if self.spec.logits:
            out["logits"] = torch.from_numpy(np.asarray(self.logits[idx], dtype=np.float32))
        for l, arr in self.hidden.items():
            buf = np.zeros((len(idx), L, self.hidden_size), dtype=np.float32)
            for b, i in enumerate(idx):
                n = int(lens[b])
                buf[b, :n] = arr[self.tok_off[i]:self.tok_off[i] + n]
            out["hidden"][l] = torch.from_numpy(buf)
        for l, arr in self.scores.items():
            buf = np.zeros((len(idx), self.heads, L, L), dtype=np.float32)
            for b, i in enumerate(idx):
                n = int(lens[b])
                s0 = self.score_off[i]
                buf[b, :, :n, :n] = arr[s0:s0 + self.heads * n * n].reshape(self.heads, n, n)
            out["scores"][l] = torch.from_numpy(buf)
        if device is not None:
            out = to_device(out, device)
        return out


def to_device(feats: dict, device) -> dict:
    return {"logits": feats["logits"].to(device) if feats["logits"] is not None else None,
            "hidden": {k: v.to(device) for k, v in feats["hidden"].items()},
            "scores": {k: v.to(device) for k, v in feats["scores"].items()}}


def length_sorted_batches(lengths: np.ndarray, indices: np.ndarray, max_tokens: int,
                          max_batch: int = 256) -> list[np.ndarray]:
    """Batches of `indices` sorted by length, each with at most ~max_tokens padded tokens
    (attention scores grow with L^2, so long examples go in smaller batches)."""
    order = indices[np.argsort(lengths[indices], kind="stable")]
    batches, cur, cur_max = [], [], 0
    for i in order:
        n = int(lengths[i])
        new_max = max(cur_max, n)
        if cur and (new_max * (len(cur) + 1) > max_tokens or len(cur) >= max_batch):
            batches.append(np.asarray(cur))
            cur, new_max = [], n
        cur.append(int(i))
        cur_max = new_max
    if cur:
        batches.append(np.asarray(cur))
    return batches
