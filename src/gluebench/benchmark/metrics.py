"""The official GLUE metrics as plain functions, and the GLUE score.

Each metric is written once, over the last axis, so the same code gives the
point estimate on ``(n,)`` arrays and thousands of bootstrap replicates on
``(resamples, n)`` arrays. Degenerate cases have defined values, as in
scikit-learn: MCC/R3 is 0 when a marginal is constant, F1 is 0 when there are
no positives at all, and a correlation with a constant series is 0 (with a
warning, since the true value is undefined). The public functions check their
inputs first, as scikit-learn's ``_check_targets`` does: a class id that is a
fraction, negative or outside the task's label set, or a correlation input that is
not finite, is a ValueError, never a silent cast.

>>> matthews_corrcoef([1, 1, 0, 0], [1, 0, 0, 0])
0.5773502691896258
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from gluebench.errors import GlueBenchWarning

Batched = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


# ---- classification metrics from confusion matrices: (..., k_true, k_pred) -> (...) ------
# Every classification metric is a function of the confusion matrix, which is what lets the
# bootstrap draw confusion matrices directly (see stats.py) instead of resampled examples.

def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrices over the last axis: (..., n) ids -> (..., k, k) counts."""
    t, p = np.atleast_2d(y_true), np.atleast_2d(y_pred)
    rows, k = t.shape[0], n_classes
    flat = (np.arange(rows)[:, None] * k * k + t * k + p).ravel()
    cm = np.bincount(flat, minlength=rows * k * k).reshape(rows, k, k)
    return cm.reshape(*np.shape(y_true)[:-1], k, k)


def accuracy_cm(cm: np.ndarray) -> np.ndarray:
    return _safe_divide(np.trace(cm, axis1=-2, axis2=-1), cm.sum(axis=(-2, -1)))


def f1_cm(cm: np.ndarray) -> np.ndarray:
    """F1 of the positive class (label id 1), as GLUE reports it for MRPC and QQP."""
    tp, fp, fn = cm[..., 1, 1], cm[..., 0, 1], cm[..., 1, 0]
    return _safe_divide(2 * tp, 2 * tp + fp + fn)


def mcc_cm(cm: np.ndarray) -> np.ndarray:
    """Matthews correlation; for K > 2 classes Gorodkin's R_K (GLUE's R3 for AX)."""
    cm = cm.astype(np.float64)
    n = cm.sum(axis=(-2, -1))
    true_counts, pred_counts = cm.sum(axis=-1), cm.sum(axis=-2)
    correct = np.trace(cm, axis1=-2, axis2=-1)
    cov_tp = correct * n - (true_counts * pred_counts).sum(axis=-1)
    cov_tt = n * n - (true_counts**2).sum(axis=-1)
    cov_pp = n * n - (pred_counts**2).sum(axis=-1)
    return _safe_divide(cov_tp, np.sqrt(cov_tt * cov_pp))


FROM_CONFUSION = {"accuracy": accuracy_cm, "f1": f1_cm, "mcc": mcc_cm, "r3": mcc_cm}


# ---- batched forms: (..., n) int ids / float scores -> (...) values ---------------------

def n_classes(*label_arrays: np.ndarray) -> int:
    """Classes needed to hold every id in the arrays (at least 2)."""
    return int(max(np.max(a, initial=1) for a in label_arrays)) + 1


def _classification(name: str) -> Batched:
    def batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return FROM_CONFUSION[name](confusion(y_true, y_pred, n_classes(y_true, y_pred)))

    batched.__name__ = f"{name}_batched"
    return batched


def _standardised(x: np.ndarray) -> np.ndarray:
    """``x`` scaled into [-1, 1], centred, and scaled again, over the last axis.

    Pearson's r does not change under scaling, and products of such values can neither
    overflow nor underflow, so r stays exact for any finite input (1e300 or 1e-300).
    """
    x = _unit_peak(np.asarray(x, np.float64))
    return _unit_peak(x - x.mean(axis=-1, keepdims=True))


def _unit_peak(x: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(x), axis=-1, keepdims=True, initial=0.0)
    return x / np.where(peak > 0, peak, 1.0)


def pearson_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    x, y = _standardised(y_true), _standardised(y_pred)
    r = _safe_divide((x * y).sum(axis=-1), np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1)))
    return np.clip(r, -1.0, 1.0)


def spearman_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Pearson correlation of average ranks (ties share their mean rank, as in scipy)."""
    from scipy.stats import rankdata  # deferred: scipy.stats takes seconds to import

    return pearson_batched(rankdata(y_true, axis=-1), rankdata(y_pred, axis=-1))


BATCHED: dict[str, Batched] = {
    **{name: _classification(name) for name in FROM_CONFUSION},
    "pearson": pearson_batched,
    "spearman": spearman_batched,
}
CORRELATIONS = ("pearson", "spearman")


# ---- point estimates: the public, scikit-learn-shaped functions -------------------------
# Inputs are checked once here, never per bootstrap resample (the batched forms above trust
# their callers). Class ids are whole numbers in the task's label set, which comes from the
# task, not from the data: F1 is binary (ids 0 and 1), R3 has three classes, MCC is binary
# unless ``n_classes`` says otherwise, and accuracy accepts any id unless ``n_classes`` is given.

FIXED_CLASSES = {"f1": 2, "r3": 3}       # defined over exactly this many classes
DEFAULT_CLASSES = {"mcc": 2}             # GLUE's MCC (CoLA) is binary; R_K needs n_classes=K


def label_count(name: str, n_classes: int | None) -> int | None:
    """The number of classes metric ``name`` is computed over (None: any non-negative id)."""
    fixed = FIXED_CLASSES.get(name)
    if fixed is not None and n_classes not in (None, fixed):
        raise ValueError(f"{name} is defined over {fixed} classes, got n_classes={n_classes}")
    if n_classes is not None and (isinstance(n_classes, bool) or int(n_classes) != n_classes
                                  or n_classes < 2):
        raise ValueError(f"{name}: n_classes must be a whole number >= 2, got {n_classes!r}")
    return fixed or n_classes or DEFAULT_CLASSES.get(name)


def class_ids(values, n_classes: int | None, *, name: str, which: str) -> np.ndarray:
    """``values`` as int64 class ids, or ValueError naming the first value that is not one.

    Whole-number floats (1.0) and booleans are ids; a fraction, NaN, a negative number or an
    id >= ``n_classes`` is not (scores or probabilities passed by mistake, a stray class).
    """
    a = np.asarray(values)
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name}: {which} must be class ids (whole numbers), got values of "
                         f"type {a.dtype}")
    if a.dtype.kind == "f":
        _first_bad(name, which, a, ~np.isfinite(a) | (a != np.round(a)),
                   "is not a class id (a whole number); pass label ids, not scores or "
                   "probabilities")
    if n_classes is None:
        _first_bad(name, which, a, a < 0, "is negative; class ids start at 0")
    else:
        _first_bad(name, which, a, (a < 0) | (a >= n_classes),
                   f"is outside the label set; expected ids 0..{n_classes - 1}")
    return a.astype(np.int64)


def _first_bad(name: str, which: str, a: np.ndarray, bad: np.ndarray, why: str) -> None:
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"{name}: {which}[{i}] = {a[i].item()!r} {why} "
                         f"({int(np.count_nonzero(bad))} such value(s))")


def _finite(values, *, name: str, which: str) -> np.ndarray:
    a = np.asarray(values, np.float64)
    _first_bad(name, which, a, ~np.isfinite(a), "is not a finite number")
    return a


def _checked(name: str, y_true, y_pred, n_classes: int | None):
    """(gold, predicted) arrays for ``name``, checked: 1-D, equal length, valid values."""
    shapes = np.shape(y_true), np.shape(y_pred)
    if shapes[0] != shapes[1] or len(shapes[0]) != 1:
        raise ValueError(f"{name}: y_true and y_pred must be 1-D of equal length, "
                         f"got {shapes[0]} and {shapes[1]}")
    if name in CORRELATIONS:
        return (_finite(y_true, name=name, which="y_true"),
                _finite(y_pred, name=name, which="y_pred"))
    k = label_count(name, n_classes)
    return (class_ids(y_true, k, name=name, which="y_true"),
            class_ids(y_pred, k, name=name, which="y_pred"))


def _value(name: str, t: np.ndarray, p: np.ndarray, n_classes: int | None) -> float:
    """The metric of checked arrays (the batched code on one row)."""
    if name in CORRELATIONS:
        for label, series in (("gold", t), ("predicted", p)):
            if len(series) and np.all(series == series[0]):
                warnings.warn(f"{name}: the {label} series is constant, so the correlation is "
                              "undefined; reported as 0", GlueBenchWarning, stacklevel=4)
        return float(BATCHED[name](t, p))
    k = label_count(name, n_classes)
    if k is None:
        # Any ids: accuracy and MCC do not change when gold and prediction are relabelled
        # together, so compact them (a stray id 10**9 must not size the confusion matrix).
        values, both = np.unique(np.concatenate([t, p]), return_inverse=True)
        t, p, k = both[:len(t)], both[len(t):], max(2, len(values))
    return float(FROM_CONFUSION[name](confusion(t, p, k)))


def _point(name: str, y_true, y_pred, n_classes: int | None = None) -> float:
    t, p = _checked(name, y_true, y_pred, n_classes)
    return _value(name, t, p, n_classes)


def accuracy(y_true, y_pred, *, n_classes: int | None = None) -> float:
    """Share of exact matches; ids in 0..n_classes-1 when ``n_classes`` is given."""
    return _point("accuracy", y_true, y_pred, n_classes)


def f1(y_true, y_pred) -> float:
    """Binary F1 of class 1 (ids 0 and 1 only); 0.0 when neither side has a positive."""
    return _point("f1", y_true, y_pred)


def matthews_corrcoef(y_true, y_pred, *, n_classes: int = 2) -> float:
    """Matthews correlation over ids 0..n_classes-1 (R_K for K > 2); 0.0 when undefined."""
    return _point("mcc", y_true, y_pred, n_classes)


def r3(y_true, y_pred) -> float:
    """GLUE's R3: three-class Matthews correlation (entailment, neutral, contradiction)."""
    return _point("r3", y_true, y_pred)


def pearson(y_true, y_pred) -> float:
    """Pearson's r of finite values; 0.0 (with a warning) if either series is constant."""
    return _point("pearson", y_true, y_pred)


def spearman(y_true, y_pred) -> float:
    """Spearman's rho with average ranks for ties, of finite values; 0.0 (with a warning) if
    a series is constant."""
    return _point("spearman", y_true, y_pred)


def compute(metric_names, y_true, y_pred, *, n_classes: int | None = None) -> dict[str, float]:
    """Point values of the named metrics; ``n_classes``: the task's label count."""
    checked = {m: _checked(m, y_true, y_pred, n_classes) for m in metric_names}
    return {m: _value(m, *checked[m], n_classes) for m in metric_names}


def task_score(values: dict[str, float], metric_names) -> float:
    """A leaderboard entry's score: the unweighted mean of its metrics, times 100."""
    return 100.0 * float(np.mean([values[m] for m in metric_names]))
