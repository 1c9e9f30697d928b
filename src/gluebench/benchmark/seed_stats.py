"""Statistics over several seeds: intervals and paired tests whose null includes seed variance.

A recipe trained with S seeds gives S prediction vectors on the same dev examples. Pooling
every (seed, example) pair as one observation treats seed-to-seed variation as if more
examples had been drawn, so intervals come out too narrow and tests far too eager. Here
the score of a recipe is the mean over its seeds of each seed's score, and

    Var(mean A - mean B) = examples + excess_A / S_A + excess_B / S_B

- ``examples``: the bootstrap variance of the difference with the seeds held fixed, the
  examples resampled with the *same* indices for every seed of both recipes (so what the
  seeds share cancels as it does in the data);
- ``excess``: the variance of a recipe's seed scores beyond each seed's own example noise
  (var(seed scores) = seed effect + own noise; the own noise is measured by the same
  bootstrap and is already in ``examples``), never below zero.

The test is t = difference / sqrt(Var) with Welch-Satterthwaite degrees of freedom, each
seed term's noise being that of the sample variance it comes from (S - 1 df); the
examples' term counts as exact. When the seeds vary far more than the examples explain
this is Welch's t on the per-seed scores (Reimers & Gurevych 2017); deterministic systems
(identical seeds) get the paired bootstrap test over examples. A side with one seed takes
the other side's seed variance (Student's pooled form). A plain bootstrap over 3 seeds is
anti-conservative (it underestimates the seed variance by a third, and double counts each
seed's example noise): ``benchmarks/seed_stats_calibration.py`` measures all of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr, stdtrit

from gluebench.benchmark.metrics import BATCHED, FROM_CONFUSION, n_classes
from gluebench.benchmark.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    _chunks,
    _with_score,
    bootstrap_ci,
    rng_for,
)

TEST_NAME = ("seed-aware t: example-bootstrap variance of the difference of seed means "
             "(examples resampled with the same indices for every seed) plus the seed "
             "variance beyond it, Welch-Satterthwaite df, two-sided")
CI_NAME = "t interval of the difference of seed means (same variance and df as the test)"


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample sd (ddof=1; 0.0 for one value); (None, None) for no values."""
    if not len(values):
        return None, None
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order.

    The i-th smallest p is multiplied by (m - i), running maxima keep the order, capped at 1.
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted.tolist()


def _check_shapes(gold: np.ndarray, *preds: np.ndarray) -> None:
    for p in preds:
        if p.ndim != 2 or p.shape[1] != len(gold) or p.shape[0] < 1:
            raise ValueError(f"expected (seeds, {len(gold)}) predictions, got {p.shape}")


def per_seed_values(metrics: Sequence[str], gold: np.ndarray,
                    preds: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric (and the score, x100) of every seed: ``(seeds, n)`` -> ``(seeds,)``."""
    rows = np.broadcast_to(gold, preds.shape)
    return _with_score({m: BATCHED[m](rows, preds) for m in metrics}, metrics)


def _patterns(cells: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``cells`` (ids below ``base``) and how often each occurs."""
    if cells.shape[1] * np.log2(base) < 62:   # one int64 code per row: a fast 1-d unique
        codes = cells @ (base ** np.arange(cells.shape[1], dtype=np.int64))
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        return cells[first], counts
    return np.unique(cells, axis=0, return_counts=True)


def common_resamples(metrics: Sequence[str], gold: np.ndarray, preds: np.ndarray,
                     n_resamples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each metric of every seed on bootstrap resamples that share their example indices.

    ``preds``: (seeds, n). Returns (n_resamples, seeds) arrays. For classification an
    example is its (gold, prediction of every seed) pattern; drawing n examples with
    replacement is drawing pattern counts from Multinomial(n, observed pattern shares),
    and each seed's confusion matrix is a sum over patterns: O(patterns) per replicate.
    """
    n, seeds = len(gold), preds.shape[0]
    if all(m in FROM_CONFUSION for m in metrics):
        k = n_classes(gold, preds)
        cells = (gold[None, :] * k + preds).T                      # (n, seeds) cell ids
        patterns, counts = _patterns(cells, k * k)
        draws = rng.multinomial(n, counts / n, size=n_resamples).astype(float)  # (R, U)
        cms = np.stack([draws @ np.eye(k * k)[patterns[:, s]] for s in range(seeds)], axis=1)
        cms = cms.reshape(n_resamples, seeds, k, k)
        return _with_score({m: FROM_CONFUSION[m](cms) for m in metrics}, metrics)
    parts: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, n * seeds):
        idx = rng.integers(0, n, size=(size, 1, n))               # the same for every seed
        g = np.broadcast_to(gold[idx], (size, seeds, n))
        p = np.take_along_axis(np.broadcast_to(preds, (size, seeds, n)),
                               np.broadcast_to(idx, (size, seeds, n)), axis=2)
        for key, vals in _with_score({m: BATCHED[m](g, p) for m in metrics}, metrics).items():
            parts.setdefault(key, []).append(vals)
    return {key: np.concatenate(v) for key, v in parts.items()}


def _seed_specific(reps: np.ndarray) -> float:
    """Variance of one seed's example noise not shared with the other seeds (0 for one seed).

    With X_s = c + e_s (c shared, e_s independent with variance v) across replicates,
    var(X_s - mean X) = v (1 - 1/S), so v = S/(S-1) times its average over seeds.
    """
    seeds = reps.shape[1]
    if seeds < 2:
        return 0.0
    centred = reps - reps.mean(axis=1, keepdims=True)
    return float(seeds / (seeds - 1) * centred.var(axis=0, ddof=1).mean())


@dataclass
class SeedVariance:
    """Var(difference of seed means): the examples' part plus the seeds' part beyond it.

    ``examples``: the bootstrap variance with the seeds held fixed (exact: many examples).
    ``seeds``: per side (or one pooled term), (seed variance beyond the seeds' own example
    noise, variance of the seed scores, df): var(seed scores) = seed effect + own example
    noise, and the latter is already in ``examples``.
    """

    examples: float
    seeds: list[tuple[float, float, int]]

    @property
    def se(self) -> float:
        return float(np.sqrt(self.examples + sum(excess for excess, _, _ in self.seeds)))

    @property
    def df(self) -> float:
        """Welch-Satterthwaite. A seed term's noise is that of the sample variance it comes
        from (which estimates the seed effect *and* the example noise), not of its excess."""
        noisy = sum(total * total / df for _, total, df in self.seeds)
        if noisy == 0:
            return float("inf")
        # The examples' term is exact, so the sum is known at least as well as its least
        # certain seed term: never fewer df than that term's own (Welch's lower bound). Without
        # this floor, a seed term whose excess is ~0 but whose sample variance is noisy drives
        # df below 1 and the t interval to absurd widths (a deterministic system against 3
        # random seeds gave df 0.15 and a CI of +-1e8 points).
        return max(self.se ** 4 / noisy, float(min(df for _, _, df in self.seeds)))


def seed_variance(examples: float, *sides: tuple[np.ndarray, float]) -> SeedVariance:
    """The variance of a mean (one side) or of a difference of means (two sides).

    ``sides``: (per-seed scores, each seed's own example-noise variance) per side. A side
    with one seed takes the other side's seed variance (Student's pooled form, with the
    other side's df); with one seed on each side only the examples are left.
    """
    spread = [(x, own) for x, own in sides if len(x) > 1]
    if not spread:
        if len(sides) == 1:
            raise ValueError("a seed-aware interval needs at least 2 seeds")
        return SeedVariance(examples, [])
    if len(spread) == len(sides):
        scale = [1 / len(x) for x, _ in sides]
    else:                       # one side with one seed: both sides share one estimate
        scale = [sum(1 / len(x) for x, _ in sides)]
    terms = []
    for (x, own), k in zip(spread, scale, strict=True):
        var = float(np.var(x, ddof=1))
        terms.append((k * max(var - own, 0.0), k * max(var, own), len(x) - 1))
    return SeedVariance(examples, terms)


@dataclass
class SeedPairedResult:
    """A minus B over seeds for one metric (or the score): means, CI, p and what made them."""

    a: float
    b: float
    diff: float
    ci: list[float]
    p_value: float
    sd_a: float
    sd_b: float
    se: float
    df: float

    def to_dict(self) -> dict:
        """JSON-ready: an infinite df (a normal reference, no seed spread) is null."""
        return {"a": self.a, "b": self.b, "diff": self.diff, "ci": self.ci,
                "p_value": self.p_value, "sd_a": self.sd_a, "sd_b": self.sd_b,
                "se": self.se, "df": self.df if np.isfinite(self.df) else None}


def t_result(diff: float, var: SeedVariance, confidence: float) -> tuple[list[float], float]:
    """(CI, two-sided p) of ``diff`` under a t distribution with the variance's df."""
    se, df = var.se, var.df
    if se == 0:
        return [diff, diff], 1.0 if diff == 0 else 0.0
    # scipy.special's Student t (stdtr: CDF, stdtrit: quantile; df = inf is the normal).
    half = float(stdtrit(df, 0.5 + confidence / 2)) * se
    return [diff - half, diff + half], float(2 * stdtr(df, -abs(diff) / se))


def seed_paired_test(
    metrics: Sequence[str], gold: np.ndarray, preds_a: np.ndarray, preds_b: np.ndarray, *,
    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0, name: str = "",
) -> dict[str, SeedPairedResult]:
    """Compare two recipes, each run with one or more seeds, on the same examples.

    ``preds_a``: (S_A, n) and ``preds_b``: (S_B, n), in ``gold``'s order. See the module
    docstring for the test; seeds need not be matched (Welch treats them as independent).
    """
    gold, preds_a, preds_b = np.asarray(gold), np.asarray(preds_a), np.asarray(preds_b)
    _check_shapes(gold, preds_a, preds_b)
    s_a = preds_a.shape[0]
    obs_a, obs_b = per_seed_values(metrics, gold, preds_a), per_seed_values(metrics, gold, preds_b)
    reps = common_resamples(metrics, gold, np.concatenate([preds_a, preds_b]), n_resamples,
                            rng_for(seed, name))
    out = {}
    for m, r in reps.items():
        ra, rb = r[:, :s_a], r[:, s_a:]
        var = seed_variance(float(np.var(ra.mean(axis=1) - rb.mean(axis=1), ddof=1)),
                            (obs_a[m], _seed_specific(ra)), (obs_b[m], _seed_specific(rb)))
        a, b = float(obs_a[m].mean()), float(obs_b[m].mean())
        ci, p = t_result(a - b, var, confidence)
        out[m] = SeedPairedResult(a, b, a - b, ci, p, mean_sd(obs_a[m])[1],
                                  mean_sd(obs_b[m])[1], var.se, var.df)
    return out


def seed_interval(
    metrics: Sequence[str], gold: np.ndarray, preds: np.ndarray, *,
    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0, name: str = "",
) -> dict[str, dict]:
    """Each metric's (and the score's) mean over seeds with its seed-aware CI.

    ``preds``: (S, n). The variance of ``seed_paired_test`` for one side: the bootstrap
    variance of the seed mean over examples plus the seed variance beyond the seeds' own
    example noise. With one seed: the percentile bootstrap of ``stats.bootstrap_ci``.
    """
    gold, preds = np.asarray(gold), np.asarray(preds)
    _check_shapes(gold, preds)
    obs = per_seed_values(metrics, gold, preds)
    if preds.shape[0] == 1:
        cis = bootstrap_ci(metrics, gold, preds[0], n_resamples=n_resamples,
                           confidence=confidence, seed=seed, name=name)
        return {m: {"mean": float(v[0]), "sd": 0.0, "ci": cis[m], "seeds": 1, "n": len(gold)}
                for m, v in obs.items()}
    reps = common_resamples(metrics, gold, preds, n_resamples, rng_for(seed, name))
    out = {}
    for m, r in reps.items():
        var = seed_variance(float(np.var(r.mean(axis=1), ddof=1)), (obs[m], _seed_specific(r)))
        mean = float(obs[m].mean())
        out[m] = {"mean": mean, "sd": mean_sd(obs[m])[1],
                  "ci": t_result(mean, var, confidence)[0], "seeds": int(preds.shape[0]),
                  "n": len(gold)}
    return out
