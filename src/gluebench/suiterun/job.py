"""Carry out a ``plan``: train (within the budget), score the majority baseline on the same
dev examples, and write ``report.html`` next to the results.

::

    RUN_DIR/                     a normal finetune run directory (see ``train.rundir``), plus
      baselines/majority.json    the reference row, scored on the run's dev examples
      report.html                self-contained: the run beside the majority baseline
"""

from __future__ import annotations

import time
from pathlib import Path

from gluebench.benchmark.sources import DataSource
from gluebench.benchmark.tasks import Task
from gluebench.formats.atomic import atomic_write, write_json
from gluebench.report.collect import RunView, load_run
from gluebench.suiterun.plan import GPU_TRAIN_EXAMPLES_PER_SECOND, Plan
from gluebench.train.config import TrainConfig

REPORT = "report.html"
MAJORITY = Path("baselines") / "majority.json"


def run_job(plan: Plan, source: DataSource, config: TrainConfig, out_dir, tasks: list[Task],
            *, overwrite: bool, progress, n_resamples: int, seed: int, log) -> tuple:
    """The run's results, the majority baseline's, and the report's path."""
    from gluebench.recipes import finetune  # deferred: loads scipy

    if config.method == "probe":
        results = finetune(source, config, out_dir, ",".join(t.name for t in tasks),
                           overwrite=overwrite, progress=progress, n_resamples=n_resamples,
                           stats_seed=seed)
    else:
        results = finetune_within_budget(plan, source, config, out_dir, tasks,
                                         overwrite=overwrite, progress=progress,
                                         n_resamples=n_resamples, seed=seed, log=log)
    majority = majority_reference(source, config, results, out_dir, n_resamples, seed)
    return results, majority, write_report(out_dir, majority, n_resamples, seed)


def finetune_within_budget(plan: Plan, source: DataSource, config: TrainConfig, out_dir,
                           tasks: list[Task], *, overwrite: bool, progress, n_resamples: int,
                           seed: int, log) -> dict:
    """Fine-tune task by task; a task whose estimated time exceeds what is left is skipped."""
    from gluebench.recipes import finetune  # deferred: loads scipy

    started, rate, results = time.perf_counter(), GPU_TRAIN_EXAMPLES_PER_SECOND, None
    for i, task in enumerate(tasks):
        estimate = _train_examples(source, task, config) / rate
        left = plan.budget_seconds - (time.perf_counter() - started)
        if results is not None and estimate > left:
            log(f"{task.name}: skipped, about {estimate / 60:.1f} min of training left "
                f"{left / 60:.1f} min of the budget (--budget MINUTES)")
            continue
        results = finetune(source, config, out_dir, task.name, overwrite=overwrite and i == 0,
                           progress=progress, n_resamples=n_resamples, stats_seed=seed)
        train = results["training"][task.name].get("train") or {}
        rate = train.get("examples_per_second") or rate
    return results


def _train_examples(source: DataSource, task: Task, config: TrainConfig) -> float:
    """Examples seen in training: subsample x epochs (the recipe's epochs by size)."""
    n = len(source.load(task, "train"))
    n = min(n, config.max_train_examples or n)
    return n * config.resolved_epochs(n) * len(config.seeds)


def majority_reference(source: DataSource, config: TrainConfig, results: dict, out_dir,
                       n_resamples: int, seed: int) -> dict:
    """The majority baseline on the run's dev examples, as a results document."""
    from gluebench.baselines import score_baseline  # deferred: loads scipy
    from gluebench.benchmark.scoring import scored_results  # deferred: loads scipy

    scored = score_baseline("majority", source, results["tasks"],
                            max_eval_examples=config.max_eval_examples,
                            data_seed=config.data_seed, n_resamples=n_resamples, seed=seed)
    doc = {**scored_results(source.description, "-", scored["tasks"], n_resamples=n_resamples,
                            seed=seed),
           "kind": "baseline", "model": "majority class of train",
           "config": {"method": "majority baseline"}}
    write_json(Path(out_dir) / MAJORITY, doc)
    return doc


def write_report(out_dir, majority: dict, n_resamples: int, seed: int) -> Path:
    """``RUN_DIR/report.html``: the run (with its calibration) beside the majority baseline."""
    from gluebench.analysis.quality import analyze_run  # deferred: loads scipy
    from gluebench.report.html import render_html  # deferred: loads matplotlib

    root = Path(out_dir)
    write_json(root / "analysis" / "quality.json",
               analyze_run(root, n_bins=10, n_resamples=n_resamples, seed=seed))
    baseline = RunView("majority baseline", root / MAJORITY.parent, majority)
    path = root / REPORT
    atomic_write(path, render_html([load_run(root), baseline]))
    return path
