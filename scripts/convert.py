#!/usr/bin/env python3
"""The one-command chain without installing: `python scripts/convert.py --config configs/demo.yaml`.

Exactly `bert-edge run ARGS`: finetune-teacher -> distill -> convert -> parity -> bundle.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
