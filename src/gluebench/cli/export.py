"""``gluebench export``: a finished run for other tools (per-example samples, model cards)."""

from __future__ import annotations

from gluebench.cli.common import DATA_HELP
from gluebench.errors import UsageError


def cmd_export_samples(args) -> int:
    from gluebench.export.samples import export_samples  # deferred: numpy, the lm templates

    paths = export_samples(args.run_dir, args.output, data_dir=args.data_dir)
    for path in paths:
        print(path)
    return 0


def cmd_export_model_card(args) -> int:
    from gluebench.export.model_card import build_card, write_card  # deferred: huggingface_hub

    if args.output is None and args.push is None:
        raise UsageError("export model-card: expected -o README.md, --push REPO, or both")
    card = build_card(args.run_dir, existing=args.output, model_name=args.model_name)
    write_card(card, args.output, args.push)
    print(f"model card: {', '.join(filter(None, [args.output, args.push and 'hub ' + args.push]))}")
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

    m = actions.add_parser("model-card", help="write (or update) a Hugging Face model card whose "
                                              "model-index lists the run's dev results")
    m.add_argument("run_dir", metavar="RUN_DIR")
    m.add_argument("-o", "--output", metavar="README.md",
                   help="the card to write; an existing card keeps its prose and other metadata")
    m.add_argument("--push", metavar="REPO", help="also upload it to this hub model repo")
    m.add_argument("--model-name", metavar="NAME",
                   help="the model's name in the card (default: the run's model folder name)")
    m.set_defaults(func=cmd_export_model_card, output_is_file=True)
