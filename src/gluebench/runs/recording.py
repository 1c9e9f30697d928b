"""What every run writes, whatever trains the model: prediction files, dev outputs and
scores, the unit's one-line summary, and ``results.json`` (layout in ``rundir``).

Shared by fine-tuning and evaluation (``runner``), the frozen-encoder probe
(``gluebench.probe.run``), prompted LMs (``gluebench.lm.runner``) and baseline runs, so
that their run directories are the same; the loop over units is ``gluebench.runs.units``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from gluebench.benchmark.logits import model_outputs, predictions_from_logits
from gluebench.benchmark.predictions import as_written, write_predictions
from gluebench.benchmark.scoring import evaluation_examples, score_entry
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.tasks import BENCHMARKS, TASKS, Task, get_task, resolve_benchmarks
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.runs.integrity import model_fingerprint, write_signed_json
from gluebench.runs.rundir import (
    RunDir,
    entries_of,
    environment,
    prediction_profile,
    require_finite,
    results_document,
)


class UnitConfig(Protocol):
    """What recording reads from a method's recipe (``train.config.TrainConfig`` is one)."""

    splits: Sequence[str]
    max_train_examples: int | None
    max_eval_examples: int | None
    data_seed: int

    def to_dict(self) -> dict: ...


def tasks_to_run(spec: str | None) -> list[Task]:
    """The trainable tasks named by ``--tasks`` (AX is predicted by the MNLI model)."""
    chosen = resolve_benchmarks(spec)
    names = dict.fromkeys(b.task for b in chosen if b.model == b.task)
    names.update(dict.fromkeys(b.model for b in chosen if b.model != b.task))
    return [TASKS[n] for n in names]


def with_train_data(source: DataSource, tasks: list[Task], log) -> list[Task]:
    ready = [t for t in tasks if source.has(t, "train")]
    for task in tasks:
        if task not in ready:
            log(f"{task.name}: no training data in {source.description}; skipped")
    if not ready:
        raise UsageError(f"no training data for {', '.join(t.name for t in tasks)} in "
                         f"{source.description}")
    return ready


def prepare(source: DataSource, tasks_spec: str | None, run: RunDir, *,
            overwrite: bool) -> tuple[list[Task], list[str]]:
    """Every check before the first side effect: the tasks, their training data, ``-o``.

    Returns the tasks to train and the lines to log about those skipped.
    """
    skipped: list[str] = []
    tasks = with_train_data(source, tasks_to_run(tasks_spec), skipped.append)
    run.check_target(overwrite=overwrite)
    return tasks, skipped


def training_examples(task: Task, source: DataSource, config: UnitConfig
                      ) -> tuple[Examples, int]:
    """The (seeded subsample of the) training split a unit learns from, and the split's size."""
    full = source.load(task, "train")
    return full.subsample(config.max_train_examples, config.data_seed), len(full)


def data_fingerprints(task: Task, source: DataSource, config: UnitConfig, *,
                      train: bool = True) -> dict[str, str]:
    """Hashes of exactly the examples a unit learns from and predicts: resuming checks them."""
    found = {"train": training_examples(task, source, config)[0].fingerprint()} if train else {}
    for benchmark, split, examples, _ in eval_splits(task, source, config):
        found[f"{split}:{benchmark.name}"] = examples.fingerprint()
    return found


def eval_splits(task: Task, source: DataSource, config: UnitConfig):
    """(benchmark, split, examples, examples available) for each entry x split to predict.

    Dev is the seeded subsample of ``config.max_eval_examples`` (when set).
    """
    for entry in entries_of(task):
        benchmark = BENCHMARKS[entry]
        entry_task = get_task(benchmark.task)
        for split in config.splits:
            if not source.has(entry_task, benchmark.file_key(split)):
                continue
            examples = evaluation_examples(source, benchmark, split)
            n_available = len(examples)
            if split == "dev":
                examples = examples.subsample(config.max_eval_examples, config.data_seed)
            yield benchmark, split, examples, n_available


def record_split(task: Task, benchmark, split: str, examples: Examples, n_available: int,
                 logits: np.ndarray, pred_root: Path, *, perm=None,
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict | None:
    """Write one split's prediction file (and dev outputs); return dev's scores, else None.

    ``logits``: (n, classes) scores whose softmax is the class probabilities (log
    probabilities do), or (n, 1) STS-B scores; ``perm`` maps the model's classes to ours.
    """
    entry_task = get_task(benchmark.task)
    target = pred_root / split / benchmark.submission_file
    require_finite(logits, what=f"{target} (the model's scores)")   # argmax(nan) is class 0
    # Score exactly what the file says, so `gluebench score` agrees to the last digit.
    values = as_written(entry_task, predictions_from_logits(task, logits, perm))
    write_prediction_file(target, entry_task, examples.index, values)
    if split != "dev":
        return None
    save_outputs(pred_root.parent / "outputs" / f"{benchmark.name}.npz", examples,
                 model_outputs(task, logits, perm))
    return score_dev(benchmark, entry_task, examples, values, n_available, n_resamples, seed)


def write_prediction_file(path: Path, task: Task, index: np.ndarray, values: np.ndarray
                          ) -> None:
    """One prediction file (submission format), refused if a value is not a finite number."""
    require_finite(np.asarray(values), what=str(path))
    write_predictions(path, task, index, values)


def save_outputs(path: Path, examples: Examples, outputs: np.ndarray, **extra) -> None:
    """Dev probabilities beside gold labels: what calibration and error analysis read.

    ``extra`` arrays are saved too (a prompted run adds its per-choice log-likelihoods, where
    -inf means "not among the top-k"). Nothing non-finite is written otherwise.
    """
    import io

    require_finite(np.asarray(outputs), what=f"{path} (outputs)")
    for name, values in extra.items():
        if values is not None:
            require_finite(np.asarray(values), what=f"{path} ({name})", minus_inf_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, index=examples.index, gold=examples.labels, outputs=outputs,
             **{k: v for k, v in extra.items() if v is not None})
    atomic_write(path, buffer.getvalue())


def score_dev(benchmark, task: Task, gold: Examples, values, n_available: int,
               n_resamples: int, seed: int):
    result = score_entry(benchmark, gold, values, n_resamples=n_resamples, seed=seed)
    if len(gold) < n_available:
        result["subsample"] = {"n": len(gold), "of": n_available}
    return {**result, **prediction_profile(task, values)}


def unit_line(unit: dict) -> str:
    scores = ", ".join(f"{n} {e['score']:.1f}" + (" (collapsed)" if e.get("collapsed") else "")
                       for n, e in unit["entries"].items())
    train = unit.get("train")
    speed = (f"; trained {train['examples']} ex in {train['seconds']:.0f} s "
             f"({train['examples_per_second']:.0f} ex/s)") if train else ""
    return f"{unit['task']} seed {unit['seed']}: {scores or 'no dev labels'}{speed}"


def write_results(run: RunDir, header: dict, engine, n_resamples, stats_seed, started,
                  more: dict | None = None) -> dict:
    """Rewrite ``results.json`` from the run's finished units (``more``: extra top-level keys)."""
    units = run.units()
    extra = {
        "environment": {**environment(), **engine.describe()},
        "timings": {
            "run_seconds": time.perf_counter() - started,
            "train_seconds": sum(u.get("train", {}).get("seconds", 0.0) for u in units),
            "inference_seconds": sum(u["inference"]["seconds"] for u in units),
            "inference_examples": sum(u["inference"]["examples"] for u in units),
        },
        **(more or {}),
    }
    results = results_document(run, units, header, n_resamples=n_resamples, seed=stats_seed,
                               extra=extra)
    return write_signed_json(run.root / "results.json", results)


def run_header(ref, source: DataSource, config: UnitConfig) -> dict:
    """What ``run.json`` records for a ``finetune`` run (a restart must match it)."""
    return {"kind": "finetune", "model": ref.description, "data_source": source.description,
            "model_fingerprint": model_fingerprint(ref), "config": config.to_dict()}
