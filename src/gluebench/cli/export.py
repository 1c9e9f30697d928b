"""``gluebench export``: a finished run for other tools (per-example samples, model cards)."""

from __future__ import annotations

from gluebench.cli.common import DATA_HELP


def cmd_export_samples(args) -> int:
    from gluebench.export.samples import export_samples  # deferred: numpy, the lm templates

    paths = export_samples(args.run_dir, args.output, data_dir=args.data_dir)
    for path in paths:
        print(path)
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="export a finished run: per-example samples, model card")
    actions = p.add_subparsers(dest="export_command", required=True, metavar="ACTION")
    s = actions.add_parser("samples", help="one JSONL per dev entry: each example's id, inputs, "
                                           "gold, prediction and scores (prompted runs: in "
                                           "lm-evaluation-harness's --log_samples shape)")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("-o", "--output", metavar="DIR", help="where to write (default RUN_DIR/samples)")
    s.add_argument("--data-dir", metavar="DIR",
                   help=f"{DATA_HELP} (default: the data the run recorded)")
    s.set_defaults(func=cmd_export_samples)
