"""Scoring a folder of prediction files: per-entry metrics with CIs, AX analysis, GLUE score.

The result is one JSON-ready dict (see ``score_predictions``); metric values are
raw fractions/correlations, ``score`` and ``glue_score`` are x100, as on the
official leaderboard.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from gluebench import SCHEMA_VERSION, __version__
from gluebench.benchmark.diagnostic import ax_categories
from gluebench.benchmark.metrics import compute, task_score
from gluebench.benchmark.predictions import (
    Predictions,
    clip_scores,
    prediction_files,
    read_predictions,
)
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_ci
from gluebench.benchmark.tasks import BENCHMARKS, GLUE_GROUPS, Benchmark, get_task
from gluebench.errors import DataError, GlueBenchWarning, UsageError


def align(examples: Examples, preds: Predictions) -> np.ndarray:
    """Prediction values in the examples' order, matched by index (not by file position)."""
    position = np.full(int(max(examples.index.max(initial=0), preds.index.max(initial=0))) + 1,
                       -1, np.int64)
    position[preds.index] = np.arange(len(preds.index))
    found = position[examples.index]
    if (found < 0).any():
        missing = int(examples.index[np.argmax(found < 0)])
        raise DataError(preds.path, f"no prediction for index {missing}")
    return preds.values[found]


def read_aligned(path: str | os.PathLike, benchmark: Benchmark, gold: Examples) -> np.ndarray:
    """A prediction file, checked against ``gold`` and put in its order.

    STS-B values outside [0, 5] are clipped, as the GLUE server does, with one warning.
    """
    values = align(gold, read_predictions(path, benchmark, expected_size=len(gold)))
    task = get_task(benchmark.task)
    return clip_scores(task, path, values) if task.is_regression else values


def score_entry(benchmark: Benchmark, gold: Examples, pred: np.ndarray, *,
                n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Metrics, score, count and bootstrap CIs of one leaderboard entry."""
    if gold.labels is None:
        raise DataError(gold.source, f"{benchmark.name} has no gold labels in this split")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GlueBenchWarning)
        labels = get_task(benchmark.task).labels
        values = compute(benchmark.metrics, gold.labels, pred,
                         n_classes=None if labels is None else len(labels))
    for w in caught:  # say which task a degenerate metric belongs to
        warnings.warn(f"{benchmark.name}: {w.message}", GlueBenchWarning, stacklevel=2)
    result: dict = {**values, "score": task_score(values, benchmark.metrics), "n": len(gold)}
    result["ci"] = bootstrap_ci(benchmark.metrics, gold.labels, pred,
                                n_resamples=n_resamples, seed=seed, name=benchmark.name)
    if benchmark.categories and gold.meta:
        result["categories"] = ax_categories(gold, pred, categories=benchmark.categories,
                                             n_resamples=n_resamples, seed=seed)
    return result


def glue_score(tasks: dict[str, dict]) -> dict:
    """The official GLUE score, or a clearly labelled partial average.

    Unweighted mean over the nine groups (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI,
    RTE, WNLI); MNLI's group score is the mean of MNLI-m and MNLI-mm; AX does not count.
    It is only called the GLUE score when every entry is present.
    """
    groups: dict[str, list[float]] = {g: [] for g in GLUE_GROUPS}
    for name, b in BENCHMARKS.items():
        if b.glue_group and name in tasks:
            groups[b.glue_group].append(tasks[name]["score"])
    missing = [n for n, b in BENCHMARKS.items() if b.glue_group and n not in tasks]
    beside = [n for n, b in BENCHMARKS.items() if not b.glue_group and n not in tasks]
    present = {g: float(np.mean(v)) for g, v in groups.items() if v}
    average = float(np.mean(list(present.values()))) if present else None
    return {
        "glue_score": average if not missing else None,
        "partial_average": average if missing else None,
        "partial_average_tasks": list(present) if missing else [],
        "tasks_missing": missing + beside,
    }


def evaluation_examples(source: DataSource, benchmark: Benchmark, split: str) -> Examples:
    """The examples an entry is evaluated on for ``split`` ("dev" or "test").

    For dev, ``index`` is the example's 0-based position in the official dev file,
    which is what dev prediction files refer to.
    """
    task, key = get_task(benchmark.task), benchmark.file_key(split)
    if not source.has(task, key):
        raise DataError(source.description, f"no {split} data for {benchmark.name} "
                        f"({task.files[key].path} not found)")
    examples = source.load(task, key)
    if split == "dev":
        examples.index = np.arange(len(examples), dtype=np.int64)
    return examples


def load_gold(source: DataSource, benchmark: Benchmark, split: str) -> Examples:
    """The labelled examples a prediction file for ``split`` is scored against."""
    if split != "dev":
        raise UsageError(f"cannot score split '{split}': GLUE test labels are hidden; "
                         "score 'dev', or build a test submission with `gluebench submission`")
    return evaluation_examples(source, benchmark, split)


def score_predictions(source: DataSource, pred_dir: str | os.PathLike, *, split: str = "dev",
                      n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Score every submission-named file in ``pred_dir`` against ``source``'s gold labels."""
    # Read and check every file before scoring any, so that a bad file fails the run
    # before other tasks have printed anything.
    checked = {}
    for name, path in prediction_files(pred_dir).items():
        gold = load_gold(source, BENCHMARKS[name], split)
        checked[name] = (gold, read_aligned(path, BENCHMARKS[name], gold))
    tasks = {name: score_entry(BENCHMARKS[name], gold, pred, n_resamples=n_resamples, seed=seed)
             for name, (gold, pred) in checked.items()}
    return scored_results(source.description, pred_dir, tasks, split=split,
                          n_resamples=n_resamples, seed=seed)


def scored_results(data_source: str, pred_dir: str | os.PathLike, tasks: dict[str, dict], *,
                   split: str = "dev", n_resamples: int = DEFAULT_RESAMPLES,
                   seed: int = 0) -> dict:
    """The results JSON of scored entries: schema, provenance, bootstrap, tasks, GLUE score."""
    return {
        "schema_version": SCHEMA_VERSION,
        "gluebench_version": __version__,
        "split": split,
        "data_source": data_source,
        "predictions": str(pred_dir),
        "bootstrap": {"n_resamples": n_resamples, "confidence": DEFAULT_CONFIDENCE,
                      "seed": seed, "method": "percentile"},
        "tasks": tasks,
        **glue_score(tasks),
    }
