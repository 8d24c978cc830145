"""Which teacher layer each student layer learns from, and how attention heads line up.

Layers are numbered like `hidden_states`: 0 is the embedding output, 1..N the transformer
layers. A layer map is a list with one entry per student layer: `map[i]` is the teacher layer
(1..T) whose output and attention student layer i+1 imitates, or None for "no intermediate loss
on this student layer". The embedding output always pairs with the teacher's (0 -> 0).
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

from pipeline.errors import BertEdgeError


def uniform_layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """TinyBERT's uniform strategy g(m) = m * T / S, rounded half up for non-divisible depths.

    The last student layer always learns from the last teacher layer. Examples: 4 from 12 ->
    [3, 6, 9, 12]; 4 from 6 -> [2, 3, 5, 6]; 3 from 6 -> [2, 4, 6]; 8 from 6 -> [1, 2, 2, 3, 4, 5, 5, 6].
    """
    if student_layers < 1 or teacher_layers < 1:
        raise BertEdgeError(f"layer map: need at least one layer (student {student_layers}, "
                            f"teacher {teacher_layers})")
    # exact integer arithmetic: floor(m*T/S + 1/2)
    return [max(1, (2 * m * teacher_layers + student_layers) // (2 * student_layers))
            for m in range(1, student_layers + 1)]


def resolve_layer_map(user_map: Optional[Sequence], student_layers: int, teacher_layers: int,
                      where: str = "distill.layer_map") -> list[Optional[int]]:
    """Validate a user-given map (or build the uniform one); errors name the offending entry."""
    if user_map is None:
        return uniform_layer_map(student_layers, teacher_layers)
    if isinstance(user_map, str):  # "2,4,6" from the command line
        user_map = [None if p.strip().lower() in ("none", "null", "-") else p.strip()
                    for p in user_map.split(",")]
    if not isinstance(user_map, (list, tuple)):
        raise BertEdgeError(f"{where} must be a list of teacher layers, got {type(user_map).__name__}")
    if len(user_map) != student_layers:
        raise BertEdgeError(f"{where} has {len(user_map)} entries but the student has "
                            f"{student_layers} layers (one teacher layer per student layer)")
    out: list[Optional[int]] = []
    for i, v in enumerate(user_map):
        if v is None:
            out.append(None)
            continue
        try:
            if isinstance(v, bool) or float(v) != int(float(v)):
                raise ValueError
            layer = int(float(v))
        except (TypeError, ValueError):
            raise BertEdgeError(f"{where}[{i}]: '{v}' is not a teacher layer number") from None
        if not 1 <= layer <= teacher_layers:
            raise BertEdgeError(f"{where}[{i}]: teacher layer {layer} is out of range 1..{teacher_layers} "
                                f"(0 is the embedding output, which always pairs with the student's)")
        out.append(layer)
    if all(v is None for v in out):
        raise BertEdgeError(f"{where}: every entry is null; no layer would be distilled")
    mapped = [v for v in out if v is not None]
    if any(b < a for a, b in zip(mapped, mapped[1:])):
        warnings.warn(f"{where} {out} is not increasing: higher student layers learn from lower "
                      "teacher layers", stacklevel=2)
    return out


def layer_pairs(layer_map: Sequence[Optional[int]]) -> list[tuple[int, int]]:
    """(student layer, teacher layer) pairs for the transformer layers (1-based), skipping None."""
    return [(i + 1, t) for i, t in enumerate(layer_map) if t is not None]


def head_alignment(student_heads: int, teacher_heads: int, mode: str = "average") -> Optional[str]:
    """How attention losses compare heads: 'same', 'group-teacher' (average groups of teacher
    heads), 'group-student', 'mean' (average all heads on both sides), or None (skip)."""
    if student_heads == teacher_heads:
        return "same"
    if mode == "skip":
        warnings.warn(f"attention losses skipped: student has {student_heads} heads, teacher "
                      f"{teacher_heads} (distill.head_mismatch=skip)", stacklevel=2)
        return None
    if teacher_heads % student_heads == 0:
        return "group-teacher"
    if student_heads % teacher_heads == 0:
        return "group-student"
    return "mean"


def align_heads(student, teacher, how: str):
    """Bring [B, Hs, L, L] and [B, Ht, L, L] to the same head count (see `head_alignment`)."""
    if how == "same":
        return student, teacher
    if how == "group-teacher":
        b, h, q, k = teacher.shape
        g = h // student.shape[1]
        return student, teacher.reshape(b, h // g, g, q, k).mean(2)
    if how == "group-student":
        b, h, q, k = student.shape
        g = h // teacher.shape[1]
        return student.reshape(b, h // g, g, q, k).mean(2), teacher
    if how == "mean":
        return student.mean(1, keepdim=True), teacher.mean(1, keepdim=True)
    raise ValueError(how)
