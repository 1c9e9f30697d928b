"""Suites: ``suites`` (the built-in ones), ``suite check FILE``, and ``score --suite`` for
any suite other than GLUE (GLUE keeps ``scoring.cmd_score``'s path, byte for byte)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from gluebench.benchmark.suite_loader import check_suite, list_suites, load_suite
from gluebench.cli.common import console, suite_data_dir
from gluebench.console import suite_tables
from gluebench.console.score_tables import to_markdown
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write, write_json

SUITE_HELP = "a built-in suite (see `gluebench suites`) or the path of a suite file (.toml)"


def cmd_suites(args) -> int:
    suites = [load_suite(name) for name in list_suites()]
    if args.json:
        print(json.dumps([_summary(s) for s in suites], indent=2))
        return 0
    console().print(suite_tables.suites_table(suites))
    return 0


def _summary(s) -> dict:
    return {"name": s.name, "title": s.title, "description": s.description,
            "tasks": list(s.tasks), "entries": list(s.entries),
            "aggregate": {"name": s.aggregate.name, "groups": list(s.aggregate.groups),
                          "beside": list(s.beside())},
            "sha256": s.sha256}


def cmd_suite_check(args) -> int:
    suite = check_suite(args.file)
    print(f"{args.file}: OK, suite '{suite.name}' ({len(suite.tasks)} tasks, "
          f"{len(suite.entries)} entries, aggregate {suite.aggregate.name}; "
          f"sha256 {suite.sha256[:12]})")
    return 0


def score_suite(args) -> int:
    """``score --suite NAME|PATH`` for a suite other than GLUE."""
    from gluebench.benchmark.suite_scoring import score_suite_predictions  # deferred: scipy

    suite = load_suite(args.suite)
    data_dir = suite_data_dir(args, suite)
    start = time.perf_counter()
    results = score_suite_predictions(suite, data_dir, args.predictions, split=args.split,
                                      n_resamples=args.resamples, seed=args.seed,
                                      categories=args.categories)
    results["timings"] = {"score_seconds": time.perf_counter() - start}
    label = Path(args.predictions).name or "predictions"
    shown = [suite_tables.details(suite, results),
             suite_tables.leaderboard(suite, [(label, results)])]
    out = console()
    for table in shown:
        out.print(table)
    if args.json:
        write_json(args.json, results)
        out.print(f"wrote {args.json}")
    if args.markdown:
        atomic_write(args.markdown, "\n".join(to_markdown(t) for t in shown))
        out.print(f"wrote {args.markdown}")
    return 0


def submission_suite(args) -> int:
    """``submission --suite NAME|PATH``: the suite's official zip."""
    from gluebench.benchmark.suite_submission import build_suite_submission

    suite = load_suite(args.suite)
    if args.fill_missing:
        raise UsageError(f"--fill-missing is for GLUE; a {suite.title} submission needs "
                         "every file")
    counts = build_suite_submission(suite, args.predictions, args.output, split=args.split,
                                    data_dir=args.data_dir)
    print(f"wrote {args.output} ({suite.title}, {args.split}-sized): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def validate_suite(args) -> int:
    """``validate --suite NAME|PATH ZIP``: every problem of a suite's submission zip."""
    from gluebench.benchmark.suite_submission import inspect_suite_submission

    suite = load_suite(args.suite)
    problems = inspect_suite_submission(suite, args.zip, split=args.split,
                                        data_dir=args.data_dir)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found in {args.zip}", file=sys.stderr)
        return 2
    against = (f"the files in {args.data_dir}" if args.data_dir
               else f"the official {args.split} sizes")
    print(f"{args.zip}: OK, all {len(suite.entries)} {suite.title} files, checked against "
          f"{against}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("suites", help="list the built-in suites (GLUE, SuperGLUE, ...)")
    p.add_argument("--json", action="store_true", help="print the suites as JSON")
    p.set_defaults(func=cmd_suites)

    p = sub.add_parser("suite", help="work with suite definitions")
    actions = p.add_subparsers(dest="suite_command", required=True, metavar="ACTION")
    c = actions.add_parser("check", help="validate a suite file (TOML); exit 2 with one "
                                         "error line naming the key when it is bad")
    c.add_argument("file", metavar="FILE")
    c.set_defaults(func=cmd_suite_check)
