"""The ``gluebench`` command line: parse flags, call the library, print.

Every user error (``GlueBenchError``) is printed as one ``error:`` line with exit
code 2; warnings are printed as one ``warning:`` line each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from gluebench import __version__
from gluebench.errors import GlueBenchError, GlueBenchWarning
from gluebench.tsv import atomic_write, write_json

EXIT_USAGE = 2
DESCRIPTION = ("Evaluate, compare and analyse models on the GLUE benchmark, scored exactly as "
               "the official platform scores them.")


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, width=max(140, Console().width), highlight=False)


# ---- commands -----------------------------------------------------------------------------

def cmd_tasks(args) -> int:
    from rich.table import Table

    from gluebench.tasks import registry

    rows = registry()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="GLUE tasks (labels in official order: id 0, 1, ...)",
                  header_style="bold")
    for col in ("Entry", "Inputs", "Labels (submission vocabulary)", "Metrics", "Splits (size)",
                "Submission file"):
        table.add_column(col)
    for name, r in rows.items():
        labels = "score 0-5 (float)" if r["labels"] is None else ", ".join(
            lab if lab == nm else f"{lab}={nm}"
            for lab, nm in zip(r["labels"], r["label_names"], strict=True))
        splits = ", ".join(f"{k} {v['size']}" for k, v in r["splits"].items())
        table.add_row(name, ", ".join(r["input_fields"]), labels, " + ".join(r["metrics"]),
                      splits, r["submission_file"])
    _console().print(table)
    return 0


def cmd_score(args) -> int:
    from gluebench.data import open_source
    from gluebench.report import tables
    from gluebench.scoring import score_predictions

    source = open_source(args.data_dir)
    start = time.perf_counter()
    results = score_predictions(source, args.predictions, split=args.split,
                                n_resamples=args.resamples, seed=args.seed)
    results["timings"] = {"score_seconds": time.perf_counter() - start}
    shown = [tables.details(results)]
    if "categories" in results["tasks"].get("AX", {}):
        shown.append(tables.ax_categories(results["tasks"]["AX"]))
    shown.append(tables.leaderboard([(Path(args.predictions).name or "predictions", results)]))
    console = _console()
    for table in shown:
        console.print(table)
    if args.json:
        write_json(args.json, results)
        console.print(f"wrote {args.json}")
    if args.markdown:
        atomic_write(args.markdown, "\n".join(tables.to_markdown(t) for t in shown))
        console.print(f"wrote {args.markdown}")
    return 0


def cmd_compare(args) -> int:
    from gluebench.compare import compare_predictions
    from gluebench.data import open_source
    from gluebench.report import tables

    result = compare_predictions(open_source(args.data_dir), args.a, args.b, split=args.split,
                                 n_resamples=args.resamples, seed=args.seed)
    _console().print(tables.comparison(result))
    if args.json:
        write_json(args.json, result)
    return 0


def cmd_submission(args) -> int:
    from gluebench.submission import build_submission

    counts = build_submission(args.predictions, args.output, fill_missing=args.fill_missing)
    print(f"wrote {args.output}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_validate(args) -> int:
    from gluebench.submission import validate_submission

    problems = validate_submission(args.zip)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found in {args.zip}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.zip}: OK, all 11 files as the GLUE server expects")
    return 0


def cmd_baseline(args) -> int:
    from gluebench.baselines import write_baseline
    from gluebench.data import open_source
    from gluebench.tasks import resolve_benchmarks

    written = write_baseline(args.kind, open_source(args.data_dir), args.split, args.output,
                             resolve_benchmarks(args.tasks), seed=args.seed, label=args.label)
    print(f"wrote {len(written)} {args.split} prediction file(s) to {args.output}: "
          + ", ".join(written))
    return 0


def _train_config(args, **defaults):
    """The TrainConfig from defaults, ``--config FILE`` and the flags given."""
    from gluebench.train.config import FIELDS, build_config

    flags = {name: getattr(args, name) for name in FIELDS if getattr(args, name, None) is not None}
    return build_config(getattr(args, "config", None), **{**defaults, **flags})


def _print_run(results: dict, out: str | os.PathLike, title: str,
               reference: dict | None = None) -> None:
    from gluebench.report import tables

    console = _console()
    console.print(tables.details(results))
    rows = [(Path(out).name, results)] + ([("majority baseline", reference)] if reference else [])
    console.print(tables.leaderboard(rows, title=title))
    seeds = tables.seed_spread(results)
    if seeds is not None:
        console.print(seeds)
    console.print(f"results: {Path(out) / 'results.json'}; predictions: "
                  f"{Path(out) / 'predictions'}")
    console.print(f"next: gluebench robustness|profile|calibration|power {out}; "
                  f"gluebench report {out} -o report.html")


def cmd_finetune(args) -> int:
    from gluebench.data import open_source
    from gluebench.train.runner import finetune

    config = _train_config(args)
    results = finetune(open_source(args.data_dir), config, args.output, args.tasks,
                       overwrite=args.overwrite, progress=args.progress,
                       n_resamples=args.resamples, stats_seed=args.seed)
    _print_run(results, args.output, "Fine-tuned, dev (x100)")
    return 0


def cmd_evaluate(args) -> int:
    from gluebench.data import open_source
    from gluebench.models.hf import parse_label_map
    from gluebench.train.runner import evaluate

    config = _train_config(args, model=None)
    results = evaluate(open_source(args.data_dir), args.model, config, args.output, args.tasks,
                       label_map=parse_label_map(args.label_map), overwrite=args.overwrite,
                       progress=args.progress, n_resamples=args.resamples,
                       stats_seed=args.seed)
    _print_run(results, args.output, "Evaluated, dev (x100)")
    return 0


# `gluebench run` on 2 CPU cores in under 5 minutes: a subsample of each task, dev only
# (capped for the very large dev sets of QQP, MNLI and QNLI). About 40 optimizer steps per
# task is all the time allows; such short runs need a larger step than the full recipe's
# (measured on CoLA, STS-B, MRPC dev: 200 examples x 6 epochs at 3e-4 gave MCC 7.7 / r 50.0 /
# 73.6, 400 x 3 at 1e-4 gave 0.0 (collapsed) / 12.2 / 74.8 (collapsed)).
RUN_DEFAULTS = {"max_train_examples": 240, "epochs": 5, "learning_rate": 3e-4, "splits": "dev",
                "max_eval_examples": 2000}


def cmd_run(args) -> int:
    """The main job: fine-tune the (default) model on every available task, score dev."""
    from gluebench.baselines import score_baseline
    from gluebench.data import default_source
    from gluebench.train.runner import finetune

    source, why = default_source(args.data_dir)
    config = _train_config(args, **RUN_DEFAULTS)
    print(f"data: {source.description} ({why}); training on a seeded subsample of "
          f"{config.max_train_examples or 'all'} examples per task, {config.epochs:g} epochs at "
          f"learning rate {config.learning_rate:g}; dev capped at {config.max_eval_examples} "
          "examples", file=sys.stderr)
    results = finetune(source, config, args.output, args.tasks, overwrite=args.overwrite,
                       progress=args.progress, n_resamples=args.resamples,
                       stats_seed=args.seed)
    majority = score_baseline("majority", source, results["tasks"],
                              max_eval_examples=config.max_eval_examples,
                              data_seed=config.data_seed, n_resamples=args.resamples,
                              seed=args.seed)
    _print_run(results, args.output, "gluebench run, dev (x100)", reference=majority)
    return 0


# ---- parser -------------------------------------------------------------------------------

class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (not argparse's usage block), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got '{text}'")
    return value


def _stats_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resamples", type=_positive_int, default=1000, metavar="N",
                   help="bootstrap/permutation resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


# Settings that matter when predicting with an already fine-tuned model.
EVALUATE_FIELDS = ("max_seq_length", "max_eval_examples", "data_seed", "splits",
                   "eval_batch_size", "eval_batch_tokens", "pad_to_max_length", "precision",
                   "compile", "device")


def _run_flags(p: argparse.ArgumentParser, data_help: str, tasks_default: str) -> None:
    p.add_argument("--data-dir", help=data_help)
    p.add_argument("--tasks", default=tasks_default,
                   help="comma-separated tasks, e.g. CoLA,RTE (default: all available)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again in RUN_DIR (default: resume an interrupted run)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    _stats_flags(p)


def _config_flags(p: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """One flag per TrainConfig field (values checked by the config), plus --config FILE."""
    from gluebench.train.config import FIELDS

    if only is None:
        p.add_argument("--config", metavar="FILE",
                       help="a TOML or JSON file of settings (flags override it)")
    group = p.add_argument_group("recipe and engine settings")
    for name, f in FIELDS.items():
        if only is not None and name not in only:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = f"{f.metadata.get('help', '')} (default: {f.default})"
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        else:
            group.add_argument(flag, dest=name, default=None, metavar=name.upper(),
                               help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="gluebench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gluebench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = "GLUE data: a folder in the official layout, 'sample', or 'hf[:NAME_OR_PATH]'"

    p = sub.add_parser("tasks", help="list the GLUE tasks, labels, metrics and sizes")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("score", help="score a folder of prediction files")
    p.add_argument("--data-dir", help=data_help + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev"])
    p.add_argument("--predictions", required=True, metavar="PRED_DIR")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown")
    _stats_flags(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("compare", help="paired significance test between two prediction folders")
    p.add_argument("a", metavar="A_DIR")
    p.add_argument("b", metavar="B_DIR")
    p.add_argument("--data-dir", help=data_help + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev"])
    p.add_argument("--json", metavar="OUT")
    _stats_flags(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("submission", help="build the zip the GLUE server accepts")
    p.add_argument("--predictions", required=True, metavar="PRED_DIR",
                   help="folder with the 11 test prediction files")
    p.add_argument("-o", "--output", required=True, metavar="ZIP")
    p.add_argument("--fill-missing", action="store_true",
                   help="fill absent files with a constant prediction (partial submission)")
    p.set_defaults(func=cmd_submission)

    p = sub.add_parser("validate", help="list every problem in a submission zip")
    p.add_argument("zip")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("baseline", help="write predictions of a reference baseline")
    p.add_argument("kind", choices=["majority", "constant", "random"])
    p.add_argument("--data-dir", help=data_help + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--tasks", default="all", help="comma-separated entries or tasks")
    p.add_argument("--label", help="label for the constant baseline (default: the first label)")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("finetune", help="fine-tune a Hugging Face encoder on GLUE tasks")
    _run_flags(p, data_help, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    _config_flags(p)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="predict and score with already fine-tuned models")
    p.add_argument("--model", action="append", metavar="PATH_OR_NAME",
                   help="a fine-tuned model folder or hub name, TASK=PATH (repeatable), or a "
                        "gluebench run directory")
    p.add_argument("--label-map", metavar="MAP",
                   help="what the model's labels mean, e.g. LABEL_0=entailment,LABEL_1=neutral")
    _run_flags(p, data_help, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    _config_flags(p, only=EVALUATE_FIELDS)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("run", help="the main job: fine-tune the default model on every "
                                   "available task (subsampled), score dev")
    _run_flags(p, data_help + " (default: $GLUE_DIR, the hub, else the bundled sample)",
               tasks_default="all")
    p.add_argument("-o", "--output", default="runs/latest", metavar="RUN_DIR")
    _config_flags(p)
    p.set_defaults(func=cmd_run)

    from gluebench.cli_analysis import add_commands

    add_commands(sub, data_help, _stats_flags)
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one usage line
        return int(exc.code or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", GlueBenchWarning)
        warnings.showwarning = _print_warning
        try:
            return args.func(args)
        except GlueBenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `gluebench tasks --json | head`: the reader left early
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

