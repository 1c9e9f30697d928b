"""``gluebench sweep SPEC.toml``: grids of tasks x methods x hyperparameters x seeds."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from gluebench.benchmark.sources import open_source
from gluebench.cli.common import (
    DATA_HELP,
    console,
    positive_int,
    report_flags,
    report_settings,
)
from gluebench.console.score_tables import sweep_best
from gluebench.errors import UsageError
from gluebench.models.device import resolve_device
from gluebench.runs.suite_view import suite_view
from gluebench.sweep.cost import estimate, trial_work
from gluebench.sweep.executors import EXECUTORS, check_ray_address, make_executor
from gluebench.sweep.runner import plan_document, print_outcome, run_sweep
from gluebench.sweep.spec import MAX_TRIALS, SELECT_ON, read_spec
from gluebench.sweep.sweepdir import SweepDir
from gluebench.sweep.trials import expand
from gluebench.sweep.worker import check_trainable


def _data_spec(value: str | None) -> str:
    """The data as every worker can open it: an absolute folder, ``sample`` or ``hf:...``."""
    value = value or os.environ.get("GLUE_DIR")
    if not value:
        raise UsageError("no data given: pass --data-dir DIR (official GLUE layout), "
                         "--data-dir sample, or set GLUE_DIR")
    if value == "sample" or value == "hf" or value.startswith("hf:"):
        return value
    return str(Path(value).resolve())


def cmd_sweep(args) -> int:
    reporting = report_settings(args)      # the flag checked before the spec is read
    spec = read_spec(args.spec, select_on=args.select_on, suite=args.suite)
    spec = dataclasses.replace(spec, fixed={**spec.fixed, **reporting})
    sweep = SweepDir(args.output) if args.output else None
    if not args.plan:
        _check_run_flags(args, sweep)
        check_trainable(suite_view(spec.suite), spec.methods)
    data = _data_spec(args.data_dir)
    source = open_source(data)
    trials = expand(spec, source, data)
    if not args.plan:
        check_trainable(suite_view(spec.suite), spec.methods, [t.config for t in trials])
    if args.plan:
        _print_plan(spec, trials, sweep, args)
        return 0
    return _run(spec, trials, sweep, source, data, args)


def _check_run_flags(args, sweep) -> None:
    """Before the data is read or anything written: -o, the executor, Ray's address."""
    if sweep is None:
        raise UsageError("gluebench sweep: -o SWEEP_DIR is required (or --plan to only list "
                         "the trials)")
    sweep.check_writable()
    args.executor = args.executor or ("ray" if args.ray_address else "inline")
    if args.ray_address and args.executor != "ray":
        raise UsageError(f"--ray-address needs --executor ray, not {args.executor}")
    if args.executor == "ray":
        args.ray_address = check_ray_address(args.ray_address)  # before Ray is imported


def _run(spec, trials, sweep, source, data: str, args) -> int:
    # Ray queues trials by their resource request, so it may have them all in flight.
    default = {"inline": 1, "ray": len(trials),
               "process": max(1, (os.cpu_count() or 1) // spec.resources.cpus)}
    max_parallel = 1 if args.executor == "inline" else args.max_parallel or default[args.executor]
    # A local Ray instance gets cpus x --max-parallel CPUs, or the machine's when not given.
    executor = make_executor(args.executor, resources=spec.resources,
                             max_parallel=args.max_parallel if args.executor == "ray"
                             else max_parallel, ray_address=args.ray_address)
    with sweep.lock():  # a second sweep into SWEEP_DIR refuses in one line, and runs nothing
        sweep.write_plan(plan_document(spec, trials, source.description, data))
        outcome = run_sweep(sweep, trials, executor, data=data, cpus=spec.resources.cpus,
                            retries=args.retries, max_parallel=max_parallel,
                            resamples=args.resamples, progress=args.progress)
        print_outcome(outcome, len(trials))
        _print_selection(sweep)
    return 1 if outcome.failed else 0


def _print_selection(sweep) -> None:
    from gluebench.sweep.select import select  # deferred: loads scipy

    selection = select(sweep)
    sweep.write_selection(selection)
    out = console()
    out.print(sweep_best(selection))
    out.print(f"selection: {sweep.root / 'selection.json'}; next: gluebench report "
              f"{sweep.root} -o report.html")


def _print_plan(spec, trials, sweep, args) -> None:
    from rich.table import Table

    done = {t.key for t in trials if sweep and sweep.finished(t.key)}
    on = "" if spec.suite == "glue" else f" on {suite_view(spec.suite).suite.title}"
    table = Table(title=f"{len(trials)} trial(s) of {spec.path}{on} (selection on "
                        f"{spec.select_on})")
    for head in ("#", "key", "task", "method", *spec.swept, "seed", "train ex", "steps",
                 "status"):
        table.add_column(head, justify="right" if head in ("#", "steps", "train ex") else "left")
    for i, t in enumerate(trials, 1):
        work = trial_work(t)
        table.add_row(str(i), t.key[:12], t.task, t.method,
                      *[f"{t.point[k]:g}" if isinstance(t.point[k], float) else str(t.point[k])
                        for k in spec.swept],
                      str(t.seed), str(work["train_examples"]), str(work["steps"]),
                      "done" if t.key in done else "to run")
    out = console()
    out.print(table)
    todo = [t for t in trials if t.key not in done]
    measured = [r["trial_seconds"] for t in trials if t.key in done
                for r in [sweep.record(t.key)]] if done else None
    device = resolve_device("auto") if spec.resources.gpus else "cpu"
    cost = estimate(todo, device, measured)
    parallel = args.max_parallel or 1
    out.print(f"to run: {len(todo)} of {len(trials)} trial(s); estimated "
              f"{cost['seconds'] / 3600:.2f} trial-hours ({cost['per_trial']:.0f} s each; "
              f"{cost['basis']}); about {cost['seconds'] / parallel / 60:.0f} min with "
              f"{parallel} running at once. Nothing was run.")


def register(sub) -> None:
    p = sub.add_parser("sweep", help="a grid of tasks x methods x hyperparameters x seeds "
                                     "(inline, a process pool, or Ray)",
                       description=f"Run a sweep spec's trials (at most {MAX_TRIALS:,}); one "
                                   "sweep writes a SWEEP_DIR at a time.")
    p.add_argument("spec", metavar="SPEC.toml")
    p.add_argument("--suite", metavar="NAME|PATH", default=None,
                   help="the benchmark whose tasks the spec names: glue (default), superglue, "
                        "fewglue or a suite file; overrides the spec's 'suite'")
    p.add_argument("--data-dir", help=DATA_HELP + " (default: $GLUE_DIR)")
    p.add_argument("-o", "--output", metavar="SWEEP_DIR",
                   help="where trials and results go (shared storage on a cluster)")
    p.add_argument("--plan", action="store_true",
                   help=f"list the trials and an estimated cost; run nothing (a spec makes at "
                        f"most {MAX_TRIALS:,} trials)")
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="inline (this process), process (a local pool), ray (default: inline; "
                        "ray when --ray-address is given)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="an existing Ray cluster: HOST:PORT, ray://HOST:PORT or auto, checked "
                        "before Ray starts (default: $RAY_ADDRESS, else a local instance)")
    p.add_argument("--max-parallel", type=positive_int, metavar="N",
                   help="trials running at once (default: CPUs / cpus per trial)")
    p.add_argument("--retries", type=_non_negative, default=1, metavar="N",
                   help="attempts after a trial's first failure (default 1)")
    p.add_argument("--select-on", choices=SELECT_ON, default=None,
                   help="pick each task's best configuration on a held-out part of train "
                        "(GLUE's default), on a suite's dev32 (its default where it has one) or "
                        "on dev (labelled dev-selected)")
    p.add_argument("--resamples", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples for each trial's CIs (default 1000)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal)")
    report_flags(p)
    p.set_defaults(func=cmd_sweep)


def _non_negative(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got '{text[:80]}'")
    return int(text)
