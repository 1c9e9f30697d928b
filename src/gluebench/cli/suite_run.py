"""``run --suite NAME|PATH`` for a suite other than GLUE: the plan (a method per task, by
the task's shape), the run, the table with the majority reference row, and the report.
GLUE keeps ``training.cmd_run``'s path, byte for byte."""

from __future__ import annotations

import os
import sys

from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli.common import console, suite_data_dir, train_config
from gluebench.console import suite_tables
from gluebench.models.device import resolve_device


def run_suite(args) -> int:
    # deferred: the plan's runners and the scoring load scipy
    from gluebench.suiterun.suite_job import run_suite_job
    from gluebench.suiterun.suite_plan import describe_suite_plan, make_suite_plan

    suite = load_suite(args.suite)
    config = train_config(args)   # every flag checked before any work
    data_dir = suite_data_dir(args, suite)
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    plan = make_suite_plan(suite, data_dir, resolve_device(config.device), args.tasks,
                           config_for=lambda m: train_config(args, **dict(m.settings)))
    say(f"data: {suite.data_folder(data_dir)} (suite {suite.name}, sha256 {suite.sha256[:12]})")
    for line in describe_suite_plan(plan):
        say(line)
    results, majority, report = run_suite_job(plan, data_dir, args.output,
                                              overwrite=args.overwrite, progress=args.progress,
                                              n_resamples=args.resamples, seed=args.seed)
    out = console()
    out.print(suite_tables.details(suite, results))
    out.print(suite_tables.leaderboard(suite, [(os.path.basename(os.path.normpath(
        args.output)), results), ("majority baseline", majority)]))
    print(f"report: {report}")
    return 0
