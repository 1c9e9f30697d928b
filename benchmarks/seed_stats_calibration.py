"""Are multi-seed comparisons calibrated? False-positive rate and power, old test vs new.

Simulates studies of two recipes on an RTE-sized dev set (277 examples, 3 seeds each, seed
sd ~4.5 points; the model is in ``tests/seed_support.py``; ``--examples`` and ``--seeds``
change the shape) and counts how often each test says p < 0.05:

- ``pooled``: what sweeps and studies did before issue 22: every (seed, example) pair one
  observation of ``stats.paired_test`` (paired permutation test);
- ``two-level bootstrap``: seeds resampled with replacement within each recipe, examples
  with the same indices for every seed; p from the centred bootstrap distribution;
- ``welch``: Welch's t on the per-seed scores alone (scipy);
- ``seed-aware``: ``seed_stats.seed_paired_test`` (what gluebench uses now).

    python benchmarks/seed_stats_calibration.py --studies 2000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/seed_support.py

from gluebench.benchmark.seed_stats import common_resamples, seed_paired_test  # noqa: E402
from gluebench.benchmark.stats import paired_test  # noqa: E402
from tests.seed_support import recipe_studies  # noqa: E402

ACC = ("accuracy",)


def pooled(gold, a, b, resamples, i):
    return paired_test(ACC, np.tile(gold, len(a)), a.ravel(), b.ravel(),
                       n_resamples=resamples, seed=i)["score"].p_value


def two_level_bootstrap(gold, a, b, resamples, i):
    rng = np.random.default_rng(i)
    reps = common_resamples(ACC, gold, np.concatenate([a, b]), resamples, rng)["score"]
    s = len(a)
    pick_a, pick_b = rng.integers(0, s, (resamples, s)), rng.integers(0, len(b), (resamples, s))
    boot = (np.take_along_axis(reps[:, :s], pick_a, 1).mean(1)
            - np.take_along_axis(reps[:, s:], pick_b, 1).mean(1))
    d = 100 * ((a == gold).mean() - (b == gold).mean())
    return (1 + np.sum(np.abs(boot - d) >= abs(d) - 1e-12)) / (1 + resamples)


def welch(gold, a, b, resamples, i):
    return sps.ttest_ind((a == gold).mean(axis=1), (b == gold).mean(axis=1),
                         equal_var=False).pvalue


def seed_aware(gold, a, b, resamples, i):
    return seed_paired_test(ACC, gold, a, b, n_resamples=resamples, seed=i)["score"].p_value


TESTS = {"pooled (before)": pooled, "two-level bootstrap": two_level_bootstrap,
         "welch (seed scores)": welch, "seed-aware (now)": seed_aware}


def p_values(test, gold, pred, resamples) -> np.ndarray:
    return np.array([test(gold[i], pred[i, 0], pred[i, 1], resamples, i)
                     for i in range(len(gold))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--examples", type=int, default=277, help="dev set size (RTE: 277)")
    parser.add_argument("--gap", type=float, default=0.15, help="accuracy gap for power")
    args = parser.parse_args()
    k = args.studies
    print(f"{k} simulated studies per column, {args.seeds} seeds per recipe, "
          f"{args.examples} examples, "
          f"{args.resamples} resamples; binomial sd at 5%: {np.sqrt(0.05 * 0.95 / k):.3f}")
    print(f"{'test':22s} {'p<0.05 (null)':>14s} {'p<0.01 (null)':>14s} "
          f"{'power (gap %g)' % (100 * args.gap):>15s}")
    null = recipe_studies(k, seeds=args.seeds, n=args.examples, rng_seed=100)
    alt = recipe_studies(k, seeds=args.seeds, n=args.examples, gap=args.gap, rng_seed=200)
    for name, test in TESTS.items():
        start = time.perf_counter()
        fp, power = p_values(test, *null, args.resamples), p_values(test, *alt, args.resamples)
        print(f"{name:22s} {np.mean(fp < 0.05):14.3f} {np.mean(fp < 0.01):14.3f} "
              f"{np.mean(power < 0.05):15.3f}   ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
