"""Confidence intervals and paired significance tests, vectorised.

Resamples are drawn in chunks of ``(chunk, n)`` index arrays and every metric is
computed over all rows of a chunk at once (see ``metrics``), so 1000 bootstrap
replicates of a dev set take milliseconds, not a Python loop of 1000 calls.
Randomness is seeded per task name, so a task's interval does not change when
other tasks are added to a run.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from gluebench.benchmark.metrics import BATCHED, FROM_CONFUSION, confusion, n_classes

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
_ELEMENTS_PER_CHUNK = 4_000_000  # bounds memory: 4M int64 indices = 32 MB


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A generator that depends on the seed and the task, not on the order tasks run in."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _chunks(total: int, n: int) -> Iterator[int]:
    size = max(1, _ELEMENTS_PER_CHUNK // max(n, 1))
    for start in range(0, total, size):
        yield min(size, total - start)


def _is_classification(metrics: Sequence[str]) -> bool:
    return all(m in FROM_CONFUSION for m in metrics)


def _on_confusions(metrics: Sequence[str], cms: np.ndarray) -> dict[str, np.ndarray]:
    return {m: FROM_CONFUSION[m](cms) for m in metrics}


def _replicates(metrics: Sequence[str], gold, pred, idx: np.ndarray) -> dict[str, np.ndarray]:
    return {m: BATCHED[m](gold[idx], pred[idx]) for m in metrics}


def _with_score(values: dict[str, np.ndarray], metrics: Sequence[str]) -> dict[str, np.ndarray]:
    values["score"] = 100.0 * np.mean([values[m] for m in metrics], axis=0)
    return values


def _interval(samples: np.ndarray, confidence: float) -> list[float]:
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(samples, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def bootstrap_replicates(metrics: Sequence[str], gold: np.ndarray, pred: np.ndarray,
                         n_resamples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each metric (and the score) on ``n_resamples`` bootstrap resamples of the examples.

    Classification metrics depend on the examples only through the confusion matrix,
    and the confusion matrix of a resample of n examples is exactly
    Multinomial(n, observed cell frequencies): drawing it directly costs O(k^2) per
    resample instead of O(n). Regression metrics resample example indices.
    """
    n = len(gold)
    if _is_classification(metrics):
        k = n_classes(gold, pred)
        cells = confusion(gold, pred, k).ravel() / n
        cms = rng.multinomial(n, cells, size=n_resamples).reshape(-1, k, k)
        return _with_score(_on_confusions(metrics, cms), metrics)
    parts: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(size, n))
        for key, vals in _with_score(_replicates(metrics, gold, pred, idx), metrics).items():
            parts.setdefault(key, []).append(vals)
    return {k: np.concatenate(v) for k, v in parts.items()}


def bootstrap_ci(
    metrics: Sequence[str], gold: np.ndarray, pred: np.ndarray, *,
    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0, name: str = "",
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals for each metric and for the entry's score (x100).

    All metrics share the same resamples, so the intervals are mutually consistent.
    """
    reps = bootstrap_replicates(metrics, gold, pred, n_resamples, rng_for(seed, name))
    return {k: _interval(v, confidence) for k, v in reps.items()}


@dataclass
class PairedResult:
    """A minus B for one metric (or the score): estimate, bootstrap CI, permutation p-value."""

    a: float
    b: float
    diff: float
    ci: list[float]
    p_value: float

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "diff": self.diff, "ci": self.ci,
                "p_value": self.p_value}


def _paired_classification(metrics, gold, pred_a, pred_b, n_resamples, rng):
    """Bootstrap differences and permuted |differences| from the joint (gold, a, b) counts.

    Resampling examples draws joint counts from a multinomial; swapping the two
    predictions of each example with probability 1/2 moves Binomial(count, 1/2)
    examples from cell (g, a, b) to (g, b, a). Both are exact, and O(k^3) per replicate.
    """
    n, k = len(gold), n_classes(gold, pred_a, pred_b)
    joint = np.bincount((gold * k + pred_a) * k + pred_b, minlength=k**3).reshape(k, k, k)
    draws = rng.multinomial(n, joint.ravel() / n, size=n_resamples).reshape(-1, k, k, k)
    boot_a = _with_score(_on_confusions(metrics, draws.sum(axis=3)), metrics)
    boot_b = _with_score(_on_confusions(metrics, draws.sum(axis=2)), metrics)
    moved = rng.binomial(np.broadcast_to(joint, (n_resamples, k, k, k)), 0.5)
    permuted = joint - moved + moved.transpose(0, 1, 3, 2)
    perm_a = _with_score(_on_confusions(metrics, permuted.sum(axis=3)), metrics)
    perm_b = _with_score(_on_confusions(metrics, permuted.sum(axis=2)), metrics)
    return ({m: boot_a[m] - boot_b[m] for m in boot_a},
            {m: np.abs(perm_a[m] - perm_b[m]) for m in perm_a})


def _paired_by_index(metrics, gold, pred_a, pred_b, n_resamples, rng):
    """The same two distributions by resampling and swapping example by example."""
    n = len(gold)
    boot: dict[str, list[np.ndarray]] = {}
    perm: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(size, n))
        da = _with_score(_replicates(metrics, gold, pred_a, idx), metrics)
        db = _with_score(_replicates(metrics, gold, pred_b, idx), metrics)
        swap = rng.random((size, n)) < 0.5
        rows = np.broadcast_to(gold, (size, n))
        pa = _with_score({m: BATCHED[m](rows, np.where(swap, pred_b, pred_a))
                          for m in metrics}, metrics)
        pb = _with_score({m: BATCHED[m](rows, np.where(swap, pred_a, pred_b))
                          for m in metrics}, metrics)
        for m in da:
            boot.setdefault(m, []).append(da[m] - db[m])
            perm.setdefault(m, []).append(np.abs(pa[m] - pb[m]))
    return ({m: np.concatenate(v) for m, v in boot.items()},
            {m: np.concatenate(v) for m, v in perm.items()})


def paired_score_differences(
    metrics: Sequence[str], gold: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *,
    n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, name: str = "",
) -> np.ndarray:
    """Paired-bootstrap replicates of score(A) - score(B) (x100), one per resample.

    Both systems are scored on the same resampled examples (for classification, joint
    (gold, a, b) counts drawn from their multinomial, as in ``paired_test``). Replicates
    of several entries combine into replicates of an average of entry scores (the GLUE
    score), since each entry's examples are resampled independently.
    """
    rng = rng_for(seed, name)
    if _is_classification(metrics):
        n, k = len(gold), n_classes(gold, pred_a, pred_b)
        joint = np.bincount((gold * k + pred_a) * k + pred_b, minlength=k**3)
        draws = rng.multinomial(n, joint / n, size=n_resamples).reshape(-1, k, k, k)
        a = _with_score(_on_confusions(metrics, draws.sum(axis=3)), metrics)["score"]
        b = _with_score(_on_confusions(metrics, draws.sum(axis=2)), metrics)["score"]
        return a - b
    parts = []
    for size in _chunks(n_resamples, len(gold)):
        idx = rng.integers(0, len(gold), size=(size, len(gold)))
        a = _with_score(_replicates(metrics, gold, pred_a, idx), metrics)["score"]
        b = _with_score(_replicates(metrics, gold, pred_b, idx), metrics)["score"]
        parts.append(a - b)
    return np.concatenate(parts)


def paired_test(
    metrics: Sequence[str], gold: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *,
    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0, name: str = "",
) -> dict[str, PairedResult]:
    """Compare two systems on the same examples.

    The CI of the difference comes from a paired bootstrap (both systems scored on
    the same resampled examples). The two-sided p-value comes from a paired
    permutation test (approximate randomisation): under the null hypothesis the
    two predictions of each example are exchangeable, so each pair is swapped
    with probability 1/2 and the observed |difference| is ranked among the
    permuted ones; p = (1 + #{|d*| >= |d|}) / (1 + resamples).
    """
    rng = rng_for(seed, name)
    full = np.arange(len(gold))[None, :]
    a_obs = _with_score(_replicates(metrics, gold, pred_a, full), metrics)
    b_obs = _with_score(_replicates(metrics, gold, pred_b, full), metrics)
    method = _paired_classification if _is_classification(metrics) else _paired_by_index
    boot, perm = method(metrics, gold, pred_a, pred_b, n_resamples, rng)
    out = {}
    for m in a_obs:
        a, b = float(a_obs[m][0]), float(b_obs[m][0])
        # A small tolerance so that float noise does not decide ties.
        extreme = int((perm[m] >= abs(a - b) - 1e-12).sum())
        out[m] = PairedResult(a, b, a - b, _interval(boot[m], confidence),
                              (1 + extreme) / (1 + n_resamples))
    return out
