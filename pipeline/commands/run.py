"""`bert-edge run`: the whole chain, reusing every stage whose inputs did not change."""
from __future__ import annotations

from pipeline.commands.common import add_config_arguments, add_data_arguments, config_from_args

HELP = "run the whole chain: finetune-teacher, distill, convert, parity, bundle"
DESCRIPTION = (
    "Runs finetune-teacher (skipped when the teacher is already fine-tuned), distill, convert, "
    "parity and bundle. A stage whose inputs (its config section and the content of its input "
    "files) and outputs are unchanged since it last finished is reused, so a re-run after a "
    "failure or an interrupt resumes where it stopped. Prints one summary table. Exit 0: the "
    "gate passed and the bundle is written; 3: the parity gate failed; 2: bad input.")


def add_arguments(p) -> None:
    from pipeline.chain import STAGES

    p.add_argument("--to", choices=STAGES, metavar="STAGE",
                   help=f"stop after this stage ({', '.join(STAGES)})")
    p.add_argument("--redo", choices=STAGES, metavar="STAGE",
                   help="re-run this stage and all after it even if they could be reused")
    add_data_arguments(p, unlabeled=True)
    add_config_arguments(p)


def run(args) -> int:
    from pipeline.chain import Chain, summary

    cfg = config_from_args(args)
    chain = Chain(cfg, progress=not args.no_progress, until=args.to, redo=args.redo)
    try:
        result = chain.run()
    except BaseException:
        print(summary(chain.result, cfg), flush=True)
        raise
    print(summary(result, cfg), flush=True)
    return 0
