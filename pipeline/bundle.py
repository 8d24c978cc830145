"""The Android app bundle: models, the tokenizer (vocab.txt, or tokenizer.json for BPE and
SentencePiece), labels.txt, manifest.json and golden.jsonl
(docs/ARCHITECTURE.md "App bundle contract"), written to a temp directory and swapped in.

The bundle refuses to run when the parity gate failed (GateFailure, exit 3) or when an artifact
changed since parity checked it, unless `force`. Backends that failed parity but are not required
(e.g. tflite_int8_full) are left out with a visible FAIL line.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Optional

import numpy as np

from converters import real_length

from converters.runtimes import load_runner

from pipeline import __version__
from pipeline.errors import BertEdgeError, GateFailure
from pipeline.parity import ARTIFACTS, FP32_BACKENDS, check_replaceable, read_parity

from converters.backends import REGISTRY, ids
from converters.files import sha256_file

# 1: WordPiece (vocab.txt). 2: the tokenizer named by "tokenizer" (byte-level BPE or
# SentencePiece Unigram from tokenizer.json): an app that reads only version 1 refuses it in one
# line instead of tokenizing with the wrong algorithm. WordPiece bundles stay version 1 (they
# also carry "tokenizer"), so old apps keep loading them.
FORMAT_VERSION = 1
FORMAT_VERSION_TOKENIZER_JSON = 2
BUNDLABLE = ids(bundlable=True)  # what the app runs
# One mixed-case, accented, punctuated text: the app's tokenizer must lower-case, strip accents
# and split punctuation exactly like the host's.
EXTRA_TEXT = "Honestly, the CAFÉ scene in this naïve film is a déjà-vu... but I LOVED it!"
GOLDEN_PROBES = ("how do you spell cliché ?", "この映画はとても良かった", "great movie 😀👍🏽",
                 "Straße und Größe, ｆｕｌｌ－ｗｉｄｔｈ")


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tokenizer_flags(tok) -> dict:
    """do_lower_case / strip_accents as the fast tokenizer actually applies them."""
    flags = {"do_lower_case": bool(getattr(tok, "do_lower_case", True)), "strip_accents": None}
    try:
        norm = json.loads(tok.backend_tokenizer.to_str()).get("normalizer") or {}
        items = norm.get("normalizers", [norm]) if norm.get("type") == "Sequence" else [norm]
        for n in items:
            if n.get("type") == "BertNormalizer":
                flags["do_lower_case"] = bool(n.get("lowercase", flags["do_lower_case"]))
                sa = n.get("strip_accents")
                flags["strip_accents"] = flags["do_lower_case"] if sa is None else bool(sa)
            elif n.get("type") == "Lowercase":
                flags["do_lower_case"] = True
    except Exception:
        pass
    if flags["strip_accents"] is None:
        flags["strip_accents"] = flags["do_lower_case"]
    return flags


def vocab_lines(vocab: dict[str, int]) -> str:
    """vocab.txt text where line number == token id, as the app's WordPiece reads it.

    Ids the tokenizer never produces (gaps left by duplicate entries) get a placeholder that no
    text can tokenize to (the brackets are split off as punctuation), so later ids do not shift.
    """
    by_id = {i: t for t, i in vocab.items()}
    return "".join(f"{by_id.get(i, f'[unused_hole_{i}]')}\n" for i in range(max(by_id) + 1))


def _sequence_contract(artifacts_dir: Path, max_len: int) -> dict:
    """The real-length contract convert.json records ({} for artifacts converted before it)."""
    try:
        seq = json.loads((Path(artifacts_dir) / "convert.json").read_text(encoding="utf-8")).get("sequence")
    except (OSError, ValueError):
        return {}
    if not isinstance(seq, dict) or not seq.get("dynamic"):
        return {}
    if int(seq.get("max_seq_length", max_len)) != max_len:
        raise BertEdgeError(f"bundle: the artifacts were converted for max_seq_length "
                            f"{seq.get('max_seq_length')}, parity ran at {max_len}")
    return seq


def select_golden(tok, texts: list, pairs: Optional[list], n: int, max_len: int) -> list[tuple]:
    """`n` (text, pair) cases of varied token length: evenly spread over the sorted lengths,
    plus one longer than `max_len` (truncated on the host and the phone alike), one mixed-case
    accented text and, when n >= 16, texts in other scripts and with emoji (the app's
    tokenizers and MediaPipe must give the host's ids on them too)."""
    if not texts:
        raise BertEdgeError("bundle: no dev texts to build golden.jsonl from")
    enc = tok(list(texts), list(pairs) if pairs else None, add_special_tokens=True, truncation=False)
    lengths = np.asarray([len(x) for x in enc["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    cases: list[tuple] = []
    long_idx = int(order[-1])
    if lengths[long_idx] > max_len:
        long_case = (texts[long_idx], pairs[long_idx] if pairs else None)
    else:  # build one: consecutive dev texts joined until the tokens overflow max_len
        parts, total = [], 0
        for t in texts:
            parts.append(t)
            total += len(tok.tokenize(t))
            if total > max_len + 8:
                break
        while total <= max_len + 8:  # tiny dev sets: repeat
            parts += parts
            total *= 2
        long_case = (" ".join(parts), pairs[0] if pairs else None)
    # what users type beyond the dev set: accents and case (always, from 3 cases on), then, in
    # larger golden sets, non-Latin scripts and emoji from the MediaPipe probe set
    probes = [EXTRA_TEXT] + (list(GOLDEN_PROBES) if n >= 16 else [])
    n_probe = min(len(probes), max(0, n - 2))
    n_spread = max(1, n - 1 - n_probe)
    picks = np.unique(np.linspace(0, len(order) - 1, n_spread).round().astype(int))
    for i in picks:
        j = int(order[i])
        cases.append((texts[j], pairs[j] if pairs else None))
    if n >= 2:
        cases.append(long_case)
    cases += [(t, pairs[0] if pairs else None) for t in probes[:n_probe]]
    return cases[:n]


def _tolerances(cfg_tol: dict, backend: str, parity_max_diff: Optional[float] = None) -> dict:
    """Device-vs-host tolerance for one backend: the config's entry for its kind (fp32/int8),
    overridden by an entry for the backend id. For int8 backends the logit tolerance is at least
    twice the artifact's max |diff| to the float student measured by parity: the phone's int8
    kernels round differently from the host's, but each stays that close to the float model."""
    kind = "fp32" if backend in FP32_BACKENDS else "int8"
    tol = {"max_abs_logit_diff": 1e-3, "min_argmax_agreement": 1.0} if kind == "fp32" else \
        {"max_abs_logit_diff": 0.1, "min_argmax_agreement": 0.95}
    tol.update((cfg_tol or {}).get(kind) or {})
    explicit = (cfg_tol or {}).get(backend) or {}
    if kind == "int8" and parity_max_diff is not None and "max_abs_logit_diff" not in explicit:
        tol["max_abs_logit_diff"] = max(float(tol["max_abs_logit_diff"]), round(2.0 * parity_max_diff, 4))
    tol.update(explicit)
    return {k: float(v) for k, v in tol.items()}


def choose_backends(report: dict, requested: list, artifacts_dir: Path, force: bool) -> list[dict]:
    """Parity entries of the backends to bundle; refuse (or warn, with force) on problems."""
    unknown = [b for b in requested if b not in ARTIFACTS]
    if unknown:
        raise BertEdgeError(f"bundle.backends: unknown backend(s) {', '.join(unknown)} "
                            f"(choose from {', '.join(BUNDLABLE)})")
    not_app = [b for b in requested if b not in BUNDLABLE]
    if not_app:
        raise BertEdgeError(f"bundle.backends: {', '.join(not_app)} cannot be bundled (the app "
                            f"runs {', '.join(BUNDLABLE)})")
    if not requested:
        raise BertEdgeError("bundle.backends is empty: nothing to bundle")
    by_name = {m["name"]: m for m in report["models"]}
    chosen = []
    for b in requested:
        m = by_name.get(b)
        path = artifacts_dir / ARTIFACTS[b]
        if m is None:
            msg = f"{b} was not checked by parity (not in convert.targets?)"
            if not force:
                raise GateFailure(f"bundle refused: {msg}; re-run bert-edge parity, or pass --force")
            _say(f"warning: {msg}; bundling it anyway (--force)")
            m = {"name": b, "backend": b, "status": "unchecked", "sha256": None}
        if m.get("status") == "FAIL":
            why = "; ".join(m.get("breaches") or []) or "parity failed"
            if force:
                _say(f"warning: {b}: FAIL in parity ({why}); bundling it anyway (--force)")
            elif m.get("required"):
                raise GateFailure(f"bundle refused: {why}")
            else:
                _say(f"FAIL {b}: not bundled (optional backend failed parity: {why})")
                continue  # its file may not exist: an optional conversion that failed writes none
        if not path.is_file():
            raise BertEdgeError(f"bundle: {path} not found (run bert-edge convert)")
        if m.get("sha256") and sha256_file(path) != m["sha256"]:
            msg = f"{path} changed since parity checked it (sha256 differs)"
            if not force:
                raise GateFailure(f"bundle refused: {msg}; re-run bert-edge parity, or pass --force")
            _say(f"warning: {msg}; bundling it anyway (--force)")
        chosen.append(dict(m, path=str(path)))
    if not chosen:
        raise GateFailure("bundle refused: none of bundle.backends "
                          f"({', '.join(requested)}) passed parity")
    return chosen


def make_bundle(cfg, student_dir: str | Path, artifacts_dir: str | Path, parity_dir: str | Path,
                out_dir: Optional[str | Path] = None, force: bool = False, texts=None, pairs=None,
                teacher_id: Optional[str] = None, student_id: Optional[str] = None) -> dict:
    """Write the app bundle to `out_dir` (default `cfg.bundle.dir`) atomically; return the
    manifest. `texts`/`pairs` override the golden source (default: `cfg.data.dev`)."""
    from pipeline.data.tokenize import encode_fixed
    from converters.student import model_labels
    from pipeline.fsutil import atomic_dir
    from pipeline.teacher import load_tokenizer

    student_dir, artifacts_dir = Path(student_dir), Path(artifacts_dir)
    out_dir = Path(out_dir or cfg.bundle.dir)
    check_replaceable(out_dir, "manifest.json", "bundle")
    report = read_parity(parity_dir)
    if not report["gate"]["passed"]:
        req = [b["message"] for b in report["gate"]["breaches"] if b["required"]]
        if not force:
            raise GateFailure(f"bundle refused: the parity gate failed ({req[0] if req else '?'}); "
                              "fix it, or pass --force to bundle anyway")
        _say(f"warning: the parity gate failed ({req[0] if req else '?'}); bundling anyway (--force)")
    max_len = int(report["data"]["max_seq_length"])
    if max_len != cfg.convert.max_seq_length:
        raise BertEdgeError(f"bundle: parity ran at max_seq_length {max_len} but the config says "
                            f"{cfg.convert.max_seq_length}; re-run bert-edge parity")
    chosen = choose_backends(report, list(cfg.bundle.backends), artifacts_dir, force)
    if not student_dir.is_dir():
        raise BertEdgeError(f"student model directory not found: {student_dir}")
    labels = model_labels(student_dir)
    tok = load_tokenizer(student_dir)
    flags = tokenizer_flags(tok)
    from converters.families import TOKENIZER_KINDS, tokenizer_kind

    tok_kind = tokenizer_kind(tok)
    if tok_kind not in TOKENIZER_KINDS:
        raise BertEdgeError(f"bundle: {student_dir}: the app's tokenizers are WordPiece, byte-level "
                            f"BPE and SentencePiece Unigram; this tokenizer is {tok_kind}")

    if texts is None:
        from pipeline.parity import load_eval_set

        ev = load_eval_set(cfg.data.dev, cfg.data, labels)
        texts, pairs = ev.texts, ev.pairs
    cases = select_golden(tok, list(texts), list(pairs) if pairs else None,
                          cfg.bundle.golden_cases, max_len)
    c_texts = [c[0] for c in cases]
    c_pairs = [c[1] for c in cases] if pairs else None
    inputs = encode_fixed(tok, c_texts, c_pairs, max_len)
    sequence = _sequence_contract(artifacts_dir, max_len)
    keep = real_length.keep_lengths(inputs["attention_mask"], sequence.get("trailing_context", 0)) \
        if sequence else None
    golden_logits = {}
    for m in chosen:
        runner = load_runner(m["path"])
        if sequence and not runner.dynamic:
            raise BertEdgeError(f"bundle: {m['path']} has a fixed sequence length but convert.json "
                                "says the artifacts run at real length; re-run bert-edge convert")
        lg = runner.logits(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
        if lg.shape != (len(cases), len(labels)) or not np.all(np.isfinite(lg)):
            raise BertEdgeError(f"bundle: {m['path']} gave logits of shape {lg.shape} "
                                f"{'with non-finite values' if lg.size and not np.all(np.isfinite(lg)) else ''}"
                                f" for the golden cases; expected ({len(cases)}, {len(labels)})")
        golden_logits[m["backend"]] = lg

    models = []
    for m in chosen:
        p = Path(m["path"])
        models.append({
            "backend": m["backend"], "file": p.name, "format": p.suffix.lstrip("."),
            "quantization": REGISTRY[m["backend"]].quantization,
            "sha256": sha256_file(p), "size_bytes": p.stat().st_size,
            "parity": {k: m.get(k) for k in ("status", "accuracy", "agreement_student",
                                             "agreement_teacher", "max_abs_diff")},
        })
        mp = m.get("mediapipe")  # MediaPipe Tasks check of a .tflite in parity (pipeline/parity.py)
        if mp:
            models[-1]["mediapipe"] = {k: mp.get(k) for k in ("ready", "agreement_litert",
                                                              "max_abs_score_diff", "reason")}
    manifest = {
        "format_version": FORMAT_VERSION if tok_kind == "wordpiece" else FORMAT_VERSION_TOKENIZER_JSON,
        "pipeline_version": __version__,
        "teacher": teacher_id or cfg.teacher.model,
        "student": student_id or cfg.student.preset,
        "labels": labels,
        "max_seq_length": max_len,
        "do_lower_case": flags["do_lower_case"],
        "strip_accents": flags["strip_accents"],
        "vocab": None,  # filled below (WordPiece)
        "tokenizer": None,  # filled below: {"type", "file", "sha256", "size_bytes"}
        # real length: the app feeds [1, n], n = RealLength.keep(mask, trailing_context)
        "sequence": sequence or None,
        "inputs": [{"name": n, "dtype": "int32", "shape": [1, -1] if sequence else [1, max_len]}
                   for n in ("input_ids", "attention_mask", "token_type_ids")],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [1, len(labels)]}],
        "models": models,
        "default_backend": models[0]["backend"],
        "tolerances": {m["backend"]: _tolerances(cfg.bundle.tolerances, m["backend"], m["parity"]["max_abs_diff"])
                       for m in models},
        "golden": {"file": "golden.jsonl", "count": len(cases)},
    }

    with atomic_dir(out_dir, "bundle", "manifest.json") as tmp:
        tmp.chmod(0o755)
        for m in models:
            shutil.copyfile(artifacts_dir / m["file"], tmp / m["file"])
        if tok_kind == "wordpiece":
            tok_file = "vocab.txt"
            if (student_dir / "vocab.txt").is_file():
                shutil.copyfile(student_dir / "vocab.txt", tmp / tok_file)
            else:  # a tokenizer.json-only WordPiece: write the vocabulary in id order
                (tmp / tok_file).write_text(vocab_lines(tok.get_vocab()), encoding="utf-8")
        else:  # the app's BPE / Unigram read HF's own tokenizer.json, as the host tokenizes;
            # tokenizer_config.json beside it lets `bert-edge evaluate` load the bundle as is
            tok_file = "tokenizer.json"
            tok.save_pretrained(str(tmp))
        (tmp / "labels.txt").write_text("".join(f"{l}\n" for l in labels), encoding="utf-8")
        entry = {"file": tok_file, "sha256": sha256_file(tmp / tok_file),
                 "size_bytes": (tmp / tok_file).stat().st_size}
        manifest["tokenizer"] = {"type": tok_kind, **entry, "pad_id": int(tok.pad_token_id or 0)}
        if tok_kind == "wordpiece":
            manifest["vocab"] = entry
        else:
            del manifest["vocab"]
        with (tmp / "golden.jsonl").open("w", encoding="utf-8") as fh:
            for i, (text, pair) in enumerate(cases):
                row = {"text": text}
                if pair is not None:
                    row["text_pair"] = pair
                row.update({k: inputs[k][i].tolist() for k in ("input_ids", "attention_mask", "token_type_ids")})
                if keep is not None:  # the app feeds the first `length` positions; logits are theirs
                    row["length"] = int(keep[i])
                row["logits"] = {b: [float(x) for x in lg[i]] for b, lg in golden_logits.items()}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return manifest
