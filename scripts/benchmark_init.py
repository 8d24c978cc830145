#!/usr/bin/env python
"""How good is a student before any training? Dev accuracy and agreement with the teacher of a
freshly built student for each initialization (student.init_encoder / init_embeddings).

    python scripts/benchmark_init.py --teacher runs/sst2-teacher --dev ../shared/data/sst2/dev.tsv \\
        [--preset tinybert-4l-312d] [--max-seq-length 64] [--init-layers 0,2,4 --init-layers 1,3,5]

With --init-layers (repeatable) it compares which teacher layers a sliced student copies
(student.init_layers, 0-based) instead of the three initializations.

A sliced student (init_encoder=teacher) is a damaged copy of the teacher; random layers are at
chance. This is the head start that makes general distillation optional on a CPU budget.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INITS = {"sliced from the teacher": dict(init_encoder="teacher", init_embeddings="teacher"),
         "teacher embeddings (PCA), random layers": dict(init_encoder="random", init_embeddings="teacher"),
         "random (TinyBERT)": dict(init_encoder="random", init_embeddings="random")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", type=Path, required=True, help="fine-tuned teacher directory")
    p.add_argument("--dev", type=Path, required=True, help="labeled file (TSV/CSV/JSONL)")
    p.add_argument("--preset", default="tinybert-4l-312d")
    p.add_argument("--max-seq-length", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--init-layers", action="append", metavar="L1,L2,...",
                   help="teacher layers (0-based) to slice the student from; repeat to compare")
    a = p.parse_args(argv)
    try:
        layer_choices = [[int(x) for x in v.split(",")] for v in a.init_layers or []]
    except ValueError:
        print(f"error: --init-layers takes comma lists of integers, got {a.init_layers}", file=sys.stderr)
        return 2
    inits = ({f"sliced from teacher layers {layers}": dict(init_encoder="teacher", init_embeddings="teacher",
                                                          init_layers=layers) for layers in layer_choices}
             if layer_choices else INITS)

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.config import StudentConfig
    from pipeline.data.labeled import load_labeled
    from pipeline.distill.students import build_student
    from pipeline.errors import BertEdgeError

    try:
        teacher = AutoModelForSequenceClassification.from_pretrained(str(a.teacher)).eval()
        tok = AutoTokenizer.from_pretrained(str(a.teacher))
        label_names = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        data = load_labeled(a.dev, label_names=label_names)
    except BertEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    texts, labels = data.texts, torch.tensor(data.labels)

    def predict(model):
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), a.batch_size):
                pair = data.pairs[i:i + a.batch_size] if data.pairs else None
                b = tok(texts[i:i + a.batch_size], pair, padding=True, truncation=True,
                        max_length=a.max_seq_length, return_tensors="pt")
                out.append(model(**b).logits.argmax(-1))
        return torch.cat(out)

    students = {}  # all built first: a choice the teacher cannot give stops before any output
    for name, kw in inits.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                students[name], _ = build_student(StudentConfig(preset=a.preset, **kw), teacher.config,
                                                  label_names, init_teacher=teacher, seed=42)
        except BertEdgeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    t_pred = predict(teacher)
    print(f"| student ({a.preset}) init | dev acc | agreement with teacher |\n|---|---:|---:|")
    print(f"| teacher | {(t_pred == labels).float().mean():.4f} | 1.0000 |")
    for name, model in students.items():
        pred = predict(model.eval())
        print(f"| {name} | {(pred == labels).float().mean():.4f} | {(pred == t_pred).float().mean():.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
