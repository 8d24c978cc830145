"""The distillation loop: each planned phase in turn, `train_phases`.

Per phase: its data set, a seed of its own, the teacher's outputs (from a disk cache, built on
first use, or a live teacher), one `trainer.train_phase`, and, before a prediction phase, a
check that the student's [CLS] vector depends on the input. A resumed run skips the phases its
checkpoint finished and continues the one it was in.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pipeline.distill.plan import PHASE_ATTR, PHASE_KIND
from pipeline.distill.setup import Setup


def train_phases(run: Setup, progress: bool) -> list[dict]:
    """Train the student through `run.plan.phases`; returns the phase summaries (those of a
    resumed checkpoint first)."""
    import torch

    from pipeline.distill.features import FeatureModel
    from pipeline.distill.students import count_parameters
    from pipeline.distill.trainer import Phase, train_phase
    from pipeline.fsutil import write_json_atomic

    cfg, rt, log, ckpt = run.cfg, run.rt, run.log, run.ckpt
    dcfg, phases, student, summaries = cfg.distill, run.plan.phases, run.student, run.summaries
    s_layers, s_width = student.config.num_hidden_layers, int(student.config.hidden_size)
    if rt.is_main and not run.resume_from:
        log.write({"event": "start", "method": run.plan.method, "phases": phases, "student": run.sinfo.preset,
                   "params": count_parameters(student), "layer_map": run.layer_maps[phases[0]],
                   "world_size": rt.world, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    rt.say(f"student {run.sinfo.preset}: {count_parameters(student) / 1e6:.1f}M parameters, "
           f"{s_layers} layers, hidden {s_width}, {run.sinfo.init}; method {run.plan.method}; "
           f"phases {' -> '.join(phases)}; layer map {run.layer_maps[phases[0]]}"
           + (f"; {rt.world} processes" if rt.world > 1 else ""))

    for index, s in enumerate(phases):
        done, resume = _resume_state(run.resume_from, index)
        if done:
            continue
        dkey, data = run.datasets.for_phase(s)
        # Phase-start seeds: projections/dropout streams do not depend on what ran before.
        torch.manual_seed(run.plan.seed * 1000 + index * 101 + rt.rank)
        objective, teacher = run.objectives[s], run.phase_teacher[s]
        spec_s, spec_t = objective.specs()
        cache, info, live = None, {}, None
        if teacher is not None and objective.needs_teacher:
            if dcfg.cache_teacher:
                cache, info = _prepare_cache(teacher, data, run.cache_specs[(id(teacher), dkey)], dcfg, run.work,
                                             rt, progress, s, log,
                                             run.teachers.ids["general" if s == "general" else "task"])
            if cache is None:
                live = FeatureModel(teacher, spec_t)
        prediction = PHASE_KIND[s] == "prediction"
        if run.aug_info and s != "general":
            info["augmentation"] = run.aug_info
        phase = Phase(index=index, name=s, cfg=getattr(dcfg, PHASE_ATTR[s]), objective=objective, data=data,
                      teacher=live, cache=cache, evaluate=run.evaluate if prediction else None,
                      progressive=dcfg.progressive and not prediction, keep_best=prediction and dcfg.keep_best,
                      eval_every=dcfg.eval_every, info=info)
        fm = FeatureModel(student, spec_s, run.projections, run.projection_of[s])
        rt.say(f"phase {s}: {len(data)} examples, losses "
               + ", ".join(f"{k}x{v:g}" for k, v in objective.weights.items())
               + (", teacher from cache" if cache is not None else
                  (", live teacher" if live is not None else ", no teacher")))
        summary = train_phase(run.ctx, phase, fm, resume=resume,
                              state_extra={"signature": run.signature, "summaries": summaries})
        fm.close()
        if not prediction and teacher is not None and index + 1 < len(phases) \
                and PHASE_KIND[phases[index + 1]] == "prediction":
            summary["cls_spread"] = _check_cls_spread(run, s, data, teacher)
        if live is not None:
            live.close()
        summaries.append(summary)
        # the phase-done checkpoint already holds the summaries before this one; rewrite it
        # so a resume after this point keeps this phase's summary too
        ckpt_state_path = ckpt.latest()
        if rt.is_main and ckpt_state_path is not None:
            st = json.loads((ckpt_state_path / "state.json").read_text(encoding="utf-8"))
            st["summaries"] = summaries
            write_json_atomic(ckpt_state_path / "state.json", st)
        rt.barrier()
    return summaries


def _resume_state(resume_from, index: int):
    """(phase already done, (state, objects) to continue this phase from or None)."""
    if resume_from is None:
        return False, None
    state = resume_from[0]
    if index < state["phase_index"] or (index == state["phase_index"] and state["phase_done"]):
        return True, None
    return False, (resume_from if index == state["phase_index"] else None)


def _check_cls_spread(run: Setup, phase: str, data, teacher) -> dict:
    """Log the [CLS] spread of student and teacher after an intermediate phase; warn when the
    student's is near zero (the next, prediction phase would stall)."""
    rt = run.rt
    spread = {"student": cls_spread(run.student, data, rt.device), "teacher": cls_spread(teacher, data, rt.device)}
    run.log.write({"event": "diagnostic", "phase": phase, "cls_spread": spread})
    if spread["student"] < 0.01 * spread["teacher"]:
        rt.say(f"warning: after {phase} the student's [CLS] vector barely depends on the input "
               f"(spread {spread['student']:.3f} vs the teacher's {spread['teacher']:.3f}); the "
               "prediction phase may stall at chance: train this phase longer (more epochs or a "
               "higher learning rate)")
    return spread


def cls_spread(model, data, device, n: int = 256) -> float:
    """How much the last layer's [CLS] vector varies across inputs: ||std|| / ||mean|| over up to
    `n` training examples. The classifier reads [CLS]; a student whose [CLS] is still constant
    after the intermediate phase (MiniLM's only becomes input-dependent in its last layer) makes
    the prediction phase stall at chance."""
    import torch

    items = [data[i] for i in range(min(n, len(data)))]
    batch = {k: v.to(device) for k, v in data.collate(items).items() if k != "labels"}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
    model.train(was_training)
    cls = out.hidden_states[-1][:, 0].float()
    return round(float(cls.std(0).norm() / cls.mean(0).norm().clamp_min(1e-12)), 4)


def _prepare_cache(teacher, data, spec, dcfg, work: Path, rt, progress: bool, phase: str, log, ident):
    """Fill (or reuse) the teacher cache for `data`; returns (TeacherCache or None, info)."""
    import torch
    from tqdm.auto import tqdm

    from pipeline.distill.cache import TeacherCache, dataset_fingerprint, estimate_bytes, length_sorted_batches
    from pipeline.distill.features import FeatureModel, FeatureSpec, attention_geometry

    lengths = np.array([len(f["input_ids"]) for f in data.features], dtype=np.int64)
    heads = attention_geometry(teacher)[0]
    width = int(teacher.config.hidden_size)
    if dcfg.cache_all_layers:  # every layer: students with other layer maps reuse this cache
        n = int(teacher.config.num_hidden_layers)
        wide = spec.union(FeatureSpec(tuple(range(n + 1)), tuple(range(1, n + 1)),
                                      bool(getattr(teacher.config, "num_labels", 0))))
        wide_labels = int(getattr(teacher.config, "num_labels", 0) or 0) if wide.logits else 0
        if estimate_bytes(lengths, wide, heads, width, wide_labels, dcfg.cache_dtype) <= dcfg.cache_max_gb * 1e9:
            spec = wide
    num_labels = int(getattr(teacher.config, "num_labels", 0) or 0) if spec.logits else 0
    est = estimate_bytes(lengths, spec, heads, width, num_labels, dcfg.cache_dtype)
    if est > dcfg.cache_max_gb * 1e9:
        rt.say(f"warning: teacher cache for {phase} would take {est / 1e9:.1f} GB > distill.cache_max_gb="
               f"{dcfg.cache_max_gb:g}; running the teacher live instead")
        return None, {"cache": {"skipped": True, "estimated_bytes": est}}
    root = Path(dcfg.cache_dir) if dcfg.cache_dir else work / "teacher-cache"
    max_len = max(int(lengths.max()), 1)
    fp = dataset_fingerprint(data.features, ident, max_len, dcfg.cache_dtype) if rt.is_main else None
    fp = rt.broadcast_object(fp)
    path = TeacherCache.prepare(root, fp, lengths, spec, heads, width, num_labels, dcfg.cache_dtype) \
        if rt.is_main else None
    path = rt.broadcast_object(path)
    cache = TeacherCache.open(path)
    t0, c0 = time.time(), time.process_time()
    built = 0
    if not cache.complete:
        todo = cache.missing()
        batches = length_sorted_batches(lengths, todo, max_tokens=8192)
        mine = batches[rt.rank::rt.world]
        fm = FeatureModel(teacher, cache.spec)
        teacher.eval()
        for b in tqdm(mine, desc=f"teacher cache ({phase})", disable=not (progress and rt.is_main),
                      unit="batch", leave=False):
            batch = data.collate([data[int(i)] for i in b])
            batch = {k: v.to(rt.device) for k, v in batch.items() if k != "labels"}
            with torch.no_grad():
                feats = fm(**batch)
            cache.write(b, feats)
        fm.close()
        cache.flush()
        built = len(todo)
        rt.barrier()
        if rt.is_main:
            cache.done.flush()
            check = TeacherCache.open(path, mode="r")
            if not check.done.all():
                raise RuntimeError(f"teacher cache {path}: {int((check.done == 0).sum())} examples missing")
            cache.mark_complete()
        rt.barrier()
        cache = TeacherCache.open(path)
    seconds = time.time() - t0
    info = {"cache": {"path": str(path), "bytes": cache.nbytes(), "examples": cache.n,
                      "built_examples": built, "build_seconds": round(seconds, 2),
                      "build_cpu_seconds": round(time.process_time() - c0, 2),
                      "dtype": dcfg.cache_dtype}}
    log.write({"event": "cache", "phase": phase, **info["cache"]})
    if built:
        rt.say(f"teacher cache for {phase}: {built} examples in {seconds:.0f} s, "
               f"{cache.nbytes() / 1e6:.0f} MB ({dcfg.cache_dtype})")
    return TeacherCache.open(path, mode="r"), info
