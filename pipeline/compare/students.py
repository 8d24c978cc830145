"""The students of a comparison: names checked up front, and each one's run config.

Each student runs as its own chain under OUTPUT_DIR/students/<preset>/ with the shared teacher
given as `teacher.finetuned` and the shared teacher cache as `distill.cache_dir` holding every
teacher layer (`distill.cache_all_layers`), so the first student's teacher pass serves the others
whatever their layer maps. None of these is part of the distill fingerprint beyond the teacher's
content hash, so reuse works as in `bert-edge run`.
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path

from pipeline.errors import BertEdgeError

STUDENTS_DIR = "students"
CACHE_DIR = "teacher-cache"


def check_students(names: list, flag: str = "--students") -> list[str]:
    """Preset names, each known and given once; one-line error otherwise."""
    from pipeline.distill.students import PRESETS

    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise BertEdgeError(f"{flag}: no student given (presets: {', '.join(PRESETS)})")
    for n in names:
        if n not in PRESETS:
            close = difflib.get_close_matches(n, list(PRESETS), n=1, cutoff=0.4)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BertEdgeError(f"{flag}: unknown student preset '{n}'{hint}; presets: {', '.join(PRESETS)}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BertEdgeError(f"{flag}: {', '.join(dup)} given more than once")
    return names


def check_overrides(cfg) -> None:
    """compare.overrides and compare.distill may only name student presets (a typo would
    silently do nothing; a config may carry settings for students a run leaves out), and
    compare.distill only distill keys."""
    from pipeline.distill.students import PRESETS

    for key in ("overrides", "distill"):
        section = getattr(cfg.compare, key)
        extra = [str(k) for k in section if k not in PRESETS]
        if extra:
            close = difflib.get_close_matches(extra[0], list(PRESETS), n=1, cutoff=0.4)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BertEdgeError(f"config key 'compare.{key}': {', '.join(extra)} is not a student preset{hint}; "
                                f"presets: {', '.join(PRESETS)}")
    for preset in cfg.compare.distill:
        distill_config(cfg, preset)


def distill_config(cfg, preset: str):
    """The distill section of one student: compare.distill[preset] merged over cfg.distill."""
    from pipeline.config import DistillConfig, build, to_dict

    extra = cfg.compare.distill.get(preset)
    if not extra:
        return copy.deepcopy(cfg.distill)
    if not isinstance(extra, dict):
        raise BertEdgeError(f"config key 'compare.distill.{preset}' must be a mapping of distill keys")
    return build(DistillConfig, _merged(to_dict(cfg.distill), extra), prefix=f"compare.distill.{preset}")


def _merged(base: dict, extra: dict) -> dict:
    """Sections merge key by key; loss_weights is a value and is replaced (as everywhere)."""
    out = dict(base)
    for k, v in extra.items():
        nested = isinstance(v, dict) and isinstance(base.get(k), dict) and k != "loss_weights"
        out[k] = _merged(base[k], v) if nested else v
    return out


def targets(cfg) -> list[str]:
    from converters.common import parse_targets

    return parse_targets(cfg.convert.targets)


def base_config(cfg):
    """The config of the shared teacher's chain (OUTPUT_DIR/teacher): nothing is ever bundled,
    so bundle.backends is narrowed to the converted targets and bundle.dir to OUTPUT_DIR/bundle."""
    c = copy.deepcopy(cfg)
    c.bundle.dir = str(Path(cfg.output_dir) / "bundle")
    c.bundle.backends = [b for b in cfg.bundle.backends if b in targets(cfg)]
    return c


def student_dir(cfg, preset: str) -> Path:
    return Path(cfg.output_dir) / STUDENTS_DIR / preset


def student_config(cfg, preset: str, teacher: Path):
    """The run config of one student: its own output_dir, preset and overrides (student.overrides
    with compare.overrides[preset] on top), the shared teacher and teacher cache."""
    c = base_config(cfg)
    out = student_dir(cfg, preset)
    c.output_dir = str(out)
    c.student.preset = preset
    c.student.overrides = {**cfg.student.overrides, **cfg.compare.overrides.get(preset, {})}
    c.distill = distill_config(cfg, preset)
    c.teacher.finetuned = str(teacher)
    if not cfg.distill.cache_dir:
        c.distill.cache_dir = str(Path(cfg.output_dir) / CACHE_DIR)
    c.distill.cache_all_layers = True  # one teacher pass serves every student's layer map
    c.bundle.dir = str(out / "bundle")  # never written: compare stops after parity
    return c
