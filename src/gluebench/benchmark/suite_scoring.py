"""Scoring a folder of a suite's prediction files: metrics and CIs per entry, the aggregate.

The suite counterpart of ``scoring.score_predictions`` (which stays GLUE's path, byte for
byte). Each entry is scored with the metrics its suite names, on the items of its gold
file; the bootstrap resamples the entry's ``resample`` unit (MultiRC: paragraphs). The
aggregate is the unweighted mean of the groups' scores (a group: the mean of its
entries; an entry: the mean of its metrics, x100); entries in no group (AX-b, AX-g) are
reported beside it. With an entry missing it is a labelled partial average, never the
suite score.
"""

from __future__ import annotations

import os

import numpy as np

from gluebench import SCHEMA_VERSION, __version__
from gluebench.benchmark.grouped_stats import grouped_bootstrap_ci
from gluebench.benchmark.metric_registry import compute
from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Entry, Suite
from gluebench.benchmark.suite_predictions import prediction_files, read_aligned
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import DataError


def load_gold(suite: Suite, entry: Entry, split: str, data_dir) -> ExampleTable:
    """The labelled rows an entry's ``split`` predictions are scored against."""
    task = suite.task(entry.task)
    key = entry.file_key(split)
    table = load_split(suite, task, key, data_dir)
    if not table.has_gold:
        raise DataError(table.source, f"{entry.name} has no gold labels in its {split} file "
                        f"'{key}'; expected a labelled file to score")
    return table


def score_entry(entry: Entry, gold: ExampleTable, pred, *,
                n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Metrics, score (x100), counts and bootstrap CIs of one entry."""
    items = gold.items(pred)
    values = compute(entry.metrics, items)
    result: dict = {**values, "score": 100.0 * float(np.mean(list(values.values()))),
                    "n": len(items), "resample": entry.resample}
    unscored = len(gold) - len(items)
    if unscored:  # rows without a gold label (OCNLI's "-"): not in n, not in any metric
        result["n_unscored"] = unscored
    if entry.resample != "example":
        result["n_units"] = int(items.unit_ids(entry.resample).max(initial=-1)) + 1
    result["ci"] = grouped_bootstrap_ci(entry.metrics, items, resample=entry.resample,
                                        n_resamples=n_resamples, seed=seed, name=entry.name)
    return result


def suite_score(suite: Suite, tasks: dict[str, dict]) -> dict:
    """The suite score over its aggregate groups, or a labelled partial average."""
    groups: dict[str, list[float]] = {g: [] for g in suite.aggregate.groups}
    for name, entry in suite.entries.items():
        if entry.group is not None and name in tasks:
            groups[entry.group].append(tasks[name]["score"])
    missing = [n for n, e in suite.entries.items() if e.group is not None and n not in tasks]
    present = {g: float(np.mean(v)) for g, v in groups.items() if v}
    average = float(np.mean(list(present.values()))) if present else None
    return {
        suite.aggregate.name: average if not missing else None,
        "partial_average": average if missing else None,
        "partial_average_tasks": list(present) if missing else [],
        "tasks_missing": missing + [n for n in suite.beside() if n not in tasks],
    }


def score_suite_predictions(suite: Suite, data_dir: str | os.PathLike,
                            pred_dir: str | os.PathLike, *, split: str = "dev",
                            n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Score every submission-named file in ``pred_dir`` against the suite's gold files."""
    # Read and check every file before scoring any: a bad file fails before any output.
    checked = {}
    for name, path in prediction_files(suite, pred_dir).items():
        entry = suite.entry(name)
        gold = load_gold(suite, entry, split, data_dir)
        checked[name] = (gold, read_aligned(suite, entry, gold, path))
    tasks = {name: score_entry(suite.entry(name), gold, pred, n_resamples=n_resamples,
                               seed=seed) for name, (gold, pred) in checked.items()}
    return suite_results(suite, str(suite.data_folder(data_dir)), pred_dir, tasks,
                         split=split, n_resamples=n_resamples, seed=seed)


def suite_results(suite: Suite, data_source: str, pred_dir: str | os.PathLike,
                  tasks: dict[str, dict], *, split: str = "dev",
                  n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """The results JSON of a suite's scored entries: schema, provenance, bootstrap, tasks and
    the suite score (``score --suite --json``; a suite run's results.json starts with it)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "gluebench_version": __version__,
        "suite": {"name": suite.name, "title": suite.title, "sha256": suite.sha256,
                  "aggregate": suite.aggregate.name},
        "split": split,
        "data_source": data_source,
        "predictions": str(pred_dir),
        "bootstrap": {"n_resamples": n_resamples, "confidence": DEFAULT_CONFIDENCE,
                      "seed": seed, "method": "percentile"},
        "tasks": tasks,
        **suite_score(suite, tasks),
    }
