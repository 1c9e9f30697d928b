"""Carry out a ``SuitePlan``: each planned task's method runs its units in the unit loop
(``runs.units``; the run directory of every suite method, ``runs.suite_units``), the majority
baseline is scored on the same entries as the reference row, and ``report.html`` shows both
with the suite's tables.

::

    RUN_DIR/                     a suite run directory (run.json, units/, seeds/<key>/,
      predictions/dev/<Entry>    promoted predictions, results.json with the suite score
      results.json               and the plan), resumable like any run, plus
      baselines/majority/        the reference row's prediction files
      baselines/majority.json    ... and its scores
      report.html                self-contained: the run beside the majority baseline

Every file the run reads is read and checked before the first file is written
(``check_inputs``); files are written atomically.
"""

from __future__ import annotations

import time
from pathlib import Path

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_baselines import suite_baseline
from gluebench.benchmark.suite_scoring import score_suite_predictions
from gluebench.formats.atomic import atomic_write, write_json
from gluebench.report.collect import RunView, load_run
from gluebench.report.suite_view import layout_of
from gluebench.runs.suite_units import suite_reference, suite_run_dir
from gluebench.runs.units import run_units, writing
from gluebench.suiterun.suite_plan import RunContext, SuitePlan, method_named

REPORT = "report.html"
MAJORITY = Path("baselines") / "majority"


def run_suite_job(plan: SuitePlan, data_dir, out_dir, *, overwrite: bool, progress,
                  n_resamples: int, seed: int) -> tuple[dict, dict, Path]:
    """The run's results, the majority baseline's, and the report's path."""
    started = time.perf_counter()
    check_inputs(plan, data_dir)
    run = suite_run_dir(out_dir, plan.suite)
    run.check_target(overwrite=overwrite)
    header = run_header(plan, data_dir)
    skipped = [f"{t.task}: not run: {t.why}" for t in plan.tasks if t.method is None]
    with writing(run, header, skipped, overwrite=overwrite, progress=progress) as (bars, _):
        for name, tasks in by_method(plan).items():
            method = method_named(name).units(RunContext(
                plan.suite, data_dir, plan.configs.get(name), tasks, run, header, bars,
                n_resamples, seed, started, {"plan": plan.record(), "device": plan.device}))
            results = run_units(run, tasks, method, bars)
    majority = majority_reference(plan, data_dir, run.root, n_resamples=n_resamples, seed=seed)
    return results, majority, write_report(plan.suite, run.root, majority)


def run_header(plan: SuitePlan, data_dir) -> dict:
    """``run.json``: what a resumed run must match (the suite, its data, the plan)."""
    methods = {t.task: t.method for t in plan.planned}
    return {"kind": "run", "suite": suite_reference(plan.suite),
            "data_source": str(plan.suite.data_folder(data_dir)), "model": methods,
            "config": {"method": ", ".join(dict.fromkeys(methods.values())),
                       "plan": plan.record(), "splits": ["dev"],
                       "methods": {name: config.to_dict() for name, config
                                   in plan.configs.items()
                                   if config is not None and name in methods.values()}}}


def by_method(plan: SuitePlan) -> dict[str, list]:
    """The planned tasks grouped by method, in plan order."""
    groups: dict[str, list] = {}
    for t in plan.planned:
        groups.setdefault(t.method, []).append(plan.suite.task(t.task))
    return groups


def check_inputs(plan: SuitePlan, data_dir) -> None:
    """Read every file the run needs (strict readers: one line naming file and row), so bad
    data fails before the first file is written."""
    suite = plan.suite
    for task in plan.planned:
        load_split(suite, suite.task(task.task), "train", data_dir)
        for name in task.entries:
            entry = suite.entry(name)
            load_split(suite, suite.task(entry.task), entry.dev, data_dir)


def _entries(plan: SuitePlan) -> list[str]:
    return [e for t in plan.planned for e in t.entries]


def majority_reference(plan: SuitePlan, data_dir, out: Path, *, n_resamples: int,
                       seed: int) -> dict:
    """The majority baseline on the run's entries, scored the same way (the reference row)."""
    folder = out / MAJORITY
    suite_baseline("majority", plan.suite, data_dir, "dev", folder, entries=_entries(plan),
                   seed=seed)
    doc = {**score_suite_predictions(plan.suite, data_dir, folder, split="dev",
                                     n_resamples=n_resamples, seed=seed, categories=True),
           "kind": "baseline", "model": "majority class of train",
           "config": {"method": "majority baseline"}}
    write_json(out / f"{MAJORITY}.json", doc)
    return doc


def write_report(suite: Suite, out: Path, majority: dict) -> Path:
    """``RUN_DIR/report.html``: the run beside the majority baseline, the suite's tables."""
    from gluebench.report.html import render_html  # deferred: loads matplotlib

    baseline = RunView("majority baseline", out / f"{MAJORITY}.json", majority)
    path = out / REPORT
    atomic_write(path, render_html([load_run(out), baseline], suite=layout_of(suite)))
    return path
