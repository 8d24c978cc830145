"""One latency/memory measurement in a fresh process: `python -m pipeline.bench.worker JSON`.

A fresh process per (model, threads, length) keeps runtimes from sharing thread pools and lets
peak memory be read per runtime. Prints one JSON line on stdout.

Spec keys: kind ('artifact' | 'hf' | 'bert-base'), path, threads, seq, warmup, runs, text,
tokenizer; `texts` (a JSON file of sentences) switches to the real-distribution measurement:
per sentence, tokenize + infer at its own length and padded to `seq`, in alternation.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss would carry over the parent's
    # peak through fork/exec on Linux (every row then shows the benchmark driver's RSS).
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _inputs(spec) -> dict[str, np.ndarray]:
    """A real sentence through the model's own tokenizer, padded to the fixed length."""
    L = spec["seq"]
    if spec.get("tokenizer"):
        from transformers import AutoTokenizer

        from pipeline.data.tokenize import encode_fixed

        tok = AutoTokenizer.from_pretrained(spec["tokenizer"])
        return encode_fixed(tok, [spec.get("text") or "a gripping, beautifully acted film."], max_length=L)
    ids = np.zeros((1, L), np.int32)
    ids[0, :12] = [101] + list(range(2000, 2010)) + [102]
    mask = (ids != 0).astype(np.int32)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _latency(times_ms) -> dict:
    x = np.asarray(times_ms, dtype=float)
    return {"p50_ms": round(float(np.percentile(x, 50)), 3), "p90_ms": round(float(np.percentile(x, 90)), 3),
            "mean_ms": round(float(x.mean()), 3)}


def _torch_model(spec):
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

    torch.set_num_threads(spec["threads"])
    if spec["kind"] == "bert-base":
        # BERT-base shape with random weights: the speed/size reference for the TinyBERT claim.
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, num_labels=2)
        return BertForSequenceClassification(cfg).eval()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return AutoModelForSequenceClassification.from_pretrained(spec["path"]).eval()  # default (SDPA) attention


def measure(spec: dict) -> dict:
    feeds = _inputs(spec)
    base_rss = _rss_mb()
    t0 = time.perf_counter()
    if spec["kind"] == "artifact":
        from converters.runtimes import load_runner

        runner = load_runner(spec["path"], num_threads=spec["threads"])
        args = (feeds["input_ids"], feeds["attention_mask"], feeds["token_type_ids"])
        if not runner.dynamic and runner.max_seq_length not in (None, spec["seq"]):
            raise ValueError(f"fixed-length artifact ({runner.max_seq_length} tokens)")
        call = lambda: runner.logits(*args, padded=True)  # noqa: E731 - the fixed-length figure
        flops = None
    else:
        import torch

        model = _torch_model(spec)
        tensors = {k: torch.from_numpy(v).long() for k, v in feeds.items()}

        def call():
            with torch.inference_mode():
                return model(**tensors).logits

        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as fc:
            call()
        flops = int(fc.get_total_flops())
    load_s = time.perf_counter() - t0
    t = time.perf_counter()
    call()
    first_ms = (time.perf_counter() - t) * 1e3
    for _ in range(spec["warmup"]):
        call()
    times = []
    for _ in range(spec["runs"]):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1e3)
    return {
        "load_s": round(load_s, 3), "first_ms": round(first_ms, 3), **_latency(times),
        "runs": len(times),
        "peak_rss_mb": round(_peak_mb(), 1), "model_rss_mb": round(max(_peak_mb() - base_rss, 0.0), 1),
        "flops": flops,
    }


def measure_real(spec: dict) -> dict:
    """Per-sentence latency over real sentences, tokenization included: each sentence at its
    own length (what the app does) and padded to spec['seq'] (what fixed-shape apps do)."""
    from transformers import AutoTokenizer

    texts = json.loads(open(spec["texts"], encoding="utf-8").read())
    tok = AutoTokenizer.from_pretrained(spec["tokenizer"])
    L = spec["seq"]
    if spec["kind"] == "artifact":
        from converters.runtimes import load_runner

        runner = load_runner(spec["path"], num_threads=spec["threads"])
        if not runner.dynamic:
            raise ValueError("fixed-length artifact: no real-length figure")

        def run(text, padded):
            enc = tok([text], truncation=True, max_length=L, padding="max_length", return_tensors="np")
            return runner.logits(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"],
                                 padded=padded)
    else:
        import torch

        model = _torch_model(spec)

        def run(text, padded):
            enc = tok([text], truncation=True, max_length=L, return_tensors="pt",
                      padding="max_length" if padded else False)
            with torch.inference_mode():
                return model(**enc).logits.numpy()

    for text in texts[:spec["warmup"]]:
        run(text, False), run(text, True)
    times = {False: [], True: []}
    preds = {False: [], True: []}
    tokens = []
    for text in texts:
        for padded in (False, True):
            t = time.perf_counter()
            y = run(text, padded)
            times[padded].append((time.perf_counter() - t) * 1e3)
            preds[padded].append(int(np.argmax(y)))
        tokens.append(len(tok(text, truncation=True, max_length=L)["input_ids"]))

    real, fixed = _latency(times[False]), _latency(times[True])
    return {"sentences": len(texts), "mean_tokens": round(float(np.mean(tokens)), 2),
            "real": real, "fixed": fixed,
            "mean_ratio": round(real["mean_ms"] / fixed["mean_ms"], 3) if fixed["mean_ms"] else None,
            "same_predictions": float(np.mean(np.array(preds[False]) == np.array(preds[True]))),
            "peak_rss_mb": round(_peak_mb(), 1)}


def main() -> int:
    spec = json.loads(sys.argv[1])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(spec["threads"])
    try:
        result = measure_real(spec) if spec.get("texts") else measure(spec)
    except Exception as e:  # reported per row; the benchmark goes on with the others
        result = {"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
