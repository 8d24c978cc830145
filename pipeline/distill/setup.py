"""Everything the distillation loop needs, loaded and checked: `setup_distillation` -> `Setup`.

In order: the inputs (teacher directories) are checked before anything heavy is loaded; then
the tokenizer, labels and data; the teachers; the student; per phase its objective, layer map
and width projections; the task data (augmented, plus unlabeled sentences if asked); which
teacher outputs each cache must hold; and the resume point. The global RNG is seeded once here
and the teacher loads run in a forked RNG, so a run and its resumed copy draw the same numbers.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from pipeline.distill.plan import PHASE_ATTR, DistillPlan, check_task_teacher
from pipeline.errors import BertEdgeError


@dataclass
class Teachers:
    general: Any = None  # the pretrained base model (general phase)
    general_path: Any = None
    task: Any = None  # the fine-tuned classifier (task phases, augmentation, teacher accuracy)
    ids: dict = field(default_factory=dict)  # "general"/"task" -> teacher_identity: cache and resume keys


class Datasets:
    """Tokenized data per phase, built on first use and shared by phases with the same data and
    length (task-intermediate and task-prediction)."""

    def __init__(self, tok, unlabeled, texts, pairs, labels, dcfg):
        self.tok, self.unlabeled, self.dcfg = tok, unlabeled, dcfg
        self.texts, self.pairs, self.labels = texts, pairs, labels
        self._built: dict = {}

    def for_phase(self, phase: str):
        """(key, dataset): the key names the data set (and is what teacher caches are keyed on)."""
        from pipeline.data.tokenize import TokenizedDataset

        max_len = getattr(self.dcfg, PHASE_ATTR[phase]).max_seq_length
        key = ("general" if phase == "general" else "task", max_len)
        if key not in self._built:
            if phase == "general":
                self._built[key] = TokenizedDataset(self.tok, self.unlabeled, None, None, max_len)
            else:
                self._built[key] = TokenizedDataset(self.tok, self.texts, self.pairs, self.labels, max_len)
        return key, self._built[key]


@dataclass
class Setup:
    """What `loop.train_phases` and `save.finish` read; built by `setup_distillation`."""

    cfg: Any
    plan: DistillPlan
    rt: Any  # runtime.Runtime
    work: Path  # OUT.work: log, checkpoints, default teacher cache; removed on success
    ctx: Any  # trainer.Context (runtime, checkpointer, log, loop settings)
    tok: Any
    labels: list
    train: Any
    dev: Any
    evaluate: Callable  # model -> classification report on dev
    task_dir: Optional[Path]
    general_spec: Optional[str]
    teachers: Teachers
    phase_teacher: dict  # phase -> teacher model or None
    student: Any
    sinfo: Any  # students.StudentInfo
    objectives: dict  # phase -> Objective
    layer_maps: dict
    head_aligns: dict
    projections: Any  # nn.ModuleDict: student width -> teacher width, training only
    projection_of: dict  # phase -> {student layer: projection key}
    datasets: Datasets
    cache_specs: dict  # (id(teacher), data key) -> FeatureSpec: all that phases read from that cache
    aug_info: Optional[dict]
    n_task_unlabeled: int
    signature: dict  # the settings a checkpoint must match to be resumed
    resume_from: Optional[tuple]  # (state, objects) of the checkpoint resumed, or None
    summaries: list  # phase summaries so far (from the checkpoint when resuming)
    fm_all: Any  # student + all projections: what checkpoints save and ranks compare

    @property
    def log(self):
        return self.ctx.log

    @property
    def ckpt(self):
        return self.ctx.ckpt


def setup_distillation(cfg, plan: DistillPlan, teacher_dir, out_dir: Path, progress: bool,
                       resume: bool) -> Setup:
    """Load and check everything `plan` needs; with `resume`, find the checkpoint to continue from
    (else clear old checkpoints and log). Writes nothing before the inputs are known to be good."""
    import torch

    from pipeline.distill.checkpoint import Checkpointer
    from pipeline.distill.features import FeatureModel, FeatureSpec
    from pipeline.distill.runtime import make_runtime
    from pipeline.distill.trainer import Context, JsonlLog

    dcfg, phases, method = cfg.distill, plan.phases, plan.method
    work = out_dir.parent / f"{out_dir.name}.work"
    task_dir, needs_task_teacher, general_spec = _check_teachers(cfg, plan, teacher_dir)
    rt = make_runtime(dcfg.mixed_precision)
    torch.manual_seed(plan.seed)

    tok, labels, train, dev, unlabeled = _load_data(cfg, plan, task_dir)
    # the work dir (log, checkpoints) only once the inputs are known to be good: a bad input
    # leaves nothing behind
    log = JsonlLog(work / "distill_log.jsonl", rt.is_main)
    ckpt = Checkpointer(work / "checkpoints", rt.rank, rt.world, rt.barrier)

    teachers = _load_teachers(cfg, plan, task_dir, general_spec, needs_task_teacher, tok, rt)
    phase_teacher = {s: (teachers.general if s == "general" else teachers.task) for s in phases}
    if method == "labels-only":
        phase_teacher = {s: None for s in phases}
    student, sinfo, ref_config = _build_student(cfg, plan, teachers, phase_teacher, task_dir, labels, tok, rt)
    objectives, layer_maps, head_aligns, t_widths = _objectives(cfg, plan, student, phase_teacher, ref_config, rt)
    projections, projection_of = _projections(cfg, plan, student, sinfo, objectives, t_widths, rt)

    texts, pairs, task_labels, aug_info, n_task_unlabeled = _task_data(cfg, plan, tok, train, unlabeled,
                                                                        teachers, work, rt, progress)
    datasets = Datasets(tok, unlabeled, texts, pairs, task_labels, dcfg)
    # one cache per (teacher, data set), holding what all its phases read
    cache_specs: dict = {}
    for s in phases:
        if phase_teacher[s] is None or not objectives[s].needs_teacher:
            continue
        key = (id(phase_teacher[s]), datasets.for_phase(s)[0])
        cache_specs[key] = cache_specs.get(key, FeatureSpec()).union(objectives[s].specs()[1])

    signature = _signature(cfg, phases, teachers.ids, rt.world)
    resume_from = _resume_point(ckpt, signature, work, rt) if resume else _start_over(ckpt, log, work, rt)
    fm_all = FeatureModel(student, FeatureSpec(), projections)  # holds everything a checkpoint saves
    summaries = list(resume_from[0].get("summaries", [])) if resume_from else []
    if resume_from is not None:
        fm_all.load_state_dict(resume_from[1]["model"])
    ctx = Context(rt, ckpt, log, plan.seed, dcfg.checkpoint_every, dcfg.log_every, dcfg.max_grad_norm, progress,
                  dcfg.group_by_length)
    return Setup(cfg=cfg, plan=plan, rt=rt, work=work, ctx=ctx, tok=tok, labels=labels, train=train, dev=dev,
                 evaluate=evaluator(tok, dev, dcfg.task_prediction.max_seq_length, rt),
                 task_dir=task_dir, general_spec=general_spec, teachers=teachers, phase_teacher=phase_teacher,
                 student=student, sinfo=sinfo, objectives=objectives, layer_maps=layer_maps,
                 head_aligns=head_aligns, projections=projections, projection_of=projection_of,
                 datasets=datasets, cache_specs=cache_specs, aug_info=aug_info, n_task_unlabeled=n_task_unlabeled,
                 signature=signature, resume_from=resume_from, summaries=summaries, fm_all=fm_all)


def _check_teachers(cfg, plan: DistillPlan, teacher_dir):
    """(task teacher dir or None, whether the task phases need it, general teacher spec or None),
    checked before anything heavy is loaded."""
    from pipeline.teacher import check_distill_teacher, resolve

    needs_task_teacher = plan.method != "labels-only" and any(
        s != "general" and any(k != "ce" for k in plan.weights[s]) for s in plan.phases)
    task_dir = teacher_dir or cfg.teacher.finetuned
    if needs_task_teacher:
        task_dir = check_task_teacher(task_dir)
    elif task_dir is not None:
        task_dir = Path(task_dir)
    general_spec = cfg.teacher.model if "general" in plan.phases else None
    if general_spec is not None:
        src = resolve(general_spec)
        if src.is_local:
            check_distill_teacher(src.path)
    return task_dir, needs_task_teacher, general_spec


def _load_data(cfg, plan: DistillPlan, task_dir):
    """(tokenizer, label names, train, dev, unlabeled texts or None). The fine-tuned teacher's
    tokenizer and labels win: the student must read and answer as it does."""
    from pipeline.data import read_labels, resolve_labeled, resolve_unlabeled
    from pipeline.teacher import load_tokenizer, resolve

    tok_source = str(task_dir) if task_dir is not None else resolve(cfg.teacher.model).path
    tok = load_tokenizer(tok_source, cfg.teacher.trust_remote_code)
    labels = read_labels(task_dir / "labels.txt") if task_dir is not None and (task_dir / "labels.txt").is_file() \
        else None
    train = resolve_labeled(cfg.data.train, "train", cfg.data, label_names=labels)
    labels = labels or train.label_names
    dev = resolve_labeled(cfg.data.dev, "dev", cfg.data, label_names=labels)
    use_unlabeled = "general" in plan.phases or (cfg.distill.task_unlabeled and plan.method != "labels-only")
    if use_unlabeled and str(cfg.data.unlabeled).lower() == "none":
        raise BertEdgeError("distill.task_unlabeled needs an unlabeled corpus: set data.unlabeled (or --unlabeled)")
    unlabeled = resolve_unlabeled(cfg.data.unlabeled, cfg.data) if use_unlabeled else None
    return tok, labels, train, dev, unlabeled


def _load_teachers(cfg, plan: DistillPlan, task_dir, general_spec, needs_task_teacher: bool, tok, rt) -> Teachers:
    """The teachers the phases (and augmentation, and a distilbert-style init) use, on the device.
    Loading must not move the global RNG: a resumed run skips what drew from it before."""
    import torch

    from pipeline.distill.cache import teacher_identity
    from pipeline.teacher import load_base, load_classifier, load_tokenizer

    dcfg, phases, method = cfg.distill, plan.phases, plan.method
    t = Teachers()
    with torch.random.fork_rng(devices=[]):
        if "general" in phases:
            t.general, t.general_path = load_base(general_spec, cfg.teacher.trust_remote_code)
            gtok = load_tokenizer(t.general_path, cfg.teacher.trust_remote_code)
            if task_dir is not None and _vocab_signature(gtok) != _vocab_signature(tok):
                raise BertEdgeError(f"the pretrained teacher {general_spec} and the fine-tuned teacher {task_dir} "
                                    "have different vocabularies; the student can share only one")
        if task_dir is not None and (needs_task_teacher or (dcfg.augment and method != "labels-only")):
            t.task = load_classifier(str(task_dir), attn_implementation="sdpa",
                                     trust_remote_code=cfg.teacher.trust_remote_code)[0].eval()
        elif task_dir is not None and cfg.student.preset == "distilbert-style" and "general" not in phases:
            t.task = load_classifier(str(task_dir), attn_implementation="sdpa")[0].eval()
        for model in (t.general, t.task):
            if model is not None:
                model.to(rt.device)
    t.ids = {"general": teacher_identity(t.general_path) if t.general is not None else None,
             "task": teacher_identity(task_dir) if task_dir is not None else None}
    return t


def _build_student(cfg, plan: DistillPlan, teachers: Teachers, phase_teacher: dict, task_dir, labels, tok, rt):
    """(student on the device, its StudentInfo, the config it is shaped after)."""
    import torch
    from transformers import AutoConfig

    from pipeline.distill.students import build_student
    from pipeline.teacher import load_base, resolve

    init_teacher = phase_teacher[plan.phases[0]] or teachers.task or teachers.general
    if init_teacher is not None:
        ref_config = init_teacher.config
    else:
        ref_config = AutoConfig.from_pretrained(str(task_dir) if task_dir is not None
                                                else resolve(cfg.teacher.model).path)
    needs_init = cfg.student.preset == "distilbert-style" or (
        "teacher" in (cfg.student.init_embeddings, cfg.student.init_encoder)
        and not Path(cfg.student.preset).expanduser().is_dir())
    if needs_init and cfg.student.init_from:
        with torch.random.fork_rng(devices=[]):
            init_teacher, _ = load_base(cfg.student.init_from)
    elif needs_init and init_teacher is None:
        with torch.random.fork_rng(devices=[]):
            init_teacher, _ = load_base(str(task_dir) if task_dir is not None else cfg.teacher.model)
    student, sinfo = build_student(cfg.student, ref_config, labels, init_teacher=init_teacher, seed=plan.seed)
    student.to(rt.device)
    if tok.vocab_size > student.config.vocab_size:
        raise BertEdgeError(f"tokenizer has {tok.vocab_size} tokens, student vocab_size is "
                            f"{student.config.vocab_size}")
    return student, sinfo, ref_config


def _objectives(cfg, plan: DistillPlan, student, phase_teacher: dict, ref_config, rt):
    """Per phase: its Objective, layer map, head alignment and teacher width."""
    from pipeline.distill.features import attention_geometry
    from pipeline.distill.layer_map import head_alignment, resolve_layer_map
    from pipeline.distill.objective import Objective

    dcfg = cfg.distill
    s_layers = student.config.num_hidden_layers
    s_heads, _ = attention_geometry(student)
    objectives, layer_maps, head_aligns, t_widths = {}, {}, {}, {}
    for s in plan.phases:
        teacher = phase_teacher[s]
        tcfg = teacher.config if teacher is not None else ref_config
        lmap = resolve_layer_map(dcfg.layer_map, s_layers, tcfg.num_hidden_layers)
        t_heads = attention_geometry(teacher)[0] if teacher is not None else s_heads
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            align = head_alignment(s_heads, t_heads, dcfg.head_mismatch) if any(
                k in plan.weights[s] for k in ("attn", "at")) else "same"
        for w in caught:
            rt.say(f"warning: {w.message}")
        objectives[s] = Objective(plan.weights[s], lmap, s_layers, dcfg.temperature, align)
        layer_maps[s], head_aligns[s] = lmap, align
        t_widths[s] = int(tcfg.hidden_size)
    return objectives, layer_maps, head_aligns, t_widths


def _projections(cfg, plan: DistillPlan, student, sinfo, objectives: dict, t_widths: dict, rt):
    """(ModuleDict of learned student -> teacher width projections, phase -> {layer: key}).
    A student directory that was distilled before brings its projections along."""
    import torch
    from torch import nn

    projections = nn.ModuleDict()
    projection_of = {}
    s_width = int(student.config.hidden_size)
    torch.manual_seed(plan.seed + 1)
    for s in plan.phases:
        spec_s, _ = objectives[s].specs()
        pmap = {}
        if s_width != t_widths[s]:
            for layer in spec_s.hidden:
                key = "shared" if cfg.distill.projection == "shared" else f"layer{layer}"
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
    return projections, projection_of


def _task_data(cfg, plan: DistillPlan, tok, train, unlabeled, teachers: Teachers, work: Path, rt, progress: bool):
    """(texts, pairs, labels, augmentation info or None, number of unlabeled sentences added) of
    the task phases: the training set, plus augmented copies and unlabeled sentences if asked."""
    import torch

    dcfg, method, phases = cfg.distill, plan.method, plan.phases
    aug_info = None
    texts, pairs, labels = train.texts, train.pairs, train.labels
    if dcfg.augment and method != "labels-only" and any(s != "general" for s in phases):
        if teachers.task is None:
            raise BertEdgeError("augmentation needs the fine-tuned teacher's embeddings: pass --teacher")
        with torch.random.fork_rng(devices=[]):
            d = _augment(cfg, tok, train, teachers, work, rt, progress)
        texts, pairs, labels = d["texts"], d["pairs"], d["labels"]
        aug_info = {"original": len(train), "augmented": len(texts) - len(train),
                    "source": d["source"], "seconds": d["seconds"]}
        rt.say(f"augmentation: {len(train)} -> {len(texts)} training sentences "
               f"({d['source']}, {d['seconds']:.0f} s)")
    n_unlabeled = 0
    if dcfg.task_unlabeled and method != "labels-only" and any(s != "general" for s in phases):
        from pipeline.distill.losses import IGNORE_LABEL

        if pairs is not None:
            raise BertEdgeError("distill.task_unlabeled works for single-sentence tasks only")
        known = set(texts)
        extra = [t for t in unlabeled if t not in known]
        texts = list(texts) + extra
        labels = list(labels) + [IGNORE_LABEL] * len(extra)
        n_unlabeled = len(extra)
        rt.say(f"task phases also distill on {len(extra)} unlabeled sentences (teacher labels only)")
    return texts, pairs, labels, aug_info, n_unlabeled


def _resume_point(ckpt, signature: dict, work: Path, rt) -> Optional[tuple]:
    """(state, objects) of the newest checkpoint, or None if there is none; a checkpoint made
    with other settings is refused (its weights would not mean the same)."""
    latest = ckpt.latest()
    if latest is None:
        rt.say(f"nothing to resume in {work / 'checkpoints'}; starting from the beginning")
        return None
    state, objs = ckpt.load(latest)
    if state.get("signature") != signature:
        raise BertEdgeError(f"{latest}: checkpoint was made with different settings "
                            f"({_diff(state.get('signature'), signature)}); drop --resume to start over")
    rt.say(f"resuming from {latest.name} (phase {state['phase']}, step {state['step']})")
    return state, objs


def _start_over(ckpt, log, work: Path, rt) -> None:
    if rt.is_main:
        shutil.rmtree(work / "checkpoints", ignore_errors=True)
        log.truncate(0)
    rt.barrier()
    return None


def _signature(cfg, phases, teacher_ids, world) -> dict:
    """The settings that decide the weights (not how often to log or checkpoint, nor where the
    cache lives)."""
    d = asdict(cfg.distill)
    for k in ("checkpoint_every", "log_every", "cache_dir", "cache_max_gb", "cache_all_layers"):
        d.pop(k, None)
    return {"distill": d, "phases": phases, "student": asdict(cfg.student),
            "data": {k: v for k, v in asdict(cfg.data).items()}, "teachers": teacher_ids,
            "seed": cfg.seed, "world_size": world}


def _diff(a, b, prefix="") -> str:
    """The first key path where two nested dicts differ, as 'path: old -> new'."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
            if d:
                return d
        return ""
    return f"{prefix}: {a!r} -> {b!r}" if a != b else ""


def _vocab_signature(tok) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(sorted(tok.get_vocab().items())).encode()).hexdigest()


def evaluator(tok, dev, max_length: int, rt):
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


def _augment(cfg, tok, train, teachers: Teachers, work: Path, rt, progress: bool):
    """Augmented (texts, pairs, labels), computed on process 0 and stored in the work dir."""
    import hashlib

    import torch

    from pipeline.distill.augment import Augmenter, has_mlm_head

    dcfg = cfg.distill
    key = hashlib.sha256(json.dumps([train.texts, train.pairs, train.labels, dcfg.augment_factor,
                                     dcfg.augment_prob, dcfg.augment_candidates, cfg.seed,
                                     teachers.ids], default=str).encode()).hexdigest()[:16]
    path = work / f"augmented-{key}.json"
    if rt.is_main and not path.is_file():
        t0 = time.time()
        mlm = None
        gen_path = teachers.general_path
        if gen_path and Path(gen_path).is_dir() and has_mlm_head(gen_path):
            import transformers
            from transformers import AutoModelForMaskedLM

            transformers.logging.set_verbosity_error()
            mlm = AutoModelForMaskedLM.from_pretrained(gen_path).to(rt.device).eval()
        emb = None
        if mlm is None:
            emb = teachers.task.get_input_embeddings().weight
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
    return json.loads(path.read_text(encoding="utf-8"))
