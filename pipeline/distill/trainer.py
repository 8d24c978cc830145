"""The training loop of one distillation phase: one readable function, `train_phase`.

Per step: take this process's share of the next global batch, get the teacher's features (from
the disk cache, or a no-grad forward pass), run the student (with its width projections, under
DDP when there are several processes), add up the weighted losses, step. Around that: a
deterministic data order (a function of seed, phase and epoch only, so a resumed run sees the
same batches), JSON-lines logging, dev evaluation, and atomic checkpoints.
"""
from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from pipeline.distill.cache import TeacherCache
from pipeline.distill.checkpoint import Checkpointer, set_rng_state
from pipeline.distill.features import FeatureModel
from pipeline.distill.objective import Objective
from pipeline.distill.runtime import Runtime
from pipeline.training import epoch_batches, make_adamw, param_groups, steps_per_epoch

FAULT_ENV = "BERT_EDGE_FAULT_AT_STEP"  # test hook: "<phase>:<step>" -> SIGKILL self after that step


class JsonlLog:
    """Metrics as JSON lines (process 0 writes); truncated back to a checkpoint on resume."""

    def __init__(self, path: Path, enabled: bool):
        self.path = Path(path)
        self.enabled = enabled
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, default=float) + "\n")

    def offset(self) -> int:
        return self.path.stat().st_size if self.enabled and self.path.exists() else 0

    def truncate(self, offset: int) -> None:
        if self.enabled and self.path.exists():
            with open(self.path, "r+b") as f:
                f.truncate(offset)

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(l) for l in self.path.read_text(encoding="utf-8").splitlines() if l.strip()]


@dataclass
class Phase:
    index: int
    name: str
    cfg: object  # PhaseConfig
    objective: Objective
    data: object  # TokenizedDataset (labels present for labeled phases)
    teacher: Optional[FeatureModel] = None  # live teacher when no complete cache
    cache: Optional[TeacherCache] = None
    evaluate: Optional[Callable] = None  # student model -> classification report
    progressive: bool = False
    keep_best: bool = False
    eval_every: int = 0
    info: dict = field(default_factory=dict)  # extra fields for the log (cache, augmentation)


@dataclass
class Context:
    rt: Runtime
    ckpt: Checkpointer
    log: JsonlLog
    seed: int
    checkpoint_every: int
    log_every: int
    max_grad_norm: float
    progress: bool = True
    group_by_length: bool = True


def _set_progressive_trainable(fm: FeatureModel, objective: Objective, segment: int) -> set[int]:
    """Freeze everything but the student layer of `segment` (plus embeddings with the first);
    returns the student layers whose losses are active."""
    s_layer = objective.pairs[segment][0]
    base = fm.model.base_model
    for p in fm.parameters():
        p.requires_grad_(False)
    for p in base.encoder.layer[s_layer - 1].parameters():
        p.requires_grad_(True)
    active_hidden = {s_layer}
    if segment == 0:
        for p in base.embeddings.parameters():
            p.requires_grad_(True)
        active_hidden.add(0)
    for layer, key in fm.projection_of.items():
        if layer in active_hidden or key == "shared":
            for p in fm.projections[key].parameters():
                p.requires_grad_(True)
    return {s_layer}


def _collate(data, idx, device) -> dict:
    batch = data.collate([data[int(i)] for i in idx])
    return {k: v.to(device) for k, v in batch.items()}


def train_phase(ctx: Context, phase: Phase, fm: FeatureModel, resume: Optional[tuple] = None,
                state_extra: Optional[dict] = None) -> dict:
    """Train `fm` (student + projections) through one phase; returns the phase summary.

    `resume` = (state, objects) from a checkpoint taken inside this phase."""
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    rt, cfg, obj = ctx.rt, phase.cfg, phase.objective
    n = len(phase.data)
    lengths = np.array([len(f["input_ids"]) for f in phase.data.features])
    spe = steps_per_epoch(n, cfg.batch_size, rt.world)
    total = max(1, math.ceil(cfg.epochs * spe))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warmup = int(cfg.warmup_ratio * total)

    opt = make_adamw(param_groups(fm, cfg.weight_decay), cfg.learning_rate)
    sched = get_linear_schedule_with_warmup(opt, warmup, total)
    step, epoch, pos, best = 0, 0, 0, None
    best_state = None
    if resume is not None:
        state, objs = resume
        fm.load_state_dict(objs["model"])
        opt.load_state_dict(objs["optimizer"])
        sched.load_state_dict(objs["scheduler"])
        step, epoch, pos = state["step"], state["epoch"], state["position"]
        best = state.get("best")
        best_state = objs.get("best")
        ctx.log.truncate(state["log_offset"])
    ddp_fm = rt.accelerator.prepare_model(fm)
    opt = rt.accelerator.prepare_optimizer(opt)
    if resume is not None and "rng" in resume[1]:
        set_rng_state(resume[1]["rng"])  # last: nothing after this may draw random numbers

    if phase.teacher is not None:
        phase.teacher.eval()
    fault = os.environ.get(FAULT_ENV, "")
    fault_step = int(fault.split(":")[1]) if fault.startswith(phase.name + ":") else None
    n_seg = len(obj.pairs) if phase.progressive else 1
    segment, active = -1, None
    is_main = rt.is_main
    bar = tqdm(total=total, initial=step, desc=phase.name, unit="step", disable=not (ctx.progress and is_main),
               dynamic_ncols=True)
    sums: dict[str, float] = {}
    count = 0
    t_phase = time.time()
    epochs_log = []
    eval_log = []

    def evaluate(tag: str):
        nonlocal best, best_state
        if phase.evaluate is None:
            return None
        rep = phase.evaluate(fm.model)
        rec = {"event": "eval", "phase": phase.name, "step": step, "epoch": round(step / spe, 4),
               "dev_accuracy": rep["accuracy"], "dev_macro_f1": rep["macro_f1"], "at": tag}
        ctx.log.write(rec)
        eval_log.append(rec)
        if best is None or rep["accuracy"] > best["accuracy"]:
            best = {"accuracy": rep["accuracy"], "step": step}
            if phase.keep_best:
                best_state = {k: v.detach().cpu().clone() for k, v in fm.state_dict().items()}
        if is_main:
            bar.set_postfix_str(f"dev_acc={rep['accuracy']:.4f}", refresh=False)
        return rep

    def checkpoint(done: bool = False):
        ctx.ckpt.save(f"ckpt-{phase.index:02d}-{step:08d}",
                      {"phase_index": phase.index, "phase": phase.name, "step": step, "epoch": epoch,
                       "position": pos, "total_steps": total, "phase_done": done, "best": best,
                       "log_offset": ctx.log.offset(), **(state_extra or {})},
                      {"model": fm.state_dict(), "optimizer": opt.state_dict(),
                       "scheduler": sched.state_dict(), "best": best_state})

    last_eval_step = -1
    while step < total:
        batches = epoch_batches(n, cfg.batch_size, ctx.seed, phase.index, epoch, rt.world, rt.rank,
                                lengths if ctx.group_by_length else None)
        t_epoch, c_epoch, first_pos = time.time(), time.process_time(), pos
        source = "none" if not obj.needs_teacher else ("cache" if phase.cache is not None else "live")
        while pos < len(batches) and step < total:
            if phase.progressive:
                seg = min(step * n_seg // total, n_seg - 1)
                if seg != segment:
                    segment, active = seg, _set_progressive_trainable(fm, obj, seg)
            idx = batches[pos]
            batch = _collate(phase.data, idx, rt.device)
            labels = batch.pop("labels", None)
            t_feats = None
            if obj.needs_teacher:
                if phase.cache is not None:
                    t_feats = phase.cache.read(idx, pad_to=batch["input_ids"].shape[1], device=rt.device)
                else:
                    with torch.no_grad():
                        t_feats = phase.teacher(**batch)
            ddp_fm.train()
            s_feats = ddp_fm(**batch)
            loss, parts = obj(s_feats, t_feats, batch["attention_mask"], labels, layers=active)
            rt.accelerator.backward(loss)
            if ctx.max_grad_norm:
                rt.accelerator.clip_grad_norm_([p for p in fm.parameters() if p.requires_grad],
                                               ctx.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            pos += 1

            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            count += 1
            if step % ctx.log_every == 0 or step == total:
                avg = rt.mean({k: v / count for k, v in sums.items()})
                rec = {"event": "step", "phase": phase.name, "step": step, "epoch": round(step / spe, 4),
                       "lr": sched.get_last_lr()[0], **{k: round(v, 6) for k, v in avg.items()},
                       "seconds": round(time.time() - t_phase, 2)}
                if phase.progressive:
                    rec["layer"] = obj.pairs[segment][0]
                ctx.log.write(rec)
                if is_main:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in avg.items()}, refresh=False)
                sums, count = {}, 0
            bar.update(1)

            epoch_done = pos >= len(batches)
            if epoch_done:
                secs = time.time() - t_epoch
                # CPU seconds of this process next to wall seconds: on a shared machine the
                # wall clock mostly measures the neighbours
                rec = {"event": "epoch", "phase": phase.name, "epoch": epoch + 1, "step": step,
                       "seconds": round(secs, 2), "cpu_seconds": round(time.process_time() - c_epoch, 2),
                       "steps": pos - first_pos, "complete": first_pos == 0, "teacher": source}
                ctx.log.write(rec)
                epochs_log.append(rec)
            if (phase.eval_every and step % phase.eval_every == 0) or (epoch_done and not phase.eval_every):
                evaluate("epoch" if epoch_done else "steps")
                last_eval_step = step
            if epoch_done:
                epoch, pos = epoch + 1, 0  # the position a checkpoint taken now resumes from
            if step < total and ctx.checkpoint_every and step % ctx.checkpoint_every == 0:
                checkpoint()
            if fault_step is not None and step == fault_step:
                os.kill(os.getpid(), signal.SIGKILL)
            if epoch_done:
                break  # next epoch: new order
    bar.close()
    if phase.evaluate is not None and last_eval_step != step:
        evaluate("end")
    if phase.progressive:
        for p in fm.parameters():
            p.requires_grad_(True)
    if phase.keep_best and best_state is not None:
        fm.load_state_dict(best_state)
    seconds = time.time() - t_phase
    summary = {"phase": phase.name, "steps": total, "steps_per_epoch": spe, "examples": n,
               "seconds": round(seconds, 1), "epochs": epochs_log, "evals": eval_log,
               "best": best, **phase.info}
    ctx.log.write({"event": "phase_end", **{k: v for k, v in summary.items() if k not in ("epochs", "evals")}})
    checkpoint(done=True)
    rt.accelerator.free_memory()
    return summary


def state_checksum(module: torch.nn.Module) -> str:
    """A hash of all parameters and buffers (to check that processes agree)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
