"""The one validation step every conversion runs on its own artifact before it gets its final name.

1. Format checks: TFLite uses builtin ops only (no custom/Flex op; it loads and runs in
   ai_edge_litert, which has no Flex delegate), clean input/output names, int32 [1, L] inputs.
2. Parity: logits of the artifact (through its real runtime) vs the float student (PyTorch,
   fp32, eager) on a fixed set of real sentences tokenized by the model's own tokenizer with
   `padding="max_length"`: many padding lengths, an empty text ([CLS] [SEP]), a bare [CLS], and
   a text that fills max_seq_length exactly.
3. Real length: the same cases run at their own length (cut after the last real token plus
   the model's trailing context, converters/real_length.py) — what an app feeds. They must
   match the float student within the same tolerance AND the padded run of the same file
   (argmax identical, max |diff| within the tolerance).
4. Mask probe: the padded cases again with the sentence's own tokens repeated into the padded
   positions (all but the first). A graph that respects the attention mask moves its logits
   no more than the float student does (not at all for BERT); one that ignores the mask, or
   had it baked in by tracing, does. This catches mask bugs even for
   targets whose parity tolerance is loose (full int8).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from converters.backends import REGISTRY
from converters.backends import bound as tolerance_bound
from converters.common import (INPUT_NAMES, OUTPUT_NAME, ConversionError, encode_fixed,
                               native_stderr)

# Real sentences of many lengths (movie reviews plus everyday text). Deterministic: the same
# cases every run, so reports are comparable.
VALIDATION_TEXTS = (
    "A gripping, beautifully acted film.",
    "Terrible.",
    "I expected the plot to be predictable, but the final act genuinely surprised me.",
    "The soundtrack is lovely, although the second half drags and the dialogue feels stale.",
    "not good at all",
    "What a wonderful, funny and moving story -- I would happily watch it again with my family!",
    "The service at the restaurant was slow, the food arrived cold, and nobody apologized.",
    "It's fine.",
    "Although the visual effects are stunning, the characters are so thin that I stopped caring "
    "halfway through, and by the end I was checking my watch every five minutes.",
    "Best purchase I've made this year; the battery lasts for days.",
    "The documentary is thoughtful, honest and never preachy.",
    "Meh. Boring, overlong and badly edited, with a lead performance that feels phoned in.",
)
LONG_TEXT = (
    "This film starts slowly, with a long opening that introduces far too many characters, but "
    "once the story finds its footing the performances carry it; the lead is charming, the "
    "supporting cast is sharp and funny, the photography is gorgeous, and the score swells at "
    "exactly the right moments, so even though the plot is predictable and the ending is rushed "
    "I left the theater smiling and I would recommend it to anyone who enjoys a warm, old "
    "fashioned crowd pleaser with heart, humor and a few genuinely surprising turns along the way. "
)

# Per backend (atol, rtol) bounds from the registry; tests patch these dicts.
TOLERANCES: dict = {b.id: b.tolerance for b in REGISTRY.values()}
PROBE_TOLERANCES: dict = {b.id: b.probe_tolerance for b in REGISTRY.values()}


@dataclass
class ValidationSet:
    kinds: list  # per row: a short description of the case
    arrays: dict  # name -> int32 [n, L]
    probe_rows: list  # rows that have padding (used by the mask probe)
    probe_arrays: dict  # the probe rows with the text's own tokens in padded positions
    reference: Optional[np.ndarray] = None  # float student logits [n, num_labels]
    probe_reference: Optional[np.ndarray] = None  # float student logits on the probe rows

    @property
    def n(self) -> int:
        return int(self.arrays["input_ids"].shape[0])


def encode(tokenizer, texts, max_seq_length: int) -> dict:
    """int32 [n, L] inputs as the exported graphs take them."""
    return encode_fixed(tokenizer, list(texts), max_length=max_seq_length)


def build_validation_set(tokenizer, max_seq_length: int, vocab_size: Optional[int] = None,
                         texts=None, type_vocab_size: int = 2) -> ValidationSet:
    """The fixed validation inputs (vocab_size/type_vocab_size are accepted for compatibility;
    the mask probe uses the texts' own tokens)."""
    texts = list(texts or VALIDATION_TEXTS)
    long_text = LONG_TEXT * (1 + max_seq_length // 40)
    all_texts = texts + ["", long_text]
    arrays = encode(tokenizer, all_texts, max_seq_length)
    kinds = [f"text[{i}]" for i in range(len(texts))] + ["empty text", "max-length text"]
    # A bare [CLS] (mask length 1): the shortest input a caller can produce by hand.
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else int(arrays["input_ids"][0, 0])
    pad_id = tokenizer.pad_token_id or 0
    bare = {k: np.zeros((1, max_seq_length), np.int32) for k in INPUT_NAMES}
    bare["input_ids"][:] = pad_id
    bare["input_ids"][0, 0] = cls_id
    bare["attention_mask"][0, 0] = 1
    arrays = {k: np.concatenate([arrays[k], bare[k]], axis=0) for k in INPUT_NAMES}
    kinds.append("[CLS] only")
    lengths = arrays["attention_mask"].sum(axis=1)
    kinds = [f"{k} ({int(n)} tokens)" for k, n in zip(kinds, lengths)]
    if int(lengths[len(texts) + 1]) != max_seq_length:
        raise ConversionError("load", "the max-length validation text does not fill "
                                      f"max_seq_length={max_seq_length} (tokenizer truncation?)")

    # Mask probe: padded rows with real text written into the padded positions (all but the
    # first). Real tokens, not random ids: PyTorch's dynamic int8 quantizes each activation
    # tensor with one scale over all positions, so out-of-distribution pads would legitimately
    # change its rounding of the real tokens; copies of the sentence keep activations typical
    # while changing what an unmasked attention would see.
    probe_rows = [i for i in range(len(kinds)) if lengths[i] < max_seq_length - 1]
    probe = {k: arrays[k][probe_rows].copy() for k in INPUT_NAMES}
    filler_pool = [int(t) for t in arrays["input_ids"][0, 1:int(lengths[0]) - 1]] or [cls_id]
    for r, row in enumerate(probe_rows):
        n = int(lengths[row])
        # Keep position n: MobileBERT's trigram embedding lets the last real token read its
        # right neighbour, so the float model itself depends on that one pad id.
        content = [int(t) for t in arrays["input_ids"][row, 1:n - 1]] or filler_pool
        fill = np.resize(np.asarray(content, np.int32), max_seq_length - n - 1)
        probe["input_ids"][r, n + 1:] = fill
    return ValidationSet(kinds, arrays, probe_rows, probe)


def compute_reference(vset: ValidationSet, model) -> np.ndarray:
    from converters.runtimes import HFRunner

    runner = HFRunner("<student>", model=model)
    vset.reference = runner.logits(*(vset.arrays[k] for k in INPUT_NAMES))
    vset.probe_reference = runner.logits(*(vset.probe_arrays[k] for k in INPUT_NAMES))
    return vset.reference


def check_tflite_format(path: str | Path, max_seq_length: int, step: str) -> dict:
    """Builtin ops only, clean names, int32 [1, L] inputs with a dynamic sequence dimension
    (shape_signature [1, -1]), float32 logits output."""
    from converters.tflite import tflite_op_counts
    from converters.tflite_metadata import PROBS_NAME

    ops, custom = tflite_op_counts(path)
    if custom:
        flex = [c for c in custom if c.startswith("Flex")]
        why = "Flex ops need the TF Select delegate, which the app does not ship" if flex \
            else "custom ops"
        raise ConversionError(step, f"non-builtin ops in the .tflite: {', '.join(custom)} ({why})",
                              op=custom[0])
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    ins = {d["name"]: d for d in it.get_input_details()}
    outs = {d["name"]: d for d in it.get_output_details()}
    # `probabilities` (softmax of logits, for MediaPipe; converters/tflite_metadata.py) may come
    # with the logits.
    if sorted(ins) != sorted(INPUT_NAMES) or sorted(outs) not in ([OUTPUT_NAME],
                                                                  sorted([OUTPUT_NAME, PROBS_NAME])):
        raise ConversionError(step, f"tensor names are inputs {sorted(ins)}, outputs {list(outs)}; "
                                     f"expected {list(INPUT_NAMES)} -> {OUTPUT_NAME}")
    if PROBS_NAME in outs and (outs[PROBS_NAME]["dtype"] != np.float32 or list(
            outs[PROBS_NAME]["shape"]) != list(outs[OUTPUT_NAME]["shape"])):
        raise ConversionError(step, f"output {PROBS_NAME} is not float32 shaped like the logits")
    for n, d in ins.items():
        if d["dtype"] != np.int32 or list(d["shape"]) != [1, max_seq_length]:
            raise ConversionError(step, f"input {n} is {np.dtype(d['dtype']).name} "
                                         f"{list(d['shape'])}, expected int32 [1, {max_seq_length}]")
        if list(d.get("shape_signature", [])) != [1, -1]:
            raise ConversionError(step, f"input {n} has shape signature "
                                         f"{list(d.get('shape_signature', []))}, expected [1, -1] "
                                         "(a dynamic sequence dimension)")
    if outs[OUTPUT_NAME]["dtype"] != np.float32:
        raise ConversionError(step, f"output logits is {np.dtype(outs[OUTPUT_NAME]['dtype']).name}, "
                                     "expected float32")
    return {"ops": ops, "builtin_only": True}


def validate_artifact(path: str | Path, backend: str, vset: ValidationSet, step: str,
                      num_threads: Optional[int] = None, tolerance="default",
                      probe_tolerance="default") -> dict:
    """Run all checks on one artifact; return metrics or raise ConversionError(step).

    tolerance / probe_tolerance: (atol, rtol) on the max |reference logit|, None to measure
    only, or "default" for TOLERANCES / PROBE_TOLERANCES[backend]."""
    if vset.reference is None:
        raise ValueError("validation set has no reference logits")
    L = int(vset.arrays["input_ids"].shape[1])
    facts: dict = {}
    if REGISTRY[backend].format == "tflite":
        facts.update(check_tflite_format(path, L, step))
    try:
        with native_stderr():  # LiteRT prints its delegate notice on fd 2
            got, probe = _run_both(path, backend, vset, num_threads, L)
    except ConversionError:
        raise
    except Exception as e:
        raise ConversionError(step, f"the {backend} runtime failed on the artifact: "
                                     f"{type(e).__name__}: {e}") from e
    return _compare(path, backend, vset, step, got, probe, facts, tolerance, probe_tolerance)


def _run_both(path, backend: str, vset: ValidationSet, num_threads, L: int):
    from converters.runtimes import RUNNERS

    fmt = REGISTRY[backend].format
    # torch threads are process-wide: the .ptl runs with the caller's
    runner = RUNNERS[fmt](path, None if fmt == "ptl" else num_threads, max_seq_length=L)
    if not runner.dynamic:
        raise ConversionError(backend, f"{Path(path).name} has a fixed sequence length; every "
                                       "artifact must run sentences at their own length")
    if runner.max_seq_length != L:
        raise ConversionError(backend, f"{Path(path).name} records max_seq_length "
                                       f"{runner.max_seq_length}, converted for {L}")
    padded = runner.logits(*(vset.arrays[k] for k in INPUT_NAMES), padded=True)
    real = runner.logits(*(vset.arrays[k] for k in INPUT_NAMES))
    probe = runner.logits(*(vset.probe_arrays[k] for k in INPUT_NAMES), padded=True)
    return (padded, real), probe


def _compare(path, backend: str, vset: ValidationSet, step: str, got, probe, facts: dict,
             tolerance, probe_tolerance) -> dict:
    """got: (padded logits, real-length logits); the gate takes the worse of the two."""
    ref = vset.reference
    padded, real = got
    for name, x in (("padded", padded), ("real-length", real)):
        if x.shape != ref.shape:
            raise ConversionError(step, f"{name} logits shape {list(x.shape)} != reference "
                                         f"{list(ref.shape)}")
        if not np.all(np.isfinite(x)):
            raise ConversionError(step, f"non-finite {name} logits (NaN/inf) from the artifact")
    diff = np.maximum(np.abs(padded - ref), np.abs(real - ref))
    got = padded
    per_case = diff.max(axis=1)
    scale = float(np.abs(ref).max())
    ref_spread = float(np.ptp(ref)) if ref.size else 0.0
    agree = float(np.mean((padded.argmax(axis=1) == ref.argmax(axis=1))
                          & (real.argmax(axis=1) == ref.argmax(axis=1))))
    real_vs_padded = np.abs(real - padded).max(axis=1)
    real_same_argmax = real.argmax(axis=1) == padded.argmax(axis=1)
    # How much the artifact's logits move when only padded tokens change, beyond what the float
    # student itself moves (zero for BERT; MobileBERT's embedding conv reads one pad token).
    if vset.probe_rows:
        moved = probe - got[vset.probe_rows]
        ref_moved = vset.probe_reference - ref[vset.probe_rows]
        probe_diff = np.abs(moved - ref_moved).max(axis=1)
    else:
        probe_diff = np.zeros(0)
    tol = TOLERANCES.get(backend) if tolerance == "default" else tolerance
    ptol = PROBE_TOLERANCES.get(backend) if probe_tolerance == "default" else probe_tolerance
    bound, pbound = tolerance_bound(tol, scale), tolerance_bound(ptol, scale)
    worst = int(per_case.argmax())
    metrics = {
        "cases": vset.n,
        "max_abs_diff": float(per_case.max()),
        "mean_abs_diff": float(diff.mean()),
        "worst_case": vset.kinds[worst],
        "argmax_agreement": agree,
        "max_abs_reference_logit": scale,
        "reference_logit_spread": ref_spread,
        "relative_max_diff": float(per_case.max() / scale) if scale > 0 else None,
        "tolerance": bound,
        "mask_probe_max_abs_diff": float(probe_diff.max()) if probe_diff.size else 0.0,
        "mask_probe_tolerance": pbound,
        "per_case_max_abs_diff": {k: float(d) for k, d in zip(vset.kinds, per_case)},
        "real_length": {"max_abs_diff_vs_padded": float(real_vs_padded.max()),
                        "argmax_agreement_vs_padded": float(real_same_argmax.mean()),
                        "max_abs_diff_vs_reference": float(np.abs(real - ref).max())},
    }
    metrics.update(facts)
    if pbound is not None and probe_diff.size and probe_diff.max() > pbound:
        i = int(probe_diff.argmax())
        raise ConversionError(
            step, f"{Path(path).name} does not respect the attention mask: changing only padded "
                   f"tokens moved the logits by {probe_diff.max():.3g} more than in the float "
                   f"student (> {pbound:.3g}) on "
                   f"{vset.kinds[vset.probe_rows[i]]}")
    if not real_same_argmax.all() or (bound is not None and real_vs_padded.max() > bound):
        i = int(np.argmax(~real_same_argmax)) if not real_same_argmax.all() else int(real_vs_padded.argmax())
        raise ConversionError(
            step, f"{Path(path).name} at real length disagrees with itself padded to "
                   f"max_seq_length on {vset.kinds[i]}: max |logit diff| {real_vs_padded[i]:.3g}"
                   f"{'' if bound is None else f' (bound {bound:.3g})'}, argmax "
                   f"{'same' if real_same_argmax[i] else 'different'}")
    if bound is not None and per_case.max() > bound:
        raise ConversionError(
            step, f"{Path(path).name} disagrees with the float student: max |logit diff| "
                   f"{per_case.max():.3g} > {bound:.3g} on {vset.kinds[worst]}")
    metrics["parity_gated"] = bound is not None  # False: measured and reported only
    metrics["passed"] = True
    return metrics
