"""Fine-tune the teacher for sequence classification; keep the best dev checkpoint."""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np

from pipeline.data import LabeledData, write_labels
from pipeline.fsutil import atomic_dir
from pipeline.metrics import classification_report
from pipeline.predict import hf_logits
from pipeline.teacher import load_classifier


def finetune_teacher(teacher_spec: str, train: LabeledData, dev: LabeledData, out_dir: str | Path,
                     cfg, seed: int = 42, trust_remote_code: bool = False, progress: bool = True) -> dict:
    """Train `teacher_spec` on `train`, evaluate on `dev`, save the best checkpoint to `out_dir`.

    `cfg` is a `FinetuneConfig`. Returns the metrics also written to `out_dir/metrics.json`.
    """
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from pipeline.data.tokenize import TokenizedDataset, make_loader
    from pipeline.training import epoch_batches, make_adamw, param_groups, steps_per_epoch

    torch.manual_seed(seed)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, tok, src = load_classifier(teacher_spec, labels=train.label_names,
                                      trust_remote_code=trust_remote_code, attn_implementation="sdpa")
    ds = TokenizedDataset(tok, train.texts, train.pairs, train.labels, cfg.max_seq_length)
    world, rank = accelerator.num_processes, accelerator.process_index
    if cfg.group_by_length:
        lengths, loader = np.array([len(f["input_ids"]) for f in ds.features]), None
        spe = steps_per_epoch(len(ds), cfg.batch_size, world)
    else:  # accelerate's sharded loader: its length is this process's steps per epoch
        loader = accelerator.prepare(make_loader(ds, cfg.batch_size, shuffle=True, seed=seed))
        spe = len(loader)
    total = math.ceil(cfg.epochs * spe)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    eval_every = cfg.eval_every or spe
    opt = make_adamw(param_groups(model, cfg.weight_decay), cfg.learning_rate)
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total), total)
    model, opt, sched = accelerator.prepare(model, opt, sched)

    def epoch_loader(epoch: int):
        if loader is not None:
            yield from loader
            return
        for idx in epoch_batches(len(ds), cfg.batch_size, seed, 0, epoch, world, rank, lengths):
            yield {k: v.to(accelerator.device) for k, v in ds.collate([ds[i] for i in idx]).items()}

    def evaluate() -> dict:
        logits = hf_logits(accelerator.unwrap_model(model), tok, dev.texts, dev.pairs,
                           max_length=cfg.max_seq_length, desc="dev", progress=progress)
        return classification_report(logits.argmax(-1), dev.labels, train.label_names)

    best, best_state, log = None, None, []
    step, epoch, t0 = 0, 0, time.time()
    bar = tqdm(total=total, desc="finetune-teacher", disable=not progress, unit="step")
    while step < total:
        for batch in epoch_loader(epoch):
            model.train()
            loss = model(**batch).loss
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}", best=f"{best['accuracy']:.4f}" if best else "-")
            if step % eval_every == 0 or step == total:
                rep = evaluate()
                log.append({"step": step, "epoch": step / spe, "loss": loss.item(),
                            "dev_accuracy": rep["accuracy"], "seconds": time.time() - t0})
                if best is None or rep["accuracy"] > best["accuracy"]:
                    best, best_state = rep, copy.deepcopy(accelerator.unwrap_model(model).state_dict())
            if step >= total:
                break
        epoch += 1
    bar.close()
    final = accelerator.unwrap_model(model)
    final.load_state_dict(best_state)
    metrics = {"teacher": teacher_spec, "train_examples": len(train), "dev_examples": len(dev),
               "steps": step, "seconds": round(time.time() - t0, 1), "dev": best, "log": log,
               "data": {"train": train.source, "dev": dev.source}}
    with atomic_dir(out_dir, "teacher", "metrics.json") as tmp:
        final.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        write_labels(tmp / "labels.txt", train.label_names)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
