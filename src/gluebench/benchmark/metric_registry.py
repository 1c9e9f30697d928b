"""Every metric name a suite may use: what it is defined over, and how it is computed.

A metric is lm-eval's ``process_results`` + ``aggregation``: ``stats`` turns the items
(gold and predicted values, plus group ids) into one row of additive statistics per
*unit* — the thing the metric is defined over (an example, a MultiRC question, a ReCoRD
query, an AX-g minimal pair) — and ``finish`` turns the column sums into the value.
Because the statistics add up, a bootstrap replicate is ``finish(weights @ stats)``
with multinomial weights over units (see ``grouped_stats``).

Flat classification keeps the confusion-matrix fast path of ``gluebench.benchmark.metrics``:
its per-example statistics are one-hot confusion cells, so their sum *is* the
confusion matrix and ``finish`` is ``metrics.FROM_CONFUSION``. Correlations are not
sums; they keep ``metrics.BATCHED`` and resample examples.

>>> items = Items(np.array([1, 0, 1]), np.array([1, 1, 1]))
>>> get_metric("accuracy").value(items)
0.6666666666666666
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gluebench.benchmark.item_metrics import (
    all_true_by_group,
    dense_groups,
    f1_macro_cm,
    ratio,
    record_item_values,
    same_within_groups,
)
from gluebench.benchmark.metrics import BATCHED, FROM_CONFUSION
from gluebench.errors import UsageError

Unit = Literal["example", "question", "query", "pair"]
Target = Literal["class", "score", "entity"]
UNITS: tuple[str, ...] = ("example", "question", "query", "pair")


@dataclass(frozen=True)
class Items:
    """What a metric is computed from: one row per item, in the gold file's order.

    ``gold``/``pred``: (n,) class ids (ints in 0..n_classes-1) or scores; for an entity
    task, ``gold`` holds each query's gold answer texts and ``pred`` the predicted texts.
    ``groups``: group name (``question``, ``query``, ``pair``, ...) -> (n,) group ids.
    """

    gold: np.ndarray | list
    pred: np.ndarray | list
    n_classes: int = 2
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.gold)

    def unit_ids(self, unit: str) -> np.ndarray:
        """(n,) dense ids 0..G-1 of each item's unit (each item its own unit: ``example``)."""
        if unit == "example":
            return np.arange(len(self), dtype=np.int64)
        if unit not in self.groups:
            raise UsageError(f"metric unit '{unit}' needs group ids '{unit}'; the items have: "
                             f"{', '.join(self.groups) or 'none'}")
        return dense_groups(self.groups[unit])


@dataclass(frozen=True)
class Metric:
    """One registered metric (see the module docstring)."""

    name: str
    description: str
    target: Target                    # the kind of task it fits: class ids, scores, entity texts
    unit: Unit                        # what it is defined over (and resampled by, at least)
    stats: Callable[[Items], np.ndarray] | None = None  # -> (units, d) additive statistics
    finish: Callable[[np.ndarray], np.ndarray] | None = None  # (..., d) sums -> (...) values
    batched: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # non-additive
    n_classes: int | None = None      # the label count it is defined for (None: any)

    @property
    def additive(self) -> bool:
        return self.stats is not None

    def value(self, items: Items) -> float:
        """The metric's point value on ``items``."""
        check_items(self, items)
        if self.batched is not None:
            return float(self.batched(np.asarray(items.gold, np.float64),
                                      np.asarray(items.pred, np.float64)))
        return float(self.finish(self.stats(items).sum(axis=0)))


# ---- per-unit statistics ----------------------------------------------------------------

def _confusion_cells(items: Items) -> np.ndarray:
    """(n, k*k) one-hot confusion cells: their sum over rows is the confusion matrix."""
    k = items.n_classes
    cells = np.asarray(items.gold, np.int64) * k + np.asarray(items.pred, np.int64)
    out = np.zeros((len(cells), k * k))
    out[np.arange(len(cells)), cells] = 1.0
    return out


def _from_confusion(on_matrix: Callable[[np.ndarray], np.ndarray]):
    def finish(sums: np.ndarray) -> np.ndarray:
        k = int(round(np.sqrt(sums.shape[-1])))
        return on_matrix(sums.reshape(*sums.shape[:-1], k, k))

    return finish


def _count_and_sum(values: np.ndarray) -> np.ndarray:
    """(units, 2): a count of 1 and the unit's value, so that finish = sum / count."""
    return np.column_stack([np.ones(len(values)), np.asarray(values, np.float64)])


def _mean(sums: np.ndarray) -> np.ndarray:
    return ratio(sums[..., 1], sums[..., 0])


def _question_all_correct(items: Items) -> np.ndarray:
    correct = np.asarray(items.gold) == np.asarray(items.pred)
    return _count_and_sum(all_true_by_group(correct, items.unit_ids("question")))


def _query_value(which: int) -> Callable[[Items], np.ndarray]:
    def stats(items: Items) -> np.ndarray:
        queries = items.unit_ids("query")
        values = record_item_values(items.gold, items.pred)[which]
        per_query = np.bincount(queries, weights=values) / np.bincount(queries)
        return _count_and_sum(per_query)

    return stats


def _pair_identical(items: Items) -> np.ndarray:
    return _count_and_sum(same_within_groups(np.asarray(items.pred), items.unit_ids("pair")))


def _confusion_metric(name: str, description: str, on_matrix, n_classes=None) -> Metric:
    return Metric(name, description, "class", "example", _confusion_cells,
                  _from_confusion(on_matrix), n_classes=n_classes)


METRICS: dict[str, Metric] = {m.name: m for m in [
    _confusion_metric("accuracy", "share of exact matches", FROM_CONFUSION["accuracy"]),
    _confusion_metric("f1", "F1 of class 1 (binary)", FROM_CONFUSION["f1"], 2),
    _confusion_metric("f1_macro", "unweighted mean of per-class F1 over classes present",
                      f1_macro_cm),
    _confusion_metric("mcc", "Matthews correlation (R_K for K classes)", FROM_CONFUSION["mcc"]),
    _confusion_metric("r3", "three-class Matthews correlation (GLUE's AX)",
                      FROM_CONFUSION["r3"], 3),
    _confusion_metric("f1a", "MultiRC F1 of class 1 over all answer options",
                      FROM_CONFUSION["f1"], 2),
    Metric("em_question", "MultiRC exact match: share of questions with every answer option "
           "right", "class", "question", _question_all_correct, _mean),
    Metric("record_f1", "ReCoRD token F1 after SQuAD normalisation, max over gold answers",
           "entity", "query", _query_value(0), _mean),
    Metric("record_em", "ReCoRD exact match after SQuAD normalisation, max over gold answers",
           "entity", "query", _query_value(1), _mean),
    Metric("gender_parity", "AX-g: share of minimal pairs predicted identically", "class",
           "pair", _pair_identical, _mean),
    Metric("pearson", "Pearson's r", "score", "example", batched=BATCHED["pearson"]),
    Metric("spearman", "Spearman's rho (average ranks for ties)", "score", "example",
           batched=BATCHED["spearman"]),
]}


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name is a UsageError with a suggestion."""
    if name in METRICS:
        return METRICS[name]
    raise UsageError(unknown_metric_message(name))


def unknown_metric_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown metric '{name}'.{hint} Known: {', '.join(METRICS)}"


def compute(names, items: Items) -> dict[str, float]:
    """Point values of the named metrics on the same items."""
    return {name: get_metric(name).value(items) for name in names}


# ---- input checks (scikit-learn's _check_targets idea: never a silent cast) ----------------

def check_items(metric: Metric, items: Items) -> None:
    """ValueError naming the first gold or predicted value that ``metric`` cannot take."""
    if len(items.gold) != len(items.pred):
        raise ValueError(f"{metric.name}: {len(items.gold)} gold values but "
                         f"{len(items.pred)} predictions")
    if metric.n_classes is not None and items.n_classes != metric.n_classes:
        raise ValueError(f"{metric.name} is defined for {metric.n_classes} classes; the task "
                         f"has {items.n_classes}")
    if metric.target == "class":
        for which, values in (("y_true", items.gold), ("y_pred", items.pred)):
            _class_ids(metric.name, which, values, items.n_classes)
    elif metric.target == "score":
        for which, values in (("y_true", items.gold), ("y_pred", items.pred)):
            a = np.asarray(values, np.float64)
            _first_bad(metric.name, which, a, ~np.isfinite(a), "is not a finite number")


def _class_ids(name: str, which: str, values, n_classes: int) -> None:
    a = np.asarray(values)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name}: {which} must be integer class ids, got values of type "
                         f"{a.dtype}")
    _first_bad(name, which, a, (a < 0) | (a >= n_classes),
               f"is outside the label set; expected ids 0..{n_classes - 1}")


def _first_bad(name: str, which: str, a: np.ndarray, bad: np.ndarray, why: str) -> None:
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"{name}: {which}[{i}] = {a[i].item()!r} {why}")
