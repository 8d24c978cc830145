"""Student architectures: presets, custom configs, and DistilBERT-style initialization.

Every student is a Hugging Face `...ForSequenceClassification` model that shares the teacher's
tokenizer (same vocabulary, positions and token types). BERT students use `hidden_act="gelu_new"`
(the tanh approximation of GELU) and MobileBERT students `relu`: both lower to TFLite builtin ops,
whereas the exact erf GELU of the teachers becomes a Flex op or a slow decomposition.
"""
from __future__ import annotations

import difflib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pipeline.distill.weight_selection import incompatibility, select_from_teacher, spread_layers
from pipeline.errors import BertEdgeError

TFLITE_FRIENDLY_ACTS = ("gelu_new", "gelu_pytorch_tanh", "relu", "relu6")

# name -> (family, description, config keys). Values that depend on the teacher are filled in
# by `student_config`.
PRESETS: dict[str, tuple[str, str, dict]] = {
    "tinybert-4l-312d": ("bert", "TinyBERT-4L: 4 layers, hidden 312, FFN 1200, 12 heads (~14.5M params)",
                         dict(num_hidden_layers=4, hidden_size=312, intermediate_size=1200,
                              num_attention_heads=12)),
    "tinybert-6l-768d": ("bert", "TinyBERT-6L: 6 layers, hidden 768, FFN 3072, 12 heads (~67M params)",
                         dict(num_hidden_layers=6, hidden_size=768, intermediate_size=3072,
                              num_attention_heads=12)),
    "mobilebert": ("mobilebert", "MobileBERT-style: inter-block width = teacher hidden size, bottleneck "
                   "128, 4 heads, 2 FFNs per block, relu, NoNorm, as many layers as the teacher",
                   dict(embedding_size=128, true_hidden_size=128, intra_bottleneck_size=128,
                        num_attention_heads=4, intermediate_size=512, num_feedforward_networks=2,
                        use_bottleneck=True, use_bottleneck_attention=False,
                        key_query_shared_bottleneck=True, normalization_type="no_norm",
                        trigram_input=True, hidden_act="relu", hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.1, classifier_activation=False)),
    "distilbert-style": ("distil", "DistilBERT-style: the teacher's architecture with half its layers, "
                         "initialized from every other teacher layer, the last one included", {}),
}

_COPY_FROM_TEACHER = ("vocab_size", "max_position_embeddings", "type_vocab_size", "pad_token_id",
                      "layer_norm_eps", "initializer_range")


@dataclass
class StudentInfo:
    preset: str
    family: str  # bert | mobilebert | distil | dir | config
    description: str
    init: str = "random"
    init_layers: Optional[list] = None
    loaded_from: Optional[str] = None
    notes: list = field(default_factory=list)


def preset_names() -> list[str]:
    return list(PRESETS)


def _label_kwargs(labels) -> dict:
    return dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={l: i for i, l in enumerate(labels)})


def _apply_overrides(cfg, overrides: dict, where: str = "student.overrides"):
    known = set(cfg.to_dict())
    for key, value in (overrides or {}).items():
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BertEdgeError(f"{where}: '{key}' is not a {cfg.model_type} config key{hint}")
        setattr(cfg, key, value)
    return cfg


def _check_activation(cfg, info: StudentInfo) -> None:
    act = getattr(cfg, "hidden_act", None)
    if isinstance(act, str) and act not in TFLITE_FRIENDLY_ACTS:
        msg = (f"student hidden_act '{act}' is not a TFLite builtin activation; use gelu_new "
               "(tanh GELU) or relu so the converted model has no Flex ops")
        warnings.warn(msg, stacklevel=3)
        info.notes.append(msg)


def _check_shape(cfg) -> None:
    if cfg.model_type == "bert" and cfg.hidden_size % cfg.num_attention_heads:
        raise BertEdgeError(f"student hidden_size {cfg.hidden_size} is not a multiple of "
                            f"num_attention_heads {cfg.num_attention_heads}")
    if cfg.model_type == "mobilebert" and cfg.true_hidden_size % cfg.num_attention_heads:
        raise BertEdgeError(f"student true_hidden_size {cfg.true_hidden_size} is not a multiple of "
                            f"num_attention_heads {cfg.num_attention_heads}")
    if cfg.num_hidden_layers < 1:
        raise BertEdgeError("student num_hidden_layers must be >= 1")


def check_preset(name: str) -> None:
    """Fail early (before any model loads) on a preset name that is neither a preset nor a path."""
    path = Path(name).expanduser()
    if name in PRESETS or path.exists() or "/" in name or name.endswith(".json"):
        return
    close = difflib.get_close_matches(name, list(PRESETS), n=1, cutoff=0.4)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise BertEdgeError(f"unknown student preset '{name}'{hint}; presets: {', '.join(PRESETS)}, "
                        "or a student directory / config.json")


def student_config(spec, teacher_config, labels):
    """(HF config, StudentInfo) for `spec` (a StudentConfig) given the teacher's HF config.

    `spec.preset` may also be a student directory (weights are loaded by `build_student`) or a
    config.json path.
    """
    from transformers import AutoConfig, BertConfig, MobileBertConfig

    name = spec.preset
    path = Path(name).expanduser()
    if name not in PRESETS and (path.exists() or "/" in name or name.endswith(".json")):
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise BertEdgeError(f"student.preset {path}: no config.json (not a model directory)")
            cfg = AutoConfig.from_pretrained(str(path))
            info = StudentInfo(str(path), "dir", f"continued from {path}", init="loaded",
                               loaded_from=str(path))
        elif path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise BertEdgeError(f"{path}: not a JSON config ({e})") from None
            mt = raw.get("model_type", "bert")
            if mt not in ("bert", "mobilebert"):
                raise BertEdgeError(f"{path}: student model_type '{mt}' is not supported (bert, mobilebert)")
            cfg = (BertConfig if mt == "bert" else MobileBertConfig)(**raw)
            info = StudentInfo(str(path), "config", f"custom config {path}")
        else:
            raise BertEdgeError(f"student.preset '{name}': no such file or directory")
        if cfg.model_type not in ("bert", "mobilebert"):
            raise BertEdgeError(f"student {name}: model type '{cfg.model_type}' is not supported")
        cfg = _apply_overrides(cfg, spec.overrides)
        for k, v in _label_kwargs(labels).items():
            setattr(cfg, k, v)
        if cfg.vocab_size != teacher_config.vocab_size:
            raise BertEdgeError(f"student {name} has vocab_size {cfg.vocab_size}, the teacher "
                                f"{teacher_config.vocab_size}: students share the teacher's tokenizer")
        _check_shape(cfg)
        _check_activation(cfg, info)
        return cfg, info
    check_preset(name)
    family, desc, keys = PRESETS[name]
    shared = {k: getattr(teacher_config, k) for k in _COPY_FROM_TEACHER if hasattr(teacher_config, k)}
    info = StudentInfo(name, family, desc)
    if family == "bert":
        cfg = BertConfig(**{**shared, **keys, "hidden_act": "gelu_new"})
    elif family == "mobilebert":
        # The inter-block width matches the teacher's hidden size, so feature maps transfer
        # without a projection (a learned one is added if an override changes it).
        cfg = MobileBertConfig(**{**shared, **keys, "hidden_size": teacher_config.hidden_size,
                                  "num_hidden_layers": teacher_config.num_hidden_layers})
    else:  # distil
        if teacher_config.model_type not in ("bert", "mobilebert"):
            raise BertEdgeError(f"student {name} is a copy of every other teacher layer: it needs a "
                                f"bert or mobilebert teacher, not {teacher_config.model_type} (use "
                                "tinybert-4l-312d or mobilebert, which imitate any teacher)")
        d = teacher_config.to_dict()
        for k in ("architectures", "id2label", "label2id", "num_labels", "_name_or_path",
                  "transformers_version", "finetuning_task", "problem_type"):
            d.pop(k, None)
        cls = BertConfig if teacher_config.model_type == "bert" else MobileBertConfig
        cfg = cls(**d)
        cfg.num_hidden_layers = max(1, teacher_config.num_hidden_layers // 2)
        if cfg.hidden_act in ("gelu", "gelu_python", "gelu_accurate"):
            cfg.hidden_act = "gelu_new"
    cfg = _apply_overrides(cfg, spec.overrides)
    for k, v in _label_kwargs(labels).items():
        setattr(cfg, k, v)
    _check_shape(cfg)
    _check_activation(cfg, info)
    return cfg, info


def build_student(spec, teacher_config, labels, init_teacher=None, seed: int = 0):
    """(student model, StudentInfo). `init_teacher` (a loaded teacher, base or classifier) is
    required for distilbert-style students, whose weights are copied from it."""
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    cfg, info = student_config(spec, teacher_config, labels)
    torch.manual_seed(seed)
    if info.family == "dir":
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                info.loaded_from, config=cfg, ignore_mismatched_sizes=True)
        except Exception as e:
            raise BertEdgeError(f"{info.loaded_from}: cannot load the student "
                                f"({(str(e).splitlines() or ['?'])[0]})") from None
        finally:
            transformers.logging.set_verbosity(verbosity)
        return model, info
    model = AutoModelForSequenceClassification.from_config(cfg)
    if spec.init_embeddings not in ("teacher", "random"):
        raise BertEdgeError(f"student.init_embeddings '{spec.init_embeddings}' is not one of: teacher, random")
    if spec.init_encoder not in ("teacher", "random"):
        raise BertEdgeError(f"student.init_encoder '{spec.init_encoder}' is not one of: teacher, random")
    sliced = False
    if info.family in ("bert", "config") and spec.init_encoder == "teacher":
        if init_teacher is None:
            raise BertEdgeError("student.init_encoder=teacher needs a teacher; none loaded")
        why = incompatibility(model.config, init_teacher.config)
        if why is None:
            layers = _init_layers(spec, cfg.num_hidden_layers, init_teacher.config.num_hidden_layers,
                                  spread_layers)
            info.init = select_from_teacher(model, init_teacher, layers)
            info.init_layers = layers
            sliced = True
        elif spec.init_from:  # asked for by name: falling back to random would hide it
            raise BertEdgeError(f"student.init_from={spec.init_from}: cannot slice the student from it ({why})")
        else:
            info.notes.append(f"layers start random: cannot slice the teacher ({why})")
    if not sliced and info.family in ("bert", "mobilebert", "config") and spec.init_embeddings == "teacher":
        if init_teacher is None:
            raise BertEdgeError("student.init_embeddings=teacher needs a teacher; none loaded")
        info.init = init_embeddings_from_teacher(model, init_teacher)
    if info.family == "distil":
        if init_teacher is None:
            raise BertEdgeError("distilbert-style students are initialized from a teacher; none loaded")
        if cfg.num_hidden_layers > teacher_config.num_hidden_layers:
            raise BertEdgeError(f"distilbert-style student with {cfg.num_hidden_layers} layers cannot be "
                                f"initialized from a {teacher_config.num_hidden_layers}-layer teacher")
        # every other layer, ending at the last: the layers the uniform layer map has each student
        # layer imitate (3 of 6 -> [1, 3, 5]), so the copy starts where its intermediate losses
        # want it and keeps the layer the pooler and classifier read
        layers = _init_layers(spec, cfg.num_hidden_layers, teacher_config.num_hidden_layers, spread_layers)
        copied = init_from_teacher(model, init_teacher, layers)
        info.init = f"copied from the teacher ({copied} tensors)"
        info.init_layers = layers
    if spec.init_from and info.init:
        info.init += f"; the teacher here: student.init_from={spec.init_from}"
    return model, info


def _init_layers(spec, student_layers: int, teacher_layers: int, default) -> list[int]:
    """The teacher layers (0-based) a student copies: `student.init_layers` checked, or
    `default(teacher_layers, student_layers)` when unset."""
    layers = spec.init_layers if spec.init_layers is not None else default(teacher_layers, student_layers)
    if len(layers) != student_layers or any(
            isinstance(l, bool) or not isinstance(l, int) or not 0 <= l < teacher_layers for l in layers):
        raise BertEdgeError(f"student.init_layers {layers}: need {student_layers} teacher "
                            f"layer indices in 0..{teacher_layers - 1}")
    return list(layers)


def projection_basis(weight, dim: int):
    """[H, dim] matrix mapping H-dim teacher embeddings to `dim` dims: the identity when the
    widths match, the top principal directions of `weight` [V, H] when narrower, and those plus
    small random columns when wider."""
    import torch

    w = weight.detach().float()
    h = w.shape[1]
    if dim == h:
        return torch.eye(h)
    centered = w - w.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(centered, full_matrices=False)  # rows of vh: principal directions
    basis = vh[: min(dim, h)].T  # [H, min(dim, H)]
    if dim > h:
        gen = torch.Generator().manual_seed(0)
        extra = torch.randn(h, dim - h, generator=gen) * 0.02
        basis = torch.cat([basis, extra], dim=1)
    return basis


def init_embeddings_from_teacher(student, teacher) -> str:
    """Start the student's word, position and token-type embeddings from the teacher's,
    projected to the student's widths (PCA of the teacher's word embeddings). Most of a small
    student's parameters are its embeddings, and a task set rarely shows it every word and
    position; starting from the teacher's lexical knowledge is worth several accuracy points."""
    import torch

    t_emb, s_emb = teacher.base_model.embeddings, student.base_model.embeddings
    tw = t_emb.word_embeddings.weight
    if tw.shape[0] != s_emb.word_embeddings.weight.shape[0]:
        return "random (vocabulary sizes differ)"
    bases: dict = {}

    def basis(dim):
        if dim not in bases:
            bases[dim] = projection_basis(tw, dim).to(tw.device)
        return bases[dim]

    with torch.no_grad():
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            t, s = getattr(t_emb, name, None), getattr(s_emb, name, None)
            if t is None or s is None:
                continue
            rows = min(t.weight.shape[0], s.weight.shape[0])
            s.weight[:rows] = (t.weight[:rows].float() @ basis(s.weight.shape[1])).to(s.weight.dtype)
    widths = sorted({getattr(s_emb, n).weight.shape[1] for n in ("word_embeddings", "position_embeddings")})
    how = "copied" if widths == [tw.shape[1]] else f"PCA {tw.shape[1]} -> {'/'.join(map(str, widths))}"
    if getattr(s_emb, "embedding_transformation", None) is not None:
        _map_back_to_hidden(s_emb, tw, basis)
        how += ", mapped back to the hidden width"
    if _is_affine_norm(s_emb.LayerNorm):
        _fit_affine_norm(student, teacher, basis(s_emb.position_embeddings.weight.shape[1]))
        how += ", NoNorm fitted to the teacher's LayerNorm"
    return f"embeddings from the teacher ({how}), layers random"


def _map_back_to_hidden(s_emb, tw, basis) -> None:
    """MobileBERT reads its narrow word embeddings through `embedding_transformation` (of the
    trigram [next, current, previous] when `trigram_input`). Starting that map random throws the
    PCA init away; instead it maps the current token's embedding back to the teacher's space
    (the PCA basis transposed, plus the mean the PCA dropped), so the embedding output starts as
    the teacher's word embedding up to the discarded principal directions."""
    import torch

    lin = s_emb.embedding_transformation
    e = s_emb.word_embeddings.weight.shape[1]
    hidden = lin.weight.shape[0]
    slot = e if getattr(s_emb, "trigram_input", False) else 0
    b_e, b_h = basis(e), basis(hidden)  # [H_t, E], [H_t, H_s]
    mean = tw.detach().float().mean(0)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[:, slot:slot + e] = (b_h.T @ b_e).to(lin.weight.dtype)
        lin.bias.copy_(((mean - mean @ b_e @ b_e.T) @ b_h).to(lin.bias.dtype))


def _is_affine_norm(module) -> bool:
    """MobileBERT's NoNorm: an elementwise scale and shift, no normalization."""
    return type(module).__name__ == "NoNorm"


def _fit_affine_norm(student, teacher, b_h, samples: int = 4096) -> None:
    """Fit the embeddings' NoNorm (x * w + b per feature) to the teacher's embedding LayerNorm by
    least squares over random (token, position) pairs, so the first student layer sees inputs
    on the teacher's scale."""
    import torch

    s_emb, t_emb = student.base_model.embeddings, teacher.base_model.embeddings
    norm = s_emb.LayerNorm
    gen = torch.Generator().manual_seed(0)
    vocab = s_emb.word_embeddings.weight.shape[0]
    positions = min(s_emb.position_embeddings.weight.shape[0], t_emb.position_embeddings.weight.shape[0])
    length = min(positions, 64)
    ids = torch.randint(0, vocab, (max(1, samples // length), length), generator=gen)
    was_training = (student.training, teacher.training)
    student.eval(), teacher.eval()
    with torch.no_grad():
        norm.weight.fill_(1.0), norm.bias.zero_()
        x = s_emb(input_ids=ids).reshape(-1, norm.weight.shape[0]).float()
        y = (t_emb(input_ids=ids).float() @ b_h.to(t_emb.word_embeddings.weight.device)).reshape(x.shape)
        xc, yc = x - x.mean(0), y - y.mean(0)
        w = (xc * yc).sum(0) / (xc * xc).sum(0).clamp_min(1e-12)
        norm.weight.copy_(w.to(norm.weight.dtype))
        norm.bias.copy_((y.mean(0) - w * x.mean(0)).to(norm.bias.dtype))
    student.train(was_training[0]), teacher.train(was_training[1])


def init_from_teacher(student, teacher, layers: list[int]) -> int:
    """Copy embeddings, the chosen encoder layers (student layer i <- teacher layer layers[i]),
    the pooler and, when shapes match, the classifier. Returns the number of tensors copied."""
    import torch

    t_state = teacher.base_model.state_dict()
    s_base = student.base_model
    new = {}
    for key, value in s_base.state_dict().items():
        src = key
        if key.startswith("encoder.layer."):
            parts = key.split(".")
            parts[2] = str(layers[int(parts[2])])
            src = ".".join(parts)
        if src in t_state and t_state[src].shape == value.shape:
            new[key] = t_state[src]
    missing = [k for k in s_base.state_dict() if k not in new]
    if any(k.startswith("encoder.") or k.startswith("embeddings.") for k in missing):
        raise BertEdgeError(f"distilbert-style init: teacher lacks {missing[:3]} (architectures differ)")
    s_base.load_state_dict(new, strict=False)
    copied = len(new)
    t_cls = getattr(teacher, "classifier", None)
    s_cls = getattr(student, "classifier", None)
    if isinstance(t_cls, torch.nn.Module) and isinstance(s_cls, torch.nn.Module):
        ts, ss = t_cls.state_dict(), s_cls.state_dict()
        if ts.keys() == ss.keys() and all(ts[k].shape == ss[k].shape for k in ts):
            s_cls.load_state_dict(ts)
            copied += len(ts)
    return copied


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
