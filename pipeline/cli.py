"""`bert-edge`: the command-line entry point. Each subcommand lives in pipeline/commands/."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from pipeline import __version__
from pipeline.errors import BertEdgeError

# name -> module; the order is the order of the chain.
COMMANDS = {
    "run": "pipeline.commands.run",
    "finetune-teacher": "pipeline.commands.finetune_teacher",
    "distill": "pipeline.commands.distill",
    "convert": "pipeline.commands.convert",
    "parity": "pipeline.commands.parity",
    "bundle": "pipeline.commands.bundle",
    "evaluate": "pipeline.commands.evaluate",
    "bench": "pipeline.commands.bench",
    "compare": "pipeline.commands.compare",
    "device-check": "pipeline.commands.device_check",
}

EPILOG = """\
The chain: finetune-teacher -> distill -> convert -> parity -> bundle (`run` does all of it).
Which student to ship: `compare` runs several student presets from one teacher (docs/compare.md).

Exit codes:
  0    ok
  2    bad input, configuration or argument (one `error: ...` line names the file:line, key or value)
  3    a parity gate failed
  130  interrupted (Ctrl-C); previous outputs are left as they were

Output directories: every output location is checked before the first step. A non-empty --out
must be a previous output of bert-edge (it holds .bert-edge.json, the list of files bert-edge
wrote there); anything else is refused. A new output is built next to it and swapped in only at
the end: a failed or interrupted run leaves the previous output exactly as it was, and files in
it that bert-edge did not write are kept.

Example: bert-edge run --config configs/demo.yaml
"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one `error:` line and exit 2, like every other bad input."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where it says something (not None/False, not already in the text)."""

    def _get_help_string(self, action):
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bert-edge",
        description="Distill a BERT teacher into a phone-sized student, convert it to TFLite, "
                    "ExecuTorch and TorchScript-mobile (int8), each running sentences at their own "
                    "length, gate it on parity, and bundle it for Android.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bert-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        if importlib.util.find_spec(modname) is None:
            continue  # stage not built yet
        mod = importlib.import_module(modname)
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=_HelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


def _quiet_third_party() -> None:
    # TensorFlow, HF and torchao print pages of start-up noise that buries the progress bars.
    from converters.common import quiet_executorch, quiet_tensorflow

    quiet_tensorflow()
    quiet_executorch()


def _warm_torch_numpy_bridge() -> None:
    """torch imports numpy on the first tensor<->array conversion and, if that import fails, says
    "Numpy is not available" for the rest of the process: a Ctrl-C landing inside that import
    would turn into a traceback instead of "interrupted". Do the first conversion up front."""
    import numpy
    import torch

    torch.from_numpy(numpy.zeros(1, dtype=numpy.float32))


def main(argv=None) -> int:
    _quiet_third_party()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        _warm_torch_numpy_bridge()
        return int(args.func(args) or 0)
    except BertEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
