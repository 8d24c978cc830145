"""`bert-edge bundle`: the Android app's assets (models, vocab, labels, manifest, golden)."""
from __future__ import annotations

from pathlib import Path

from pipeline.commands.common import add_config_arguments, config_from_args

HELP = "write the app bundle (models, tokenizer, labels.txt, manifest.json, golden.jsonl)"
DESCRIPTION = (
    "Writes the models that passed parity, vocab.txt, labels.txt, manifest.json and "
    "golden.jsonl (texts, exact input ids, each backend's host logits) into the Android app's "
    "assets (bundle.dir) or --out, atomically: a failed bundle leaves the previous one intact. "
    "Refuses (exit 3) when the parity gate failed or an artifact changed since parity, unless "
    "--force.")


def add_arguments(p) -> None:
    p.add_argument("--out", metavar="DIR", help="bundle directory (default: bundle.dir, the app's assets)")
    p.add_argument("--student", metavar="DIR", help="student dir: tokenizer, labels (default: OUTPUT_DIR/student)")
    p.add_argument("--artifacts", metavar="DIR", help="converted artifacts (default: OUTPUT_DIR/convert)")
    p.add_argument("--parity", metavar="DIR", help="parity report dir (default: OUTPUT_DIR/parity)")
    p.add_argument("--backends", help="comma-separated backends to bundle (bundle.backends)")
    p.add_argument("--golden-cases", type=int, help="bundle.golden_cases")
    p.add_argument("--force", action="store_true",
                   help="bundle even if the parity gate failed or artifacts changed since parity")
    add_config_arguments(p)


def run(args) -> int:
    from pipeline.bundle import make_bundle
    from pipeline.chain import run_paths

    flags = {"golden_cases": "bundle.golden_cases"}
    if args.backends:
        args.bundle_backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        flags["bundle_backends"] = "bundle.backends"
    cfg = config_from_args(args, flags)
    paths = run_paths(cfg)
    out = Path(args.out) if args.out else paths["bundle"]
    m = make_bundle(cfg, Path(args.student) if args.student else paths["student"],
                    Path(args.artifacts) if args.artifacts else paths["convert"],
                    Path(args.parity) if args.parity else paths["parity"], out_dir=out, force=args.force)
    print(f"bundle written to {out}:")
    for e in m["models"]:
        print(f"  {e['backend']:<17} {e['file']:<24} {e['size_bytes'] / 1e6:7.2f} MB  sha256 {e['sha256'][:12]}")
    print(f"  {m['tokenizer']['file']} ({m['tokenizer']['type']}), labels.txt ({len(m['labels'])} labels), manifest.json, "
          f"golden.jsonl ({m['golden']['count']} cases, max_seq_length {m['max_seq_length']})")
    return 0
