"""``gluebench``: the parser made of the command groups, and ``main(argv) -> int``."""

from __future__ import annotations

from gluebench import __version__
from gluebench.cli import (
    analysis,
    export,
    prompt,
    scoring,
    server,
    study,
    suites,
    sweep,
    training,
)
from gluebench.cli.boundary import run_guarded
from gluebench.cli.common import OneLineParser, check_output_files

DESCRIPTION = ("Evaluate, compare and analyse models on the GLUE benchmark, scored exactly as "
               "the official platform scores them.")

# One module per command group; each adds its subcommands with ``register(sub)``.
GROUPS = (scoring, suites, training, analysis, server, sweep, prompt, study, export)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="gluebench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gluebench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line (or --help)
        return int(exc.code or 0)
    return run_guarded(_checked(args.func), args)


def _checked(func):
    def run(args) -> int:
        check_output_files(args)
        return func(args)
    return run
