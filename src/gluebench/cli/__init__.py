"""The command line. ``main(argv) -> int`` is the entry point; nothing imports this package."""

from gluebench.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
