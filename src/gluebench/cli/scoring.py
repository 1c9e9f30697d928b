"""Scoring and submissions: ``tasks``, ``score``, ``compare``, ``submission``, ``validate``,
``baseline``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.submission import build_submission, validate_submission
from gluebench.benchmark.suite_loader import DEFAULT_SUITE
from gluebench.benchmark.tasks import registry, resolve_benchmarks
from gluebench.cli.common import DATA_HELP, EXIT_USAGE, console, seed_int, stats_flags
from gluebench.cli.suite_commands import baseline_suite, compare_suite, tasks_suite
from gluebench.cli.suites import SUITE_HELP, score_suite, submission_suite, validate_suite
from gluebench.console import score_tables as tables
from gluebench.errors import DataError, UsageError
from gluebench.formats.atomic import atomic_write, write_json


def cmd_tasks(args) -> int:
    if args.suite != DEFAULT_SUITE:  # any other suite; GLUE keeps the path below unchanged
        return tasks_suite(args)
    from rich.table import Table

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
    console().print(table)
    return 0


def cmd_score(args) -> int:
    if args.suite != DEFAULT_SUITE:  # any other suite; GLUE keeps the path below unchanged
        return score_suite(args)
    from gluebench.benchmark.scoring import score_predictions  # deferred: loads scipy
    source = open_source(args.data_dir)
    start = time.perf_counter()
    results = score_predictions(source, args.predictions, split=args.split,
                                n_resamples=args.resamples, seed=args.seed)
    results["timings"] = {"score_seconds": time.perf_counter() - start}
    shown = [tables.details(results)]
    shown += [tables.ax_categories(entry) for entry in results["tasks"].values()
              if "categories" in entry]
    shown.append(tables.leaderboard([(Path(args.predictions).name or "predictions", results)]))
    out = console()
    for table in shown:
        out.print(table)
    if args.json:
        write_json(args.json, results)
        out.print(f"wrote {args.json}")
    if args.markdown:
        atomic_write(args.markdown, "\n".join(tables.to_markdown(t) for t in shown))
        out.print(f"wrote {args.markdown}")
    return 0


def cmd_compare(args) -> int:
    if args.suite != DEFAULT_SUITE:
        return compare_suite(args)
    from gluebench.benchmark.comparison import compare_predictions  # deferred: loads scipy
    a, b = _compared(args.a, args.split), _compared(args.b, args.split)
    result = compare_predictions(open_source(args.data_dir), a, b, split=args.split,
                                 n_resamples=args.resamples, seed=args.seed,
                                 names=(str(args.a), str(args.b)))
    console().print(tables.comparison(result))
    if args.json:
        write_json(args.json, result)
    return 0


def _compared(path: str, split: str):
    """A run directory as its seeds' prediction folders; any other folder as it is."""
    from gluebench.benchmark.comparison import seed_order  # deferred: loads scipy
    from gluebench.runs.rundir import RunDir  # deferred: loads scipy

    run = RunDir(path)
    if not run.is_run():
        return path
    seeds = sorted((p for p in (run.root / "seeds").glob("*")
                    if (run.seed_predictions(p.name) / split).is_dir()), key=seed_order)
    if not seeds:
        raise DataError(path, f"a run directory without per-seed {split} predictions "
                              f"(seeds/<S>/predictions/{split}/); expected a finished run, or "
                              "a folder of prediction files")
    return {p.name: run.seed_predictions(p.name) / split for p in seeds}


def cmd_submission(args) -> int:
    args.predictions = _one_folder(args)
    if args.suite != DEFAULT_SUITE:  # GLUE keeps the path below unchanged
        return submission_suite(args)
    _glue_only(args)
    counts = build_submission(args.predictions, args.output, fill_missing=args.fill_missing,
                              split=args.split)
    print(f"wrote {args.output} ({args.split}-sized): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _one_folder(args) -> str:
    given = [p for p in (args.pred_dir, args.predictions) if p]
    if len(given) != 1:
        raise UsageError("expected the prediction folder once: PRED_DIR or --predictions PRED_DIR")
    return given[0]


def _glue_only(args) -> None:
    if args.data_dir:
        raise UsageError("--data-dir is for --suite other than glue; GLUE zips are checked "
                         "against the official sizes")


def cmd_validate(args) -> int:
    if args.suite != DEFAULT_SUITE:  # GLUE keeps the path below unchanged
        return validate_suite(args)
    _glue_only(args)
    problems = validate_submission(args.zip, split=args.split)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found in {args.zip}", file=sys.stderr)
        return EXIT_USAGE
    sized = "as the GLUE server expects" if args.split == "test" else "at the official dev sizes"
    print(f"{args.zip}: OK, all 11 files {sized}")
    return 0


def cmd_baseline(args) -> int:
    if args.suite != DEFAULT_SUITE:
        return baseline_suite(args)
    from gluebench.baselines import write_baseline  # deferred: loads scipy
    written = write_baseline(args.kind, open_source(args.data_dir), args.split, args.output,
                             resolve_benchmarks(args.tasks), seed=args.seed, label=args.label)
    print(f"wrote {len(written)} {args.split} prediction file(s) to {args.output}: "
          + ", ".join(written))
    return 0


def register(sub) -> None:
    p = sub.add_parser("tasks", help="list the GLUE tasks, labels, metrics and sizes")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.add_argument("--data-dir", help="with --suite: report each file's rows found there")
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue)")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("score", help="score a folder of prediction files")
    p.add_argument("--data-dir", help=DATA_HELP + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev"])
    p.add_argument("--predictions", required=True, metavar="PRED_DIR")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown")
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue)")
    p.add_argument("--categories", action="store_true",
                   help="with --suite: also each diagnostic entry's metric per linguistic "
                        "category (AX-b), for the report (GLUE's AX always has them)")
    stats_flags(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("compare", help="paired significance test between two systems (one "
                                       "seed or several each)")
    p.add_argument("a", metavar="A_DIR", help="a folder of prediction files, a folder of "
                   "per-seed folders (A/<seed>/RTE.tsv), or a run directory (all its seeds)")
    p.add_argument("b", metavar="B_DIR", help="the same for B")
    p.add_argument("--data-dir", help=DATA_HELP + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev"])
    p.add_argument("--json", metavar="OUT")
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue)")
    stats_flags(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("submission", help="build the zip the GLUE server accepts")
    p.add_argument("pred_dir", nargs="?", metavar="PRED_DIR", help="same as --predictions")
    p.add_argument("--predictions", metavar="PRED_DIR",
                   help="folder with the 11 prediction files (a run's predictions/test)")
    p.add_argument("--split", default="test", choices=["dev", "test"],
                   help="official sizes the files must have: test (the server's zip, default) "
                        "or dev (a dev-sized zip of a run's predictions/dev)")
    p.add_argument("-o", "--output", required=True, metavar="ZIP")
    p.add_argument("--fill-missing", action="store_true",
                   help="fill absent files with a constant prediction (partial submission)")
    _suite_flags(p)
    p.set_defaults(func=cmd_submission, output_is_file=True)

    p = sub.add_parser("validate", help="list every problem in a submission zip")
    p.add_argument("zip")
    p.add_argument("--split", default="test", choices=["dev", "test"],
                   help="check against the official test sizes (default) or dev sizes")
    _suite_flags(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("baseline", help="write predictions of a reference baseline")
    p.add_argument("kind", choices=["majority", "constant", "random"])
    p.add_argument("--data-dir", help=DATA_HELP + " (default: $GLUE_DIR)")
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--tasks", default="all", help="comma-separated entries or tasks "
                   "(with --suite, default: every entry whose file is in --data-dir)")
    p.add_argument("--label", help="label for the constant baseline (default: the first label)")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue)")
    p.add_argument("--train-suite", metavar="NAME|PATH", help="with --suite: take the "
                   "majority class from this suite's training files (e.g. fewglue)")
    p.set_defaults(func=cmd_baseline)


def _suite_flags(p) -> None:
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue)")
    p.add_argument("--data-dir", help="check ids and sizes against the suite's files in this "
                   "folder instead of the official sizes (suites other than glue)")
