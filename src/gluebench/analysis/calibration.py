"""Calibration and error analysis of a classifier's dev-set probabilities.

* Expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural
  Networks"): confidences (the top-class probability) in ``n_bins`` equal-width bins;
  ECE = sum over bins of (bin share) x |bin accuracy - bin mean confidence|.
* Brier score (Brier 1950), multi-class form: mean over examples of
  sum_k (p_k - 1[y = k])^2, in [0, 2]. For two classes it is twice scikit-learn's
  ``brier_score_loss`` of the positive class.
* Confusion matrices (rows gold, columns predicted) and label distributions, which
  show a model that leans on one class even when its score looks fine.

>>> probs = np.array([[0.85, 0.15], [0.15, 0.85]])   # one right, one wrong, at 0.85
>>> round(expected_calibration_error(np.array([0, 0]), probs), 3)
0.35
"""

from __future__ import annotations

import numpy as np

from gluebench.benchmark.metrics import confusion

DEFAULT_BINS = 10


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    # Bins are (lower, upper]; a confidence of exactly 0 joins the first bin.
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    return np.digitize(confidence, inner_edges, right=True)


def reliability_bins(y_true: np.ndarray, probs: np.ndarray, *, n_bins: int = DEFAULT_BINS
                     ) -> list[dict]:
    """Per confidence bin: its bounds, count, mean confidence and accuracy (None if empty)."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    bins = _bin_of(confidence, n_bins)
    out = []
    for b in range(n_bins):
        mask = bins == b
        count = int(mask.sum())
        out.append({"lower": b / n_bins, "upper": (b + 1) / n_bins, "count": count,
                    "confidence": float(confidence[mask].mean()) if count else None,
                    "accuracy": float(correct[mask].mean()) if count else None})
    return out


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, *,
                               n_bins: int = DEFAULT_BINS) -> float:
    n = len(y_true)
    bins = reliability_bins(y_true, probs, n_bins=n_bins)
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"])
                     for b in bins if b["count"]))


def brier_score(y_true: np.ndarray, probs: np.ndarray) -> float:
    onehot = np.eye(probs.shape[1])[y_true]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def classification_report(y_true: np.ndarray, probs: np.ndarray, labels: list[str], *,
                          n_bins: int = DEFAULT_BINS) -> dict:
    """Calibration, confusion matrix and gold/predicted label counts of one dev set."""
    y_pred = probs.argmax(axis=1)
    k = len(labels)
    return {
        "labels": labels, "n": len(y_true),
        "calibration": {"ece": expected_calibration_error(y_true, probs, n_bins=n_bins),
                        "brier": brier_score(y_true, probs), "n_bins": n_bins,
                        "bins": reliability_bins(y_true, probs, n_bins=n_bins)},
        "confusion": confusion(y_true, y_pred, k).tolist(),
        "label_distribution": {
            "gold": dict(zip(labels, np.bincount(y_true, minlength=k).tolist(), strict=True)),
            "predicted": dict(zip(labels, np.bincount(y_pred, minlength=k).tolist(),
                                  strict=True)),
        },
    }


def regression_report(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """STS-B has no classes: compare the spread of predicted and gold similarity scores."""
    return {"n": len(y_true), "regression": {
        "gold_mean": float(y_true.mean()), "pred_mean": float(scores.mean()),
        "gold_sd": float(y_true.std()), "pred_sd": float(scores.std()),
        "mean_absolute_error": float(np.abs(scores - y_true).mean())}}
