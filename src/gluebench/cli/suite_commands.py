"""``tasks``, ``baseline`` and ``compare`` with ``--suite`` for any suite other than GLUE
(GLUE keeps ``scoring``'s commands, byte for byte)."""

from __future__ import annotations

import json

from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli.common import console, suite_data_dir
from gluebench.console import suite_task_tables
from gluebench.formats.atomic import write_json


def tasks_suite(args) -> int:
    from gluebench.benchmark.suite_catalog import task_rows

    suite = load_suite(args.suite)
    rows = task_rows(suite, suite_data_dir(args, suite, required=False))
    if args.json:
        print(json.dumps({"suite": suite.name, "sha256": suite.sha256, "tasks": rows},
                         indent=2))
        return 0
    console().print(suite_task_tables.tasks_table(suite, rows))
    return 0


def baseline_suite(args) -> int:
    from gluebench.benchmark.suite_baselines import suite_baseline  # deferred: scipy

    suite = load_suite(args.suite)
    train_suite = load_suite(args.train_suite) if args.train_suite else None
    entries = None if args.tasks == "all" else [t.strip() for t in args.tasks.split(",")]
    origins = suite_baseline(args.kind, suite, suite_data_dir(args, suite), args.split,
                             args.output, entries=entries, seed=args.seed, label=args.label,
                             train_suite=train_suite)
    print(f"wrote {len(origins)} {suite.title} {args.split} prediction file(s) to "
          f"{args.output}:")
    for name, origin in origins.items():
        print(f"  {suite.entry(name).submission_file}: {origin}")
    skipped = [n for n in suite.entries if n not in origins]
    if entries is None and skipped:
        print(f"not written (no {args.split} file under the data folder): {', '.join(skipped)}")
    return 0


def compare_suite(args) -> int:
    from gluebench.benchmark.suite_compare import compare_suite_predictions  # deferred: scipy

    suite = load_suite(args.suite)
    result = compare_suite_predictions(suite, suite_data_dir(args, suite), args.a, args.b,
                                       split=args.split, n_resamples=args.resamples,
                                       seed=args.seed)
    console().print(suite_task_tables.comparison_table(result))
    if args.json:
        write_json(args.json, result)
    return 0
