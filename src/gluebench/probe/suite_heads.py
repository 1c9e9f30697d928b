"""A suite task's probe head: logistic regression whose C is chosen by the task's own metric on
rows the head did not learn from.

* With a ``dev32`` file (FewGLUE: PET's protocol) C is chosen on dev32 - 32 labelled rows
  set aside for model selection - and the head is fitted on the 32 training rows; val (the
  reported ``dev``) is never seen.
* Without one (SuperGLUE's full training sets, a user's suite) C is chosen by k-fold
  cross-validation on train, as GLUE's probe does (``probe.heads``), with whole resampling
  units per fold (a MultiRC paragraph's options never straddle a fit and a held-out part).

Either way the criterion is the entry's official score (MultiRC: F1a and exact match per
question; ReCoRD: F1 and exact match per query; COPA: accuracy of the chosen option), not the
items' accuracy, so an option-level head is selected for the row-level decision it makes. Ties
go to the smallest C (the strongest regularisation). A score target (none in SuperGLUE) keeps
GLUE's ridge head with leave-one-out alpha.
"""

from __future__ import annotations

import warnings

import numpy as np

from gluebench.benchmark.stats import rng_for
from gluebench.benchmark.suite import Entry, TaskDef
from gluebench.benchmark.table import ExampleTable
from gluebench.probe.heads import C_GRID, FOLDS, MAX_ITER, Head, fit_head
from gluebench.probe.suite_features import (
    FeatureTable,
    HeadTask,
    head_task,
    item_targets,
    official_score,
    predictions,
)
from gluebench.shapes.framing import frame


def fit_suite_head(task: TaskDef, entry: Entry, features: FeatureTable, train: ExampleTable,
                   dev32: ExampleTable | None, *, seed: int) -> Head:
    """Fit ``task``'s head on ``train`` with C chosen on ``dev32`` (else k-fold on train)."""
    problem = head_task(task)
    x, y = _xy(features, train)
    if problem.is_regression:
        return fit_head(problem, x, y, seed=seed)
    pairs, how = selection_splits(train, dev32, entry, seed)
    scores = [_selection_score(c, task, entry, features, pairs) for c in C_GRID]
    scored = not all(np.isnan(scores))
    if scored:
        best = C_GRID[int(np.nanargmax(scores))]     # first maximum: the smallest such C
    else:
        best = C_GRID[len(C_GRID) // 2]
        how += "; no held-out part could be scored, the grid's middle C kept"
    head = fit_logistic(problem, x, y, best)
    head.facts |= {"C_grid": list(C_GRID), "selection": how,
                   "selection_scores": [None if np.isnan(s) else float(s) for s in scores],
                   "selection_score": float(np.nanmax(scores)) if scored else None}
    return head


def selection_splits(train: ExampleTable, dev32: ExampleTable | None, entry: Entry, seed: int
                     ) -> tuple[list[tuple[ExampleTable, ExampleTable]], str]:
    """The (fit, held-out) tables C is chosen on, and how they were made."""
    metric = "+".join(entry.metrics)
    if dev32 is not None:
        return [(train, dev32)], f"dev32 ({len(dev32)} rows), {entry.name} {metric}"
    unit = entry.resample
    groups = train.groups[unit] if unit != "example" and unit in train.groups \
        else np.arange(len(train))
    order = rng_for(seed, f"{entry.name} selection").permutation(np.unique(groups))
    folds = np.array_split(order, min(FOLDS, len(order)))
    pairs = []
    for fold in folds:
        held = np.isin(groups, fold)
        pairs.append((train.take(np.flatnonzero(~held)), train.take(np.flatnonzero(held))))
    return pairs, (f"{len(folds)}-fold split of train by {unit} (seed {seed}), "
                   f"{entry.name} {metric}")


def fit_logistic(problem: HeadTask, x: np.ndarray, y: np.ndarray, c: float) -> Head:
    """Standardised features, L2 logistic regression with this C; columns in label order."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # a C at MAX_ITER is still scored
        model = LogisticRegression(C=c, max_iter=MAX_ITER).fit(scaler.transform(x), y)
    counts = np.bincount(y, minlength=len(problem.labels))
    arrays = {"mean": scaler.mean_, "scale": scaler.scale_, "coef": model.coef_,
              "intercept": model.intercept_, "classes": model.classes_}
    facts = {"C": float(c), "labels": list(problem.labels),
             "train_class_counts": {n: int(k) for n, k in zip(problem.labels, counts,
                                                              strict=True)},
             "absent_classes": [n for n, k in zip(problem.labels, counts, strict=True) if k == 0],
             "train_examples": int(x.shape[0]), "features": int(x.shape[1])}
    return Head("logistic", arrays, facts)


def _xy(features: FeatureTable, table: ExampleTable) -> tuple[np.ndarray, np.ndarray]:
    """The features and targets of ``table``'s items that have one."""
    framed = frame(table)
    keep, y = item_targets(framed)
    return features.features(framed)[keep], y


def _selection_score(c: float, task: TaskDef, entry: Entry, features: FeatureTable,
                     pairs: list[tuple[ExampleTable, ExampleTable]]) -> float:
    """The entry's score on the held-out tables of a head with this C (mean over pairs)."""
    problem = head_task(task)
    scores = []
    for fit, held in pairs:
        x, y = _xy(features, fit)
        if len(np.unique(y)) < 2:          # a fold whose fit part has one class: not scored
            continue
        head = fit_logistic(problem, x, y, c)
        framed = frame(held)
        pred, _ = predictions(task, framed, head.scores(features.features(framed)))
        scores.append(official_score(entry, held, pred))
    return float(np.mean(scores)) if scores else float("nan")
