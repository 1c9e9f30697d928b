"""The official GLUE metrics as plain functions, and the GLUE score.

Each metric is written once, over the last axis, so the same code gives the
point estimate on ``(n,)`` arrays and thousands of bootstrap replicates on
``(resamples, n)`` arrays. Degenerate cases have defined values, as in
scikit-learn: MCC/R3 is 0 when a marginal is constant, F1 is 0 when there are
no positives at all, and a correlation with a constant series is 0 (with a
warning, since the true value is undefined).

>>> matthews_corrcoef([1, 1, 0, 0], [1, 0, 0, 0])
0.5773502691896258
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

from gluebench.errors import GlueBenchWarning

Batched = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


# ---- batched forms: (..., n) int ids / float scores -> (...) values ---------------------

def accuracy_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (y_true == y_pred).mean(axis=-1)


def f1_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of the positive class (label id 1), as GLUE reports it for MRPC and QQP."""
    t, p = y_true == 1, y_pred == 1
    tp = (t & p).sum(axis=-1)
    fp_fn = (t ^ p).sum(axis=-1)
    return _safe_divide(2 * tp, 2 * tp + fp_fn)


def mcc_batched(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 2) -> np.ndarray:
    """Matthews correlation; for K > 2 classes Gorodkin's R_K (GLUE's R3 for AX)."""
    t, p = np.atleast_2d(y_true), np.atleast_2d(y_pred)
    k, (rows, n) = n_classes, t.shape
    # One confusion matrix per row: (rows, k_true, k_pred), from a single bincount.
    flat = (np.arange(rows)[:, None] * k * k + t * k + p).ravel()
    cm = np.bincount(flat, minlength=rows * k * k).reshape(rows, k, k).astype(np.float64)
    true_counts, pred_counts = cm.sum(axis=2), cm.sum(axis=1)
    correct = np.trace(cm, axis1=1, axis2=2)
    cov_tp = correct * n - (true_counts * pred_counts).sum(axis=1)
    cov_tt = n * n - (true_counts**2).sum(axis=1)
    cov_pp = n * n - (pred_counts**2).sum(axis=1)
    out = _safe_divide(cov_tp, np.sqrt(cov_tt * cov_pp))
    return out.reshape(np.shape(y_true)[:-1])


def pearson_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    x = y_true - y_true.mean(axis=-1, keepdims=True)
    y = y_pred - y_pred.mean(axis=-1, keepdims=True)
    r = _safe_divide((x * y).sum(axis=-1), np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1)))
    return np.clip(r, -1.0, 1.0)


def spearman_batched(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Pearson correlation of average ranks (ties share their mean rank, as in scipy)."""
    return pearson_batched(rankdata(y_true, axis=-1), rankdata(y_pred, axis=-1))


BATCHED: dict[str, Batched] = {
    "accuracy": accuracy_batched,
    "f1": f1_batched,
    "mcc": mcc_batched,
    "r3": lambda t, p: mcc_batched(t, p, n_classes=3),
    "pearson": pearson_batched,
    "spearman": spearman_batched,
}
CORRELATIONS = ("pearson", "spearman")


# ---- point estimates: the public, scikit-learn-shaped functions -------------------------

def _point(name: str, y_true, y_pred) -> float:
    dtype = np.float64 if name in CORRELATIONS else np.int64
    t, p = np.asarray(y_true, dtype), np.asarray(y_pred, dtype)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"{name}: y_true and y_pred must be 1-D of equal length, "
                         f"got {t.shape} and {p.shape}")
    if name in CORRELATIONS:
        for label, series in (("gold", t), ("predicted", p)):
            if len(series) and np.all(series == series[0]):
                warnings.warn(f"{name}: the {label} series is constant, so the correlation is "
                              "undefined; reported as 0", GlueBenchWarning, stacklevel=3)
    if name == "mcc":
        return float(mcc_batched(t, p, n_classes=int(max(t.max(initial=1), p.max(initial=1))) + 1))
    return float(BATCHED[name](t, p))


def accuracy(y_true, y_pred) -> float:
    """Share of exact matches."""
    return _point("accuracy", y_true, y_pred)


def f1(y_true, y_pred) -> float:
    """F1 of class 1; 0.0 when neither gold nor prediction has a positive."""
    return _point("f1", y_true, y_pred)


def matthews_corrcoef(y_true, y_pred) -> float:
    """Matthews correlation over all classes present; 0.0 when undefined."""
    return _point("mcc", y_true, y_pred)


def r3(y_true, y_pred) -> float:
    """GLUE's R3: three-class Matthews correlation (entailment, neutral, contradiction)."""
    return _point("r3", y_true, y_pred)


def pearson(y_true, y_pred) -> float:
    """Pearson's r; 0.0 (with a warning) if either series is constant."""
    return _point("pearson", y_true, y_pred)


def spearman(y_true, y_pred) -> float:
    """Spearman's rho with average ranks for ties; 0.0 (with a warning) if a series is constant."""
    return _point("spearman", y_true, y_pred)


def compute(metric_names, y_true, y_pred) -> dict[str, float]:
    """Point values of the named metrics."""
    return {m: _point(m, y_true, y_pred) for m in metric_names}


def task_score(values: dict[str, float], metric_names) -> float:
    """A leaderboard entry's score: the unweighted mean of its metrics, times 100."""
    return 100.0 * float(np.mean([values[m] for m in metric_names]))
