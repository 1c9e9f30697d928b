"""Carry out a ``SuitePlan``: each planned task's method writes its entries' dev predictions,
the run is scored with the suite's scoring, the majority baseline is scored on the same
entries as the reference row, and ``report.html`` shows both with the suite's tables.

::

    RUN_DIR/
      predictions/<Entry file>   the suite's prediction files (BoolQ.jsonl, ...), dev split
      results.json               score --suite's document + the suite record, plan, timings
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
from gluebench.suiterun.suite_plan import SuitePlan, method_named

REPORT = "report.html"
PREDICTIONS = "predictions"
MAJORITY = Path("baselines") / "majority"


def run_suite_job(plan: SuitePlan, data_dir, out_dir, *, n_resamples: int, seed: int,
                  log) -> tuple[dict, dict, Path]:
    """The run's results, the majority baseline's, and the report's path."""
    started = time.perf_counter()
    out = Path(out_dir)
    check_inputs(plan, data_dir)
    origins = predict(plan, data_dir, out / PREDICTIONS, seed=seed, log=log)
    results = score_run(plan, data_dir, out, origins, n_resamples=n_resamples, seed=seed)
    majority = majority_reference(plan, data_dir, out, n_resamples=n_resamples, seed=seed)
    results["timings"] = {"run_seconds": time.perf_counter() - started}
    write_json(out / "results.json", results)
    return results, majority, write_report(plan.suite, out, majority)


def check_inputs(plan: SuitePlan, data_dir) -> None:
    """Read every file the run needs (strict readers: one line naming file and row), so bad
    data fails before the first file is written."""
    suite = plan.suite
    for task in plan.planned:
        load_split(suite, suite.task(task.task), "train", data_dir)
        for name in task.entries:
            entry = suite.entry(name)
            load_split(suite, suite.task(entry.task), entry.dev, data_dir)


def predict(plan: SuitePlan, data_dir, pred_dir: Path, *, seed: int, log) -> dict[str, str]:
    """Each planned task's entries predicted by its method; {entry: how it was made}."""
    origins: dict[str, str] = {}
    for task in plan.planned:
        method = method_named(task.method)
        log(f"{task.task}: {method.name} -> {', '.join(task.entries)}")
        origins.update(method.run(plan.suite, data_dir, list(task.entries), pred_dir, seed))
    return origins


def _entries(plan: SuitePlan) -> list[str]:
    return [e for t in plan.planned for e in t.entries]


def score_run(plan: SuitePlan, data_dir, out: Path, origins: dict[str, str], *,
              n_resamples: int, seed: int) -> dict:
    """``score --suite``'s document of the run's predictions, with what made them."""
    doc = score_suite_predictions(plan.suite, data_dir, out / PREDICTIONS, split="dev",
                                  n_resamples=n_resamples, seed=seed, categories=True)
    methods = {t.task: t.method for t in plan.planned}
    return {**doc, "kind": "run", "device": plan.device, "plan": plan.record(),
            "model": methods, "origins": origins,
            "config": {"method": ", ".join(dict.fromkeys(methods.values()))}}


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
