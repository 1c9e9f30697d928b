"""Statistical power of a dev set: the smallest difference it can resolve.

For a two-sided test at level alpha with power 1 - beta, two systems whose scores
differ by delta are told apart when delta >= (z_{1-alpha/2} + z_{1-beta}) * SD(diff).

* ``mdd`` (unpaired, conservative): SD(diff) = sqrt(2) * SE, with SE the bootstrap
  standard error of the entry's score for a system at the observed (baseline) score.
  It holds for any metric (accuracy, F1, MCC, correlations).
* ``mdd_paired`` (McNemar-style, Card et al. 2020, "With Little Power Comes Great
  Responsibility"): when both systems are scored on the same examples only the
  examples they disagree on count, SD(diff) ~ sqrt(d / n) for a disagreement rate d.
  We report it only where d is measured: the mean disagreement between a run's seeds,
  a realistic rate for "the same recipe, changed a little".
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from gluebench.benchmark.metrics import compute, task_score
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, bootstrap_replicates, rng_for
from gluebench.benchmark.tasks import BENCHMARKS, get_task

ALPHA = 0.05
POWER = 0.8


def check_baseline(baseline: float) -> float:
    """An accuracy in points strictly between 0 and 100 (at 0 or 100 the binomial SE is 0)."""
    if not (isinstance(baseline, (int, float, np.number)) and np.isfinite(baseline)
            and 0 < baseline < 100):
        raise ValueError(f"a baseline accuracy is a number of points strictly between 0 and "
                         f"100 (e.g. 80 for 80%), got {baseline!r}")
    return float(baseline)


def _check_level(name: str, value: float) -> None:
    if not (np.isfinite(value) and 0 < value < 1):
        raise ValueError(f"{name} is a probability strictly between 0 and 1, got {value!r}")


def _z_sum(alpha: float, power: float) -> float:
    _check_level("alpha", alpha)
    _check_level("power", power)
    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def minimum_detectable_difference(se: float, *, alpha: float = ALPHA, power: float = POWER,
                                  paired_sd: float | None = None) -> float:
    """In the units of ``se`` (score points when ``se`` is)."""
    sd = paired_sd if paired_sd is not None else np.sqrt(2.0) * se
    if not (np.isfinite(sd) and sd >= 0):
        raise ValueError(f"a standard error is a finite number >= 0, got {sd!r}")
    return _z_sum(alpha, power) * float(sd)


def accuracy_se(baseline: float, n: int) -> float:
    """Binomial standard error, in points, of an accuracy of ``baseline`` points on ``n``."""
    if n < 1:
        raise ValueError(f"a standard error needs at least one example, got n={n}")
    p = check_baseline(baseline) / 100.0
    return 100.0 * float(np.sqrt(p * (1 - p) / n))


def accuracy_mdd(baseline: float, n: int, *, alpha: float = ALPHA, power: float = POWER
                 ) -> float:
    """Unpaired MDD in points for an accuracy of ``baseline`` points on ``n`` examples."""
    return minimum_detectable_difference(accuracy_se(baseline, n), alpha=alpha, power=power)


def official_sizes_power(baseline: float) -> dict:
    """The MDD of every accuracy-scored GLUE dev set at its official size, without a run."""
    baseline = check_baseline(baseline)
    rows = {}
    for name, b in BENCHMARKS.items():
        if b.metrics == ("accuracy",) and b.glue_group:
            n = get_task(b.task).files[b.dev].size
            rows[name] = {"n": n, "baseline": baseline, "se": accuracy_se(baseline, n),
                          "mdd": accuracy_mdd(baseline, n), "method": "unpaired, binomial SE"}
    return {"power": {"alpha": ALPHA, "power": POWER, "entries": rows}}


def disagreement(predictions: list[np.ndarray]) -> float | None:
    """Mean pairwise share of examples on which two seeds' predictions differ."""
    pairs = [(a, b) for i, a in enumerate(predictions) for b in predictions[i + 1:]]
    if not pairs:
        return None
    return float(np.mean([np.mean(a != b) for a, b in pairs]))


def entry_power(name: str, metrics, gold: np.ndarray, pred: np.ndarray, *,
                seed_disagreement: float | None = None, alpha: float = ALPHA,
                power: float = POWER, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
                ) -> dict:
    """Observed score, its bootstrap SE and the minimum detectable differences (points)."""
    reps = bootstrap_replicates(metrics, gold, pred, n_resamples, rng_for(seed, f"power/{name}"))
    se = float(np.std(reps["score"], ddof=1))
    n = len(gold)
    out = {"n": n, "baseline": task_score(compute(metrics, gold, pred), metrics), "se": se,
           "mdd": minimum_detectable_difference(se, alpha=alpha, power=power),
           "method": "unpaired: (z_{1-a/2} + z_{power}) * sqrt(2) * bootstrap SE"}
    if seed_disagreement is not None and tuple(metrics) == ("accuracy",):
        paired = 100.0 * np.sqrt(seed_disagreement / n)
        out["seed_disagreement"] = seed_disagreement
        out["mdd_paired"] = minimum_detectable_difference(0, alpha=alpha, power=power,
                                                          paired_sd=paired)
    return out
