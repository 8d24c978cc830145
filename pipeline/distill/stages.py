"""`run_distillation`: validate the plan, load teachers, data and the student, run the configured
stages (general -> task-intermediate -> task-prediction, any subset, in that order), save.

Stage kinds:
- `general`: no labels; the pretrained teacher (`teacher.model`) on the unlabeled corpus
  (`data.unlabeled`); intermediate losses (embeddings, hidden states, attention).
- `task-intermediate`: the fine-tuned teacher on the task data (optionally augmented);
  intermediate losses.
- `task-prediction`: the fine-tuned teacher on the task data; prediction-layer losses (soft
  logits, optionally gold labels); evaluated on dev, best dev checkpoint kept.
- method `labels-only`: a single supervised stage (the task-prediction settings), no teacher.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from pipeline.errors import BertEdgeError

STAGES = ("general", "task-intermediate", "task-prediction")
STAGE_KIND = {"general": "intermediate", "task-intermediate": "intermediate", "task-prediction": "prediction"}
STAGE_ATTR = {"general": "general", "task-intermediate": "task_intermediate",
              "task-prediction": "task_prediction"}
CHOICES = {"projection": ("per-layer", "shared"), "head_mismatch": ("average", "skip"),
           "cache_dtype": ("float16", "float32"), "mixed_precision": ("no", "bf16", "fp16")}


def _say(rt, msg: str) -> None:
    if rt is None or rt.is_main:
        print(msg, flush=True)


def check_stages(stages, method: str) -> list[str]:
    import difflib

    if isinstance(stages, str):
        stages = [s.strip() for s in stages.split(",") if s.strip()]
    if not isinstance(stages, (list, tuple)) or not stages:
        raise BertEdgeError("distill.stages must be a non-empty list, e.g. [general, task-intermediate, "
                            "task-prediction]")
    out = []
    for s in stages:
        s = str(s).replace("_", "-")
        if s not in STAGES:
            close = difflib.get_close_matches(s, STAGES, n=1, cutoff=0.4)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BertEdgeError(f"distill.stages: unknown stage '{s}'{hint}; stages: {', '.join(STAGES)}")
        if s in out:
            raise BertEdgeError(f"distill.stages: '{s}' is listed twice")
        out.append(s)
    if out != sorted(out, key=STAGES.index):
        raise BertEdgeError(f"distill.stages {out}: stages run in the order {', '.join(STAGES)}")
    if method == "labels-only":
        if "task-prediction" not in out:
            raise BertEdgeError("method labels-only trains one supervised stage with the task-prediction "
                                "settings: include task-prediction in distill.stages")
        out = ["task-prediction"]
    return out


def _check_choices(dcfg) -> None:
    for key, allowed in CHOICES.items():
        value = getattr(dcfg, key)
        if value not in allowed:
            raise BertEdgeError(f"distill.{key} '{value}' is not one of: {', '.join(allowed)}")


def check_task_teacher(path) -> Path:
    from pipeline.teacher import check_model_dir, is_finetuned

    if path is None:
        raise BertEdgeError("task distillation needs a fine-tuned teacher: pass --teacher DIR (the output "
                            "of `bert-edge finetune-teacher`) or set teacher.finetuned")
    path = Path(path)
    check_model_dir(path)
    if not is_finetuned(path):
        raise BertEdgeError(f"{path}: the teacher has no classifier head and labels.txt (a base model?); "
                            "task stages need a fine-tuned teacher (bert-edge finetune-teacher)")
    return path


def _load_base(spec: str, trust_remote_code: bool = False):
    """The pretrained teacher without a task head (general distillation), SDPA attention (the
    scores the losses need are recomputed by features.ScoreCapture)."""
    import transformers
    from transformers import AutoModel

    from pipeline.teacher import _load_error, check_model_dir, resolve

    src = resolve(spec)
    if src.is_local:
        check_model_dir(src.path)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(src.path, attn_implementation="sdpa",
                                          trust_remote_code=trust_remote_code)
    except OSError as e:
        if not src.is_local:
            raise BertEdgeError(f"cannot fetch '{spec}' (offline? pass a local directory): "
                                f"{(str(e).splitlines() or ['?'])[0]}") from None
        raise _load_error(src.path, e) from None
    except Exception as e:
        raise _load_error(src.path, e) from None
    finally:
        transformers.logging.set_verbosity(verbosity)
    return model.eval(), src.path


def _width(config) -> int:
    return int(config.hidden_size)


def _vocab_signature(tok) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(sorted(tok.get_vocab().items())).encode()).hexdigest()


def _plan_signature(cfg, stages, teacher_ids, world) -> dict:
    d = asdict(cfg.distill)
    for k in ("checkpoint_every", "log_every", "cache_dir", "cache_max_gb"):
        d.pop(k, None)
    return {"distill": d, "stages": stages, "student": asdict(cfg.student),
            "data": {k: v for k, v in asdict(cfg.data).items()}, "teachers": teacher_ids,
            "seed": cfg.seed, "world_size": world}


def _diff(a, b, prefix="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
            if d:
                return d
        return ""
    return f"{prefix}: {a!r} -> {b!r}" if a != b else ""


def evaluator(tok, dev, max_length: int, rt, progress: bool):
    """student model -> classification report on dev (shards split across processes)."""
    from pipeline.metrics import classification_report
    from pipeline.predict import hf_logits

    def run(model) -> dict:
        was_training = model.training
        idx = np.arange(len(dev))[rt.rank::rt.world]
        texts = [dev.texts[i] for i in idx]
        pairs = [dev.pairs[i] for i in idx] if dev.pairs else None
        logits = hf_logits(model, tok, texts, pairs, max_length=max_length, desc="dev",
                           progress=False) if len(idx) else np.zeros((0, model.config.num_labels))
        parts = rt.gather_objects((idx, logits))
        full = np.zeros((len(dev), model.config.num_labels), dtype=np.float32)
        for i, lg in parts:
            full[i] = lg
        model.train(was_training)
        return classification_report(full.argmax(-1), dev.labels, dev.label_names)

    return run


def _augment(cfg, tok, train, teachers: dict, work: Path, rt, progress: bool):
    """Augmented (texts, pairs, labels), computed on process 0 and stored in the work dir."""
    import hashlib

    import torch

    from pipeline.distill.augment import Augmenter, has_mlm_head

    dcfg = cfg.distill
    key = hashlib.sha256(json.dumps([train.texts, train.pairs, train.labels, dcfg.augment_factor,
                                     dcfg.augment_prob, dcfg.augment_candidates, cfg.seed,
                                     teachers.get("ident")], default=str).encode()).hexdigest()[:16]
    path = work / f"augmented-{key}.json"
    if rt.is_main and not path.is_file():
        t0 = time.time()
        mlm = None
        gen_path = teachers.get("general_path")
        if gen_path and Path(gen_path).is_dir() and has_mlm_head(gen_path):
            import transformers
            from transformers import AutoModelForMaskedLM

            transformers.logging.set_verbosity_error()
            mlm = AutoModelForMaskedLM.from_pretrained(gen_path).to(rt.device).eval()
        emb = None
        if mlm is None:
            emb = teachers["task"].get_input_embeddings().weight
        aug = Augmenter(tok, embeddings=emb, mlm_model=mlm, candidates=dcfg.augment_candidates,
                        prob=dcfg.augment_prob, factor=dcfg.augment_factor, seed=cfg.seed,
                        max_length=cfg.distill.task_intermediate.max_seq_length, progress=progress)
        with torch.random.fork_rng(devices=[]):
            texts, pairs, labels = aug.augment(train.texts, train.pairs, train.labels)
        from pipeline.fsutil import write_json_atomic

        write_json_atomic(path, {"texts": texts, "pairs": pairs, "labels": labels,
                                 "source": "masked-LM" if mlm is not None else "embedding neighbours",
                                 "seconds": round(time.time() - t0, 1),
                                 "mlm_forward_calls": aug.forward_calls})
    rt.barrier()
    d = json.loads(path.read_text(encoding="utf-8"))
    return d


@dataclass
class DistillPlan:
    """The checked distillation settings: what `run_distillation` will do, nothing loaded yet."""

    method: str
    stages: list  # in run order
    weights: dict  # stage -> loss weights
    seed: int


def plan_distillation(cfg) -> DistillPlan:
    """Check every distillation setting (method, choices, stages, student preset, loss weights,
    corpus) without loading anything: `bert-edge run` calls this before its first stage, so a
    typo is found before the teacher's fine-tune, not after it."""
    from pipeline.distill.objective import check_method, stage_weights
    from pipeline.distill.students import check_preset

    dcfg = cfg.distill
    method = check_method(dcfg.method)
    _check_choices(dcfg)
    stages = check_stages(dcfg.stages, method)
    check_preset(cfg.student.preset)
    weights = {s: stage_weights(method, STAGE_KIND[s], getattr(dcfg, STAGE_ATTR[s]).loss_weights,
                                f"distill.{STAGE_ATTR[s]}.loss_weights") for s in stages}
    if "general" in stages and str(cfg.data.unlabeled).lower() == "none":
        raise BertEdgeError("the general stage needs an unlabeled corpus: set data.unlabeled (or --unlabeled)")
    seed = cfg.seed if dcfg.seed is None else int(dcfg.seed)
    return DistillPlan(method, stages, weights, seed)


def run_distillation(cfg, teacher_dir: Optional[str] = None, out_dir="runs/student",
                     progress: bool = True, resume: bool = False) -> dict:
    """Run the configured stages; write the student to `out_dir`; return metrics (with
    `dev_accuracy`). See the module docstring and docs/distillation.md."""
    import torch
    from torch import nn
    from transformers import AutoConfig

    from pipeline.data import read_labels, resolve_labeled, resolve_unlabeled, write_labels
    from pipeline.data.tokenize import TokenizedDataset
    from pipeline.distill.cache import teacher_identity
    from pipeline.distill.checkpoint import Checkpointer
    from pipeline.distill.features import FeatureModel, FeatureSpec, attention_geometry
    from pipeline.distill.layer_map import head_alignment, resolve_layer_map
    from pipeline.distill.objective import Objective
    from pipeline.distill.runtime import make_runtime
    from pipeline.distill.students import build_student, count_parameters
    from pipeline.distill.trainer import Context, JsonlLog, Stage, state_checksum, train_stage
    from pipeline.fsutil import atomic_dir, write_json_atomic
    from pipeline.teacher import load_classifier, load_tokenizer, resolve

    t_start = time.time()
    dcfg = cfg.distill
    plan = plan_distillation(cfg)
    method, stages, weights, seed = plan.method, plan.stages, plan.weights, plan.seed
    out_dir = Path(out_dir)
    work = out_dir.parent / f"{out_dir.name}.work"
    # Which teachers are needed (validated before anything heavy is loaded).
    task_needs_teacher = method != "labels-only" and any(
        s != "general" and any(k != "ce" for k in weights[s]) for s in stages)
    task_dir = teacher_dir or cfg.teacher.finetuned
    if task_needs_teacher:
        task_dir = check_task_teacher(task_dir)
    elif task_dir is not None:
        task_dir = Path(task_dir)
    general_spec = cfg.teacher.model if "general" in stages else None
    if general_spec is not None:
        src = resolve(general_spec)
        if src.is_local:
            from pipeline.teacher import check_model_dir

            check_model_dir(src.path)
    rt = make_runtime(dcfg.mixed_precision)
    torch.manual_seed(seed)

    # --- tokenizer, labels, data ------------------------------------------------------------
    base_path = resolve(cfg.teacher.model).path
    tok_source = str(task_dir) if task_dir is not None else base_path
    tok = load_tokenizer(tok_source, cfg.teacher.trust_remote_code)
    if task_dir is not None and (task_dir / "labels.txt").is_file():
        labels = read_labels(task_dir / "labels.txt")
    else:
        labels = None
    train = resolve_labeled(cfg.data.train, "train", cfg.data, label_names=labels)
    labels = labels or train.label_names
    dev = resolve_labeled(cfg.data.dev, "dev", cfg.data, label_names=labels)
    use_unlabeled = "general" in stages or (dcfg.task_unlabeled and method != "labels-only")
    if use_unlabeled and str(cfg.data.unlabeled).lower() == "none":
        raise BertEdgeError("distill.task_unlabeled needs an unlabeled corpus: set data.unlabeled (or --unlabeled)")
    unlabeled = resolve_unlabeled(cfg.data.unlabeled, cfg.data) if use_unlabeled else None
    # the work dir (log, checkpoints) only once the inputs are known to be good: a bad input
    # leaves nothing behind
    log = JsonlLog(work / "distill_log.jsonl", rt.is_main)
    ckpt = Checkpointer(work / "checkpoints", rt.rank, rt.world, rt.barrier)

    # --- teachers (loading must not move the global RNG: resumed runs skip it) --------------
    teachers: dict = {}
    with torch.random.fork_rng(devices=[]):
        if "general" in stages:
            teachers["general"], teachers["general_path"] = _load_base(general_spec, cfg.teacher.trust_remote_code)
            gtok = load_tokenizer(teachers["general_path"], cfg.teacher.trust_remote_code)
            if task_dir is not None and _vocab_signature(gtok) != _vocab_signature(tok):
                raise BertEdgeError(f"the pretrained teacher {general_spec} and the fine-tuned teacher {task_dir} "
                                    "have different vocabularies; the student can share only one")
        if task_dir is not None and (task_needs_teacher or (dcfg.augment and method != "labels-only")):
            teachers["task"] = load_classifier(str(task_dir), attn_implementation="sdpa",
                                               trust_remote_code=cfg.teacher.trust_remote_code)[0].eval()
        elif task_dir is not None and cfg.student.preset == "distilbert-style" and "general" not in stages:
            teachers["task"] = load_classifier(str(task_dir), attn_implementation="sdpa")[0].eval()
        for k in ("general", "task"):
            if k in teachers:
                teachers[k].to(rt.device)
    stage_teacher = {s: (teachers.get("general") if s == "general" else teachers.get("task"))
                     for s in stages}
    if method == "labels-only":
        stage_teacher = {s: None for s in stages}
    teacher_ids = {"general": teacher_identity(teachers["general_path"]) if "general" in teachers else None,
                   "task": teacher_identity(task_dir) if task_dir is not None else None}
    teachers["ident"] = teacher_ids

    # --- student ------------------------------------------------------------------------------
    init_teacher = stage_teacher[stages[0]] or teachers.get("task") or teachers.get("general")
    if init_teacher is not None:
        ref_config = init_teacher.config
    else:
        ref_config = AutoConfig.from_pretrained(str(task_dir) if task_dir is not None else base_path)
    needs_init = cfg.student.preset == "distilbert-style" or (
        "teacher" in (cfg.student.init_embeddings, cfg.student.init_encoder)
        and not Path(cfg.student.preset).expanduser().is_dir())
    if needs_init and init_teacher is None:
        with torch.random.fork_rng(devices=[]):
            init_teacher, _ = _load_base(str(task_dir) if task_dir is not None else cfg.teacher.model)
    student, sinfo = build_student(cfg.student, ref_config, labels, init_teacher=init_teacher, seed=seed)
    student.to(rt.device)
    if tok.vocab_size > student.config.vocab_size:
        raise BertEdgeError(f"tokenizer has {tok.vocab_size} tokens, student vocab_size is "
                            f"{student.config.vocab_size}")
    s_layers = student.config.num_hidden_layers
    s_heads, _ = attention_geometry(student)

    # --- objectives, layer maps, projections --------------------------------------------------
    objectives, layer_maps, projection_of, t_widths = {}, {}, {}, {}
    head_aligns = {}
    for s in stages:
        teacher = stage_teacher[s]
        tcfg = teacher.config if teacher is not None else ref_config
        lmap = resolve_layer_map(dcfg.layer_map, s_layers, tcfg.num_hidden_layers)
        t_heads = attention_geometry(teacher)[0] if teacher is not None else s_heads
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            align = head_alignment(s_heads, t_heads, dcfg.head_mismatch) if any(
                k in weights[s] for k in ("attn", "at")) else "same"
        for w in caught:
            _say(rt, f"warning: {w.message}")
        objectives[s] = Objective(weights[s], lmap, s_layers, dcfg.temperature, align)
        layer_maps[s], head_aligns[s] = lmap, align
        t_widths[s] = _width(tcfg)
    projections = nn.ModuleDict()
    s_width = _width(student.config)
    torch.manual_seed(seed + 1)
    for s in stages:
        spec_s, _ = objectives[s].specs()
        pmap = {}
        if s_width != t_widths[s]:
            for layer in spec_s.hidden:
                key = "shared" if dcfg.projection == "shared" else f"layer{layer}"
                if key not in projections:
                    projections[key] = nn.Linear(s_width, t_widths[s])
                pmap[layer] = key
        projection_of[s] = pmap
    if sinfo.family == "dir":
        pfile = Path(sinfo.loaded_from) / "projections.safetensors"
        if pfile.is_file() and len(projections):
            from safetensors.torch import load_file

            saved = load_file(str(pfile))
            own = projections.state_dict()
            usable = {k: v for k, v in saved.items() if k in own and own[k].shape == v.shape}
            projections.load_state_dict(usable, strict=False)
            sinfo.notes.append(f"loaded {len(usable)} projection tensors from {pfile}")
    projections.to(rt.device)

    # --- data sets --------------------------------------------------------------------------
    aug_info = None
    task_texts, task_pairs, task_labels = train.texts, train.pairs, train.labels
    if dcfg.augment and method != "labels-only" and any(s != "general" for s in stages):
        if "task" not in teachers:
            raise BertEdgeError("augmentation needs the fine-tuned teacher's embeddings: pass --teacher")
        with torch.random.fork_rng(devices=[]):
            d = _augment(cfg, tok, train, teachers, work, rt, progress)
        task_texts, task_pairs, task_labels = d["texts"], d["pairs"], d["labels"]
        aug_info = {"original": len(train), "augmented": len(task_texts) - len(train),
                    "source": d["source"], "seconds": d["seconds"]}
        _say(rt, f"augmentation: {len(train)} -> {len(task_texts)} training sentences "
                 f"({d['source']}, {d['seconds']:.0f} s)")
    n_task_unlabeled = 0
    if dcfg.task_unlabeled and method != "labels-only" and any(s != "general" for s in stages):
        from pipeline.distill.losses import IGNORE_LABEL

        if task_pairs is not None:
            raise BertEdgeError("distill.task_unlabeled works for single-sentence tasks only")
        known = set(task_texts)
        extra = [t for t in unlabeled if t not in known]
        task_texts = list(task_texts) + extra
        task_labels = list(task_labels) + [IGNORE_LABEL] * len(extra)
        n_task_unlabeled = len(extra)
        _say(rt, f"task stages also distill on {len(extra)} unlabeled sentences (teacher labels only)")
    datasets: dict = {}

    def dataset_for(s: str):
        max_len = getattr(dcfg, STAGE_ATTR[s]).max_seq_length
        key = ("general" if s == "general" else "task", max_len)
        if key not in datasets:
            if s == "general":
                datasets[key] = TokenizedDataset(tok, unlabeled, None, None, max_len)
            else:
                datasets[key] = TokenizedDataset(tok, task_texts, task_pairs, task_labels, max_len)
        return key, datasets[key]

    # --- teacher caches: one per (teacher, data set), holding what all its stages read -------
    cache_plan: dict = {}
    for s in stages:
        if stage_teacher[s] is None or not objectives[s].needs_teacher:
            continue
        key, _ = dataset_for(s)
        _, t_spec = objectives[s].specs()
        ck = (id(stage_teacher[s]), key)
        prev = cache_plan.get(ck, (None, FeatureSpec()))[1]
        cache_plan[ck] = (s, prev.union(t_spec))

    # --- resume ---------------------------------------------------------------------------
    signature = _plan_signature(cfg, stages, teacher_ids, rt.world)
    resume_from = None
    if resume:
        latest = ckpt.latest()
        if latest is None:
            _say(rt, f"nothing to resume in {work / 'checkpoints'}; starting from the beginning")
        else:
            state, objs = ckpt.load(latest)
            if state.get("signature") != signature:
                raise BertEdgeError(f"{latest}: checkpoint was made with different settings "
                                    f"({_diff(state.get('signature'), signature)}); drop --resume to start over")
            resume_from = (state, objs)
            _say(rt, f"resuming from {latest.name} (stage {state['stage']}, step {state['step']})")
    else:
        if rt.is_main:
            shutil.rmtree(work / "checkpoints", ignore_errors=True)
            log.truncate(0)
        rt.barrier()

    fm_all = FeatureModel(student, FeatureSpec(), projections)  # holds everything a checkpoint saves
    summaries = list(resume_from[0].get("summaries", [])) if resume_from else []
    if resume_from is not None:
        fm_all.load_state_dict(resume_from[1]["model"])
    ctx = Context(rt, ckpt, log, seed, dcfg.checkpoint_every, dcfg.log_every, dcfg.max_grad_norm, progress,
                  dcfg.group_by_length)
    if rt.is_main and not resume_from:
        log.write({"event": "start", "method": method, "stages": stages, "student": sinfo.preset,
                   "params": count_parameters(student), "layer_map": layer_maps[stages[0]],
                   "world_size": rt.world, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    _say(rt, f"student {sinfo.preset}: {count_parameters(student) / 1e6:.1f}M parameters, "
             f"{s_layers} layers, hidden {s_width}, {sinfo.init}; method {method}; "
             f"stages {' -> '.join(stages)}; layer map {layer_maps[stages[0]]}"
             + (f"; {rt.world} processes" if rt.world > 1 else ""))

    for index, s in enumerate(stages):
        scfg = getattr(dcfg, STAGE_ATTR[s])
        stage_resume = None
        if resume_from is not None:
            r_state = resume_from[0]
            if index < r_state["stage_index"] or (index == r_state["stage_index"] and r_state["stage_done"]):
                continue
            if index == r_state["stage_index"]:
                stage_resume = resume_from
        dkey, data = dataset_for(s)
        # Stage-start seeds: projections/dropout streams do not depend on what ran before.
        torch.manual_seed(seed * 1000 + index * 101 + rt.rank)
        spec_s, spec_t = objectives[s].specs()
        teacher = stage_teacher[s]
        cache, info, live = None, {}, None
        if teacher is not None and objectives[s].needs_teacher:
            ck = (id(teacher), dkey)
            union = cache_plan[ck][1]
            if dcfg.cache_teacher:
                cache, info = _prepare_cache(teacher, data, union, dcfg, work, rt, progress, s, log,
                                             teacher_ids["general" if s == "general" else "task"])
            if cache is None:
                live = FeatureModel(teacher, spec_t)
        prediction = STAGE_KIND[s] == "prediction"
        if aug_info and s != "general":
            info["augmentation"] = aug_info
        stage = Stage(index=index, name=s, cfg=scfg, objective=objectives[s], data=data, teacher=live,
                      cache=cache,
                      evaluate=evaluator(tok, dev, dcfg.task_prediction.max_seq_length, rt, progress)
                      if prediction else None,
                      progressive=dcfg.progressive and not prediction, keep_best=prediction and dcfg.keep_best,
                      eval_every=dcfg.eval_every, info=info)
        fm = FeatureModel(student, spec_s, projections, projection_of[s])
        _say(rt, f"stage {s}: {len(data)} examples, losses "
                 + ", ".join(f"{k}x{v:g}" for k, v in objectives[s].weights.items())
                 + (f", teacher from cache" if cache is not None else
                    (", live teacher" if live is not None else ", no teacher")))
        summary = train_stage(ctx, stage, fm, resume=stage_resume,
                              state_extra={"signature": signature, "summaries": summaries})
        fm.close()
        if not prediction and teacher is not None and index + 1 < len(stages) \
                and STAGE_KIND[stages[index + 1]] == "prediction":
            spread = {"student": cls_spread(student, data, rt.device),
                      "teacher": cls_spread(teacher, data, rt.device)}
            summary["cls_spread"] = spread
            log.write({"event": "diagnostic", "stage": s, "cls_spread": spread})
            if spread["student"] < 0.01 * spread["teacher"]:
                _say(rt, f"warning: after {s} the student's [CLS] vector barely depends on the input "
                         f"(spread {spread['student']:.3f} vs the teacher's {spread['teacher']:.3f}); the "
                         "prediction stage may stall at chance: train this stage longer (more epochs or a "
                         "higher learning rate)")
        if live is not None:
            live.close()
        summaries.append(summary)
        # the stage-done checkpoint already holds the summaries before this one; rewrite it
        # so a resume after this point keeps this stage's summary too
        ckpt_state_path = ckpt.latest()
        if rt.is_main and ckpt_state_path is not None:
            st = json.loads((ckpt_state_path / "state.json").read_text(encoding="utf-8"))
            st["summaries"] = summaries
            write_json_atomic(ckpt_state_path / "state.json", st)
        rt.barrier()

    # --- final evaluation, agreement, save -----------------------------------------------------
    student.eval()
    final = evaluator(tok, dev, dcfg.task_prediction.max_seq_length, rt, progress)(student)
    teacher_acc = None
    if "task" in teachers:
        teacher_acc = evaluator(tok, dev, dcfg.task_prediction.max_seq_length, rt, progress)(teachers["task"])["accuracy"]
    checksums = rt.gather_objects(state_checksum(fm_all))
    if len(set(checksums)) > 1:
        raise RuntimeError(f"processes ended with different weights ({checksums}); distributed training diverged")
    records = log.records() if rt.is_main else []
    for summ in summaries:  # epochs and evals from the log: complete even across resumes
        summ["epochs"] = [r for r in records if r.get("event") == "epoch" and r["stage"] == summ["stage"]]
        summ["evals"] = [r for r in records if r.get("event") == "eval" and r["stage"] == summ["stage"]]
    metrics = {
        "dev_accuracy": final["accuracy"],
        "dev": final,
        "teacher_dev_accuracy": teacher_acc,
        "teacher_share": (final["accuracy"] / teacher_acc) if teacher_acc else None,
        "method": method,
        "stages": summaries,
        "student": {"preset": sinfo.preset, "family": sinfo.family, "model_type": student.config.model_type,
                    "params": count_parameters(student), "layers": s_layers, "hidden_size": s_width,
                    "hidden_act": student.config.hidden_act, "init": sinfo.init,
                    "init_layers": sinfo.init_layers, "notes": sinfo.notes},
        "teacher": {"general": general_spec, "task": str(task_dir) if task_dir is not None else None},
        "layer_map": layer_maps[stages[-1]],
        "head_alignment": head_aligns[stages[-1]],
        "train_examples": len(train),
        "dev_examples": len(dev),
        "augmentation": aug_info,
        "task_unlabeled_examples": n_task_unlabeled,
        "world_size": rt.world,
        "rank_checksums": checksums,
        "ranks_agree": len(set(checksums)) == 1,
        "seconds": round(time.time() - t_start, 1),
    }
    if rt.is_main:
        log.write({"event": "end", "dev_accuracy": final["accuracy"], "teacher_dev_accuracy": teacher_acc,
                   "seconds": metrics["seconds"]})
        with atomic_dir(out_dir, "student", "metrics.json") as tmp:
            student.config.architectures = [type(student).__name__]
            student.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            write_labels(tmp / "labels.txt", labels)
            if len(projections):
                from safetensors.torch import save_file

                meta = {"student_width": str(s_width),
                        "projection_of": json.dumps({s: projection_of[s] for s in stages})}
                save_file({k: v.detach().cpu().contiguous() for k, v in projections.state_dict().items()},
                          str(tmp / "projections.safetensors"), metadata=meta)
            shutil.copyfile(log.path, tmp / "distill_log.jsonl")
            write_json_atomic(tmp / "metrics.json", metrics)
        shutil.rmtree(work, ignore_errors=True)
    rt.barrier()
    return metrics


def cls_spread(model, data, device, n: int = 256) -> float:
    """How much the last layer's [CLS] vector varies across inputs: ||std|| / ||mean|| over up to
    `n` training examples. The classifier reads [CLS]; a student whose [CLS] is still constant
    after the intermediate stage (MiniLM's only becomes input-dependent in its last layer) makes
    the prediction stage stall at chance."""
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


def _prepare_cache(teacher, data, spec, dcfg, work: Path, rt, progress: bool, stage: str, log, ident):
    """Fill (or reuse) the teacher cache for `data`; returns (TeacherCache or None, info)."""
    import torch
    from tqdm.auto import tqdm

    from pipeline.distill.cache import TeacherCache, dataset_fingerprint, estimate_bytes, length_sorted_batches
    from pipeline.distill.features import FeatureModel, attention_geometry

    lengths = np.array([len(f["input_ids"]) for f in data.features], dtype=np.int64)
    heads = attention_geometry(teacher)[0]
    width = int(teacher.config.hidden_size)
    num_labels = int(getattr(teacher.config, "num_labels", 0) or 0) if spec.logits else 0
    est = estimate_bytes(lengths, spec, heads, width, num_labels, dcfg.cache_dtype)
    if est > dcfg.cache_max_gb * 1e9:
        _say(rt, f"warning: teacher cache for {stage} would take {est / 1e9:.1f} GB > distill.cache_max_gb="
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
        for b in tqdm(mine, desc=f"teacher cache ({stage})", disable=not (progress and rt.is_main),
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
    log.write({"event": "cache", "stage": stage, **info["cache"]})
    if built:
        _say(rt, f"teacher cache for {stage}: {built} examples in {seconds:.0f} s, "
                 f"{cache.nbytes() / 1e6:.0f} MB ({dcfg.cache_dtype})")
    return TeacherCache.open(path, mode="r"), info
