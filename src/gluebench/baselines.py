"""Reference predictors that need no model: majority class, constant, seeded random.

They write ordinary prediction folders (``write_baseline``), or a run directory like a
fine-tuned model's through the unit loop (``run_baseline``), so they are reference rows in
every table and make every command testable offline. The majority class comes from
the task's training labels (AX uses MNLI's); where the training file is not
available it falls back to the dev labels, then to the evaluated labels, and
says so, since that is an oracle choice.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.predictions import write_predictions
from gluebench.benchmark.scoring import evaluation_examples, glue_score, score_entry
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, rng_for
from gluebench.benchmark.tasks import BENCHMARKS, Benchmark, Task, get_task
from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.runs.integrity import write_signed_json
from gluebench.runs.recording import (
    data_fingerprints,
    eval_splits,
    score_dev,
    tasks_to_run,
    write_prediction_file,
)
from gluebench.runs.rundir import RunDir, entries_of, environment, results_document
from gluebench.runs.units import UnitMethod, run_units, writing

KINDS = ("majority", "constant", "random")


def majority_value(benchmark: Benchmark, source: DataSource, fallback: Examples | None,
                   *, cache: dict | None = None) -> int | float:
    """The most frequent training label (train mean for STS-B).

    Without a training file the dev labels are used (AX: MNLI's), then the evaluated
    labels themselves, with a warning: that choice peeks at the evaluation data.
    ``cache`` keeps the value for entries that share a training set (MNLI-m, MNLI-mm
    and AX all use MNLI's), so the large file is read once.
    """
    train_task = get_task(benchmark.model)
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
            return np.full(n, float(np.mean(task.score_range)))
        chosen = label if label in (task.labels or ()) else task.labels[0]
        return np.full(n, task.labels.index(chosen), np.int64)
    if kind == "random":
        rng = rng_for(seed, benchmark.name)
        if task.is_regression:
            return rng.uniform(*task.score_range, size=n)
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


# ---- a baseline as a run directory, through the unit loop ----------------------------------

@dataclass(frozen=True)
class BaselineConfig:
    """The settings of a baseline run, saved in ``run.json`` (names as ``finetune``'s)."""

    kind: str = "majority"
    label: str | None = None            # the constant baseline's label
    seeds: tuple[int, ...] = (1,)       # the random baseline's draws
    splits: tuple[str, ...] = ("dev", "test")
    max_eval_examples: int | None = None
    data_seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"Unknown baseline '{self.kind}'; expected one of: "
                             f"{', '.join(KINDS)}")

    def to_dict(self) -> dict:
        return asdict(self)


def run_baseline(source: DataSource, config: BaselineConfig, out_dir, tasks_spec: str | None
                 = "all", *, overwrite: bool = False, progress: bool | None = None,
                 n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """A baseline on every task x seed as a run directory (``finetune``'s layout), resumably;
    returns ``results.json``."""
    run = RunDir(out_dir)
    tasks = _with_eval_data(source, tasks_to_run(tasks_spec), config.splits)
    run.check_target(overwrite=overwrite)
    header = {"kind": "baseline", "model": f"{config.kind} baseline",
              "data_source": source.description, "config": config.to_dict()}
    method = BaselineUnits(source, config, run, header, n_resamples, stats_seed,
                           time.perf_counter())
    with writing(run, header, [], overwrite=overwrite, progress=progress) as (bars, _):
        return run_units(run, tasks, method, bars)


def _with_eval_data(source: DataSource, tasks: list[Task], splits) -> list[Task]:
    ready = [t for t in tasks if any(source.has(get_task(BENCHMARKS[e].task),
                                                BENCHMARKS[e].file_key(s))
                                     for e in entries_of(t) for s in splits)]
    if not ready:
        raise UsageError(f"no {'/'.join(splits)} data for {', '.join(t.name for t in tasks)} "
                         f"in {source.description}")
    return ready


@dataclass
class BaselineUnits(UnitMethod):
    """A baseline in the unit loop (``gluebench.runs.units``): a unit predicts one seed."""

    source: DataSource
    config: BaselineConfig
    run: RunDir
    header: dict
    n_resamples: int
    stats_seed: int
    started: float             # time.perf_counter() when the run began

    def unit_keys(self, task: Task) -> tuple[int, ...]:
        return self.config.seeds

    def fingerprints(self, task: Task) -> dict[str, str]:
        return data_fingerprints(task, self.source, self.config, train=False)

    def run_unit(self, task: Task, seed: int) -> dict:
        start, entries, cache, n = time.perf_counter(), {}, {}, 0
        for benchmark, split, examples, n_available in eval_splits(task, self.source,
                                                                    self.config):
            entry_task = get_task(benchmark.task)
            values = predict(self.config.kind, benchmark, entry_task, examples, self.source,
                             seed=seed, label=self.config.label, cache=cache)
            write_prediction_file(self.run.seed_predictions(seed) / split
                                  / benchmark.submission_file, entry_task, examples.index,
                                  values)
            n += len(examples)
            if split == "dev":
                entries[benchmark.name] = score_dev(benchmark, entry_task, examples, values,
                                                    n_available, self.n_resamples,
                                                    self.stats_seed)
        seconds = time.perf_counter() - start
        return {"task": task.name, "seed": seed, "model": self.header["model"],
                "inference": {"examples": n, "seconds": seconds}, "entries": entries,
                "seconds": seconds}

    def write_results(self, run: RunDir) -> dict:
        units = run.units()
        extra = {"environment": environment(),
                 "timings": {"run_seconds": time.perf_counter() - self.started,
                             "inference_examples": sum(u["inference"]["examples"]
                                                       for u in units)}}
        results = results_document(run, units, self.header, n_resamples=self.n_resamples,
                                   seed=self.stats_seed, extra=extra)
        return write_signed_json(run.root / "results.json", results)
