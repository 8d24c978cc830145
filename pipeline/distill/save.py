"""After the last phase: evaluate the student (and the teacher) on dev, check that every process
ended with the same weights, and save the student (`save_pretrained` + tokenizer, labels.txt,
width projections, the log and metrics.json) into the output directory in one swap."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from pipeline.distill.setup import Setup


def finish(run: Setup, summaries: list[dict], out_dir: Path, t_start: float) -> dict:
    """The metrics dict (also written as metrics.json); removes the work dir on success."""
    from pipeline.distill.trainer import state_checksum

    rt, log, student = run.rt, run.log, run.student
    student.eval()
    final = run.evaluate(student)
    teacher_acc = run.evaluate(run.teachers.task)["accuracy"] if run.teachers.task is not None else None
    checksums = rt.gather_objects(state_checksum(run.fm_all))
    if len(set(checksums)) > 1:
        raise RuntimeError(f"processes ended with different weights ({checksums}); distributed training diverged")
    records = log.records() if rt.is_main else []
    for summ in summaries:  # epochs and evals from the log: complete even across resumes
        summ["epochs"] = [r for r in records if r.get("event") == "epoch" and r["phase"] == summ["phase"]]
        summ["evals"] = [r for r in records if r.get("event") == "eval" and r["phase"] == summ["phase"]]
    metrics = _metrics(run, summaries, final, teacher_acc, checksums, t_start)
    if rt.is_main:
        log.write({"event": "end", "dev_accuracy": final["accuracy"], "teacher_dev_accuracy": teacher_acc,
                   "seconds": metrics["seconds"]})
        save_student(run, out_dir, metrics)
        shutil.rmtree(run.work, ignore_errors=True)
    rt.barrier()
    return metrics


def _metrics(run: Setup, summaries, final: dict, teacher_acc, checksums, t_start: float) -> dict:
    from pipeline.distill.students import count_parameters

    student, sinfo, last = run.student, run.sinfo, run.plan.phases[-1]
    return {
        "dev_accuracy": final["accuracy"],
        "dev": final,
        "teacher_dev_accuracy": teacher_acc,
        "teacher_share": (final["accuracy"] / teacher_acc) if teacher_acc else None,
        "method": run.plan.method,
        "phases": summaries,
        "student": {"preset": sinfo.preset, "family": sinfo.family, "model_type": student.config.model_type,
                    "params": count_parameters(student), "layers": student.config.num_hidden_layers,
                    "hidden_size": int(student.config.hidden_size),
                    "hidden_act": student.config.hidden_act, "init": sinfo.init,
                    "init_layers": sinfo.init_layers, "notes": sinfo.notes},
        "teacher": {"general": run.general_spec, "task": str(run.task_dir) if run.task_dir is not None else None},
        "layer_map": run.layer_maps[last],
        "head_alignment": run.head_aligns[last],
        "train_examples": len(run.train),
        "dev_examples": len(run.dev),
        "augmentation": run.aug_info,
        "task_unlabeled_examples": run.n_task_unlabeled,
        "world_size": run.rt.world,
        "rank_checksums": checksums,
        "ranks_agree": len(set(checksums)) == 1,
        "seconds": round(time.time() - t_start, 1),
    }


def save_student(run: Setup, out_dir: Path, metrics: dict) -> None:
    """The student without its training-only parts; the width projections go to their own
    file so that a later run continuing from this directory can reuse them."""
    from pipeline.data import write_labels
    from pipeline.fsutil import atomic_dir, write_json_atomic

    student = run.student
    with atomic_dir(out_dir, "student", "metrics.json") as tmp:
        student.config.architectures = [type(student).__name__]
        student.save_pretrained(tmp)
        run.tok.save_pretrained(tmp)
        write_labels(tmp / "labels.txt", run.labels)
        if len(run.projections):
            from safetensors.torch import save_file

            meta = {"student_width": str(int(student.config.hidden_size)),
                    "projection_of": json.dumps({s: run.projection_of[s] for s in run.plan.phases})}
            save_file({k: v.detach().cpu().contiguous() for k, v in run.projections.state_dict().items()},
                      str(tmp / "projections.safetensors"), metadata=meta)
        shutil.copyfile(run.log.path, tmp / "distill_log.jsonl")
        write_json_atomic(tmp / "metrics.json", metrics)
