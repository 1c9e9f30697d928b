"""Reference predictors that need no model: majority class, constant, seeded random.

They write ordinary prediction folders, so they are reference rows in every
table and make every command testable offline. The majority class comes from
the task's training labels (AX uses MNLI's); where the training file is not
available it falls back to the dev labels, then to the evaluated labels, and
says so, since that is an oracle choice.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gluebench.benchmark.predictions import write_predictions
from gluebench.benchmark.scoring import evaluation_examples, glue_score, score_entry
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import rng_for
from gluebench.benchmark.tasks import BENCHMARKS, STSB_RANGE, Benchmark, Task, get_task
from gluebench.errors import GlueBenchWarning, UsageError

KINDS = ("majority", "constant", "random")


def majority_value(benchmark: Benchmark, source: DataSource, fallback: Examples | None,
                   *, cache: dict | None = None) -> int | float:
    """The most frequent training label (train mean for STS-B).

    Without a training file the dev labels are used (AX: MNLI's), then the evaluated
    labels themselves, with a warning: that choice peeks at the evaluation data.
    ``cache`` keeps the value for entries that share a training set (MNLI-m, MNLI-mm
    and AX all use MNLI's), so the large file is read once.
    """
    train_task = get_task("MNLI" if benchmark.task == "AX" else benchmark.task)
    split = next((s for s in ("train", "dev") if source.has(train_task, s)), None)
    if split != "train":
        origin = f"{train_task.name} {split}" if split else f"{benchmark.name} evaluated"
        warnings.warn(f"{benchmark.name}: no {train_task.name} training data in "
                      f"{source.description}; majority taken from {origin} labels "
                      "(an oracle choice)", GlueBenchWarning, stacklevel=2)
    if split is None:
        if fallback is None or fallback.labels is None:
            raise UsageError(f"{benchmark.name}: no {train_task.name} labels to take a "
                             "majority from")
        return _most_frequent(train_task, fallback.labels)
    cache = {} if cache is None else cache
    key = (train_task.name, split)
    if key not in cache:
        cache[key] = _most_frequent(train_task, source.load(train_task, split).labels)
    return cache[key]


def _most_frequent(task: Task, labels: np.ndarray) -> int | float:
    if task.is_regression:
        return float(np.mean(labels))
    return int(np.bincount(labels, minlength=len(task.labels)).argmax())


def predict(kind: str, benchmark: Benchmark, task: Task, examples: Examples,
            source: DataSource, *, seed: int = 0, label: str | None = None,
            cache: dict | None = None) -> np.ndarray:
    """One baseline's predictions for ``examples`` (class ids, or floats for STS-B)."""
    n = len(examples)
    if kind == "majority":
        return np.full(n, majority_value(benchmark, source, examples, cache=cache))
    if kind == "constant":
        if task.is_regression:
            return np.full(n, float(np.mean(STSB_RANGE)))
        chosen = label if label in (task.labels or ()) else task.labels[0]
        return np.full(n, task.labels.index(chosen), np.int64)
    if kind == "random":
        rng = rng_for(seed, benchmark.name)
        if task.is_regression:
            return rng.uniform(*STSB_RANGE, size=n)
        return rng.integers(0, len(task.labels), size=n)
    raise UsageError(f"Unknown baseline '{kind}'; expected one of: {', '.join(KINDS)}")


def write_baseline(kind: str, source: DataSource, split: str, out_dir: str | os.PathLike,
                   benchmarks: Iterable[Benchmark], *, seed: int = 0,
                   label: str | None = None) -> dict[str, Path]:
    """Write one prediction file per benchmark whose data is available; skip the rest."""
    written, cache = {}, {}
    for b in benchmarks:
        task = get_task(b.task)
        if not source.has(task, b.file_key(split)):
            continue
        examples = evaluation_examples(source, b, split)
        values = predict(kind, b, task, examples, source, seed=seed, label=label, cache=cache)
        written[b.name] = write_predictions(Path(out_dir) / b.submission_file, task,
                                            examples.index, values)
    if not written:
        raise UsageError(f"no {split} data found in {source.description} for the chosen tasks")
    return written


def score_baseline(kind: str, source: DataSource, entries: Iterable[str], *,
                   max_eval_examples: int | None = None, data_seed: int = 0,
                   n_resamples: int = 1000, seed: int = 0) -> dict:
    """A baseline scored on the same dev examples as a run (same seeded subsample).

    Returns ``{"tasks": ..., "glue_score": ...}``: a reference row for a run's table.
    """
    tasks, cache = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GlueBenchWarning)  # the run already said what's missing
        for name in entries:
            b = BENCHMARKS[name]
            task = get_task(b.task)
            gold = evaluation_examples(source, b, "dev").subsample(max_eval_examples, data_seed)
            values = predict(kind, b, task, gold, source, seed=seed, cache=cache)
            tasks[name] = score_entry(b, gold, values, n_resamples=n_resamples, seed=seed)
    return {"tasks": tasks, **glue_score(tasks)}
