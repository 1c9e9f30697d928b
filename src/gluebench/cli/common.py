"""What every command group shares: the one-line parser, the console, common flags."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gluebench.console import score_tables as tables
from gluebench.errors import UsageError
from gluebench.formats.fields import quote
from gluebench.train.config import FIELDS, build_config, parse_seed

EXIT_USAGE = 2
MAX_RESAMPLES = 100_000     # far beyond what a 95% interval needs; bounds memory and time
DATA_HELP = "GLUE data: a folder in the official layout, 'sample', or 'hf[:NAME_OR_PATH]'"


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=max(140, Console().width), highlight=False)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (not argparse's usage block), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text) if text.strip().isascii() else 0
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number, got {quote(str(text))}")
    return value


def int_in(low: int, high: int):
    """An argparse type: a whole number ``low <= value <= high``."""

    def parse(text: str) -> int:
        try:
            value = int(text) if text.strip().isascii() else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low:,} to {high:,}, got {quote(str(text)[:80])}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text) if text.strip().isascii() else 0.0
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text[:80]}'")
    return value


def seed_int(text: str) -> int:
    """A random seed: a whole number 0 <= s < 2**32 (what numpy and torch accept)."""
    try:
        return parse_seed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def stats_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resamples", type=int_in(1, MAX_RESAMPLES), default=1000, metavar="N",
                   help=f"bootstrap/permutation resamples, 1..{MAX_RESAMPLES:,} (default 1000)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")


def run_flags(p: argparse.ArgumentParser, data_help: str, tasks_default: str) -> None:
    p.add_argument("--data-dir", help=data_help)
    p.add_argument("--tasks", default=tasks_default,
                   help="comma-separated tasks, e.g. CoLA,RTE (default: all available)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again in RUN_DIR (default: resume an interrupted run)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    stats_flags(p)


def config_flags(p: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """One flag per TrainConfig field (values checked by the config), plus --config FILE."""
    if only is None:
        p.add_argument("--config", metavar="FILE",
                       help="a TOML or JSON file of settings (flags override it)")
    group = p.add_argument_group("recipe and engine settings")
    for name, f in FIELDS.items():
        if only is not None and name not in only:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if "default" not in help_text:      # some name their default in words already
            help_text += f" (default: {f.default})"
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        else:
            group.add_argument(flag, dest=name, default=None, metavar=name.upper(),
                               help=help_text)


REPORT_FLAGS = ("report_to",)   # --report-to: on finetune (every field), sweep and study


def report_flags(p: argparse.ArgumentParser) -> None:
    """``--report-to tensorboard,wandb,mlflow|none`` for a command that trains many runs."""
    config_flags(p, only=REPORT_FLAGS)


def report_settings(args) -> dict:
    """``{"report_to": (...)}`` when the flag was given, checked (the tools installed) now,
    before any work; else ``{}``."""
    given = {n: getattr(args, n) for n in REPORT_FLAGS if getattr(args, n, None) is not None}
    return {k: v for k, v in build_config(**given).to_dict().items() if k in given}


def train_config(args, **defaults):
    """The TrainConfig from defaults, ``--config FILE`` and the flags given."""
    flags = {name: getattr(args, name) for name in FIELDS if getattr(args, name, None) is not None}
    return build_config(getattr(args, "config", None), **{**defaults, **flags})


def print_run(results: dict, out: str | os.PathLike, title: str,
              reference: dict | None = None) -> None:
    out_console = console()
    out_console.print(tables.details(results))
    rows = [(Path(out).name, results)] + ([("majority baseline", reference)] if reference else [])
    out_console.print(tables.leaderboard(rows, title=title))
    name, zero = next(((n, t["zero_shot_cosine"]) for n, t in results["tasks"].items()
                       if t.get("zero_shot_cosine")), (None, None))
    if zero:
        out_console.print(f"{name}: the ridge head's predictions ({name}.tsv) are scored above; "
                          f"the zero-shot cosine of the frozen sentence vectors gives Pearson "
                          f"{100 * zero['pearson']:.1f} / Spearman {100 * zero['spearman']:.1f}")
    seeds = tables.seed_spread(results)
    if seeds is not None:
        out_console.print(seeds)
    out_console.print(f"results: {Path(out) / 'results.json'}; predictions: "
                      f"{Path(out) / 'predictions'}")
    out_console.print(f"next: gluebench robustness|profile|calibration|power {out}; "
                      f"gluebench report {out} -o report.html")


# Flags that name a file the command writes; commands whose -o is a file say so with
# ``set_defaults(output_is_file=True)``.
FILE_OUTPUT_FLAGS = ("json", "markdown", "screenshot")


def check_output_files(args) -> None:
    """Before any work: every output file can be a file (not a folder, not under a file)."""
    names = [getattr(args, f, None) for f in FILE_OUTPUT_FLAGS]
    if getattr(args, "output_is_file", False):
        output = args.output
        names += output if isinstance(output, list) else [output]
    for name in names:
        if not isinstance(name, (str, os.PathLike)):
            continue   # e.g. `tasks --json` is a switch
        path = Path(name)
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; expected a file name to write")
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise UsageError(f"{path}: {parent} is a file, not a directory")


def suite_data_dir(args, suite, *, required: bool = True) -> str | None:
    """``--data-dir`` (else ``$GLUE_DIR``) for a suite other than GLUE; one line when missing."""
    data_dir = args.data_dir or os.environ.get("GLUE_DIR")
    if required and not data_dir:
        raise UsageError(f"--data-dir is required for --suite {suite.name} (or set GLUE_DIR); "
                         "expected the folder holding the suite's data, or hf for the hub")
    return data_dir
