"""Arguments shared by subcommands: the run config and its overrides."""
from __future__ import annotations

import argparse

from pipeline.config import RunConfig, load_config


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument("--config", metavar="YAML", help="run config (configs/demo.yaml, configs/sst2.yaml); "
                   "defaults apply when omitted")
    g.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override any config key, e.g. --set distill.task_prediction.epochs=3 (repeatable)")
    g.add_argument("--output-dir", help="override output_dir from the config")
    g.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")


def add_data_arguments(p: argparse.ArgumentParser, unlabeled: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--train", help="training data: a TSV/CSV/JSONL file, 'default', or hf:NAME (data.train)")
    g.add_argument("--dev", help="dev data for evaluation (data.dev)")
    if unlabeled:
        g.add_argument("--unlabeled", help="passages for general distillation: a file, one per line, or "
                       "`wordnet` (Debian wordnet-base glosses) (data.unlabeled)")
    g.add_argument("--text-column", help="text column (default: sentence / sentence1+sentence2 / question+sentence / text)")
    g.add_argument("--label-column", help="label column (default: label)")
    g.add_argument("--max-train-examples", type=int, help="use only the first N training rows")


def config_from_args(args: argparse.Namespace, flag_map: dict[str, str] | None = None) -> RunConfig:
    """Load --config, then apply --set overrides, then the command's own flags (flag_map maps
    argparse dest -> config key path); flags win."""
    overrides = list(args.overrides or [])
    mapping = {"output_dir": "output_dir", "train": "data.train", "dev": "data.dev",
               "unlabeled": "data.unlabeled", "text_column": "data.text_column",
               "label_column": "data.label_column", "max_train_examples": "data.max_train_examples"}
    mapping.update(flag_map or {})
    for dest, key in mapping.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides.append(f"{key}={_yaml_scalar(value)}")
    return load_config(args.config, overrides)


def _yaml_scalar(value) -> str:
    import json

    return json.dumps(value) if isinstance(value, (str, list)) else str(value)
