"""Reference baselines for any suite: majority class, constant, seeded random.

Each entry's predictions are made for every row of its ``--split`` file and written in
the suite's submission format (``suite_prediction_writer``), so ``score --suite`` reads
them unchanged.

* **majority**: the most frequent label of the training file of the task whose model
  predicts the entry (AX-b and AX-g: RTE's), ties to the label listed first. Which
  training file: ``train_suite``'s task of that name when given (FewGLUE's 32 examples
  for SuperGLUE, whose full training sets are not always at hand), else the suite's own
  ``train`` file; where that file is absent, the task's ``dev`` (val) labels — an
  oracle choice, so it is stated in ``origins``. Scores: the training mean.
  ReCoRD-like entity tasks have no classes: the entity mentioned most often in the
  row's passage (ties: the first mentioned).
* **constant**: ``label`` (default: the first of the vocabulary; a score task's range
  midpoint; the first entity).
* **random**: uniform over the vocabulary (the score range; the row's entities),
  seeded per entry, so a run is reproducible.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from gluebench.benchmark.split_reader import load_split, split_file
from gluebench.benchmark.stats import rng_for
from gluebench.benchmark.suite import Entry, Suite, TaskDef
from gluebench.benchmark.suite_prediction_writer import prediction_text
from gluebench.benchmark.table import NO_GOLD, ExampleTable, class_id
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write

KINDS = ("majority", "constant", "random")


def suite_baseline(kind: str, suite: Suite, data_dir: str | os.PathLike, split: str,
                   out_dir: str | os.PathLike, *, entries: list[str] | None = None,
                   seed: int = 0, label: str | None = None,
                   train_suite: Suite | None = None) -> dict[str, str]:
    """Write ``kind``'s prediction files; returns {entry: where its prediction came from}.

    ``entries`` None: every entry whose ``split`` file is under ``data_dir``.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown baseline '{kind}'; expected one of: {', '.join(KINDS)}")
    chosen = ([suite.entry(n) for n in entries] if entries
              else [e for e in suite.entries.values() if _present(suite, e, split, data_dir)])
    if not chosen:
        raise UsageError(f"no {suite.title} {split} file under {data_dir}; expected the "
                         f"folder holding the suite's data")
    # Read and predict everything before writing: bad data fails before any file exists.
    made = {}
    for entry in chosen:
        table = load_split(suite, suite.task(entry.task), entry.file_key(split), data_dir)
        pred, origin = _predict(kind, suite, entry, table, data_dir, seed=seed, label=label,
                                train_suite=train_suite)
        made[entry.name] = (prediction_text(suite, entry, table, pred), origin)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (text, _) in made.items():
        atomic_write(out / suite.entry(name).submission_file, text)
    return {name: origin for name, (_, origin) in made.items()}


def _present(suite: Suite, entry: Entry, split: str, data_dir) -> bool:
    """Whether the entry's ``split`` file is there (``entries=None``: all that are)."""
    spec = split_file(suite.task(entry.task), entry.file_key(split))
    return suite.data_path(data_dir, spec.path).is_file()


def baseline_predictions(kind: str, suite: Suite, entry: Entry, table: ExampleTable,
                         data_dir, *, seed: int = 0, label: str | None = None,
                         train_suite: Suite | None = None) -> tuple[list, str]:
    """``kind``'s predictions for the rows of ``table`` (class ids, scores or entity texts,
    in row order) and where they came from; what ``suite_baseline`` writes, for a run."""
    if kind not in KINDS:
        raise UsageError(f"unknown baseline '{kind}'; expected one of: {', '.join(KINDS)}")
    return _predict(kind, suite, entry, table, data_dir, seed=seed, label=label,
                    train_suite=train_suite)


def _predict(kind: str, suite: Suite, entry: Entry, table: ExampleTable, data_dir, *, seed,
             label, train_suite):
    task = table.task
    if task.target == "entity":
        return _entity_predictions(kind, table, seed, entry.name), _entity_origin(kind)
    if kind == "constant":
        value = _constant(task, label)
        return [value] * len(table), f"constant {_shown(task, value)}"
    if kind == "random":
        rng = rng_for(seed, entry.name)
        if task.target == "score":
            low, high = task.score_range
            return list(rng.uniform(low, high, len(table))), f"uniform on [{low:g}, {high:g}]"
        return list(rng.integers(0, task.n_classes, len(table))), "uniform over the labels"
    value, source = majority(suite, suite.task(entry.model), data_dir, train_suite)
    return [value] * len(table), f"majority {_shown(task, value)} of {source}"


def majority(suite: Suite, model_task: TaskDef, data_dir, train_suite: Suite | None):
    """(the most frequent training label or the training mean, the file it came from)."""
    owner = train_suite or suite
    task = owner.task(model_task.name) if train_suite else model_task
    key = "train" if "train" in task.files else "dev"
    if key == "train" and not train_suite and not owner.data_path(
            data_dir, task.files["train"].path).is_file():
        key = "dev"  # the suite's training file is not here: its val labels, stated
    split_file(task, key)
    table = load_split(owner, task, key, data_dir)
    labels = table.labels[table.labels != NO_GOLD] if task.target == "class" else table.labels
    if labels is None or not len(labels):
        raise UsageError(f"{table.source}: no labels to take a majority from")
    origin = f"{owner.name} {task.name} {key} ({len(labels)} labels, {table.source})"
    if task.target == "score":
        return float(np.mean(labels)), origin
    counts = np.bincount(labels.astype(np.int64), minlength=task.n_classes)
    return int(np.argmax(counts)), origin  # argmax: ties to the label listed first


def _constant(task: TaskDef, label: str | None):
    if task.target == "score":
        low, high = task.score_range
        return float(label) if label is not None else (low + high) / 2
    if label is None:
        return 0
    try:
        return class_id(task, label)
    except ValueError as exc:
        raise UsageError(f"--label for {task.name}: {exc}") from None


def _entity_predictions(kind: str, table: ExampleTable, seed: int, name: str) -> list[str]:
    field = next(s.list for s in table.task.spans if s.list)
    entities = table.inputs[field]
    rng = rng_for(seed, name)
    out = []
    for row, mentions in enumerate(entities):
        if not mentions:
            raise UsageError(f"{table.source}: row {row} has no entities to predict from")
        if kind == "random":
            out.append(str(mentions[int(rng.integers(0, len(mentions)))]))
        elif kind == "constant":
            out.append(str(mentions[0]))
        else:  # Counter keeps first-seen order among equal counts
            out.append(Counter(mentions).most_common(1)[0][0])
    return out


def _entity_origin(kind: str) -> str:
    return {"majority": "the entity mentioned most often in the passage",
            "constant": "the passage's first entity",
            "random": "a uniformly random entity of the passage"}[kind]


def _shown(task: TaskDef, value) -> str:
    return f"{value:g}" if task.target == "score" else repr(task.labels[int(value)])
