"""Seed-aware tests and intervals on a metric's resampling unit (any suite's entries).

``seed_stats`` does this for GLUE's flat metrics, resampling examples; here every seed's
items are turned into per-cluster statistics (``grouped_stats.cluster_stats``: MultiRC
paragraphs, AX-g pairs, ReCoRD queries, else examples) and the bootstrap draws the *same*
clusters for every seed of both recipes, so what the seeds share cancels as it does in the
data. The variance of the difference of seed means and its t test are ``seed_stats``'s
(``seed_variance``, ``t_result``): the examples' (here: the clusters') part plus each side's
seed variance beyond its own resampling noise, Welch-Satterthwaite df.

Identical joint cluster rows (the statistics of every seed in one row) are merged and their
counts drawn from one multinomial: the same distribution as drawing clusters one by one.
Correlations (not sums) resample examples through ``seed_stats`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gluebench.benchmark.grouped_stats import _chunks, _metrics, _values, cluster_stats
from gluebench.benchmark.metric_registry import Items
from gluebench.benchmark.seed_stats import (
    SeedPairedResult,
    _seed_specific,
    mean_sd,
    seed_interval,
    seed_paired_test,
    seed_variance,
    t_result,
)
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, rng_for
from gluebench.errors import UsageError


def per_seed_scores(names: Sequence[str], seeds: Sequence[Items]) -> dict[str, np.ndarray]:
    """Each metric (and the score, x100) of every seed's items: ``(seeds,)`` arrays."""
    metrics = _metrics(names)
    values = {m.name: np.array([m.value(items) for items in seeds]) for m in metrics}
    values["score"] = 100.0 * np.mean([values[m.name] for m in metrics], axis=0)
    return values


def common_cluster_resamples(names: Sequence[str], seeds: Sequence[Items], resample: str,
                             n_resamples: int, rng: np.random.Generator
                             ) -> dict[str, np.ndarray]:
    """Each metric of every seed on bootstrap resamples of ``resample`` clusters shared by
    all seeds: ``(n_resamples, seeds)`` arrays."""
    metrics = _metrics(names)
    parts = [cluster_stats(metrics, items, resample) for items in seeds]
    columns, width = parts[0][1], parts[0][0].shape[1]
    if any(len(p) != len(parts[0][0]) for p, _ in parts):
        raise UsageError("every seed must be scored on the same clusters")
    joint = np.hstack([p for p, _ in parts])                  # (clusters, seeds * d)
    rows, counts = np.unique(joint, axis=0, return_counts=True)
    out: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, len(rows) * len(seeds)):
        summed = rng.multinomial(len(joint), counts / len(joint), size=size) @ rows
        per_seed = [_values(metrics, summed[:, s * width:(s + 1) * width], columns)
                    for s in range(len(seeds))]
        for key in per_seed[0]:
            out.setdefault(key, []).append(np.stack([v[key] for v in per_seed], axis=1))
    return {key: np.concatenate(v) for key, v in out.items()}


def _flat(names: Sequence[str], resample: str) -> bool:
    """Correlations: ``seed_stats``'s example resampling (they are not sums over units)."""
    if _metrics(names)[0].additive:
        return False
    if resample != "example":
        raise UsageError(f"{', '.join(names)} resample examples only, not '{resample}'")
    return True


def grouped_seed_paired_test(
    names: Sequence[str], seeds_a: Sequence[Items], seeds_b: Sequence[Items], *,
    resample: str = "example", n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE, seed: int = 0, name: str = "",
) -> dict[str, SeedPairedResult]:
    """Recipe A (its seeds' items) minus recipe B on the same gold items, seed-aware, the
    bootstrap drawing ``resample`` clusters (see the module docstring)."""
    if _flat(names, resample):
        gold = np.asarray(seeds_a[0].gold)
        return seed_paired_test(names, gold, np.stack([np.asarray(i.pred) for i in seeds_a]),
                                np.stack([np.asarray(i.pred) for i in seeds_b]),
                                n_resamples=n_resamples, confidence=confidence, seed=seed,
                                name=name)
    s_a = len(seeds_a)
    obs_a, obs_b = per_seed_scores(names, seeds_a), per_seed_scores(names, seeds_b)
    reps = common_cluster_resamples(names, [*seeds_a, *seeds_b], resample, n_resamples,
                                    rng_for(seed, name))
    out = {}
    for key, r in reps.items():
        ra, rb = r[:, :s_a], r[:, s_a:]
        var = seed_variance(float(np.var(ra.mean(axis=1) - rb.mean(axis=1), ddof=1)),
                            (obs_a[key], _seed_specific(ra)), (obs_b[key], _seed_specific(rb)))
        a, b = float(obs_a[key].mean()), float(obs_b[key].mean())
        ci, p = t_result(a - b, var, confidence)
        out[key] = SeedPairedResult(a, b, a - b, ci, p, mean_sd(obs_a[key])[1],
                                    mean_sd(obs_b[key])[1], var.se, var.df)
    return out


def grouped_seed_interval(
    names: Sequence[str], seeds: Sequence[Items], *, resample: str = "example",
    n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0, name: str = "",
) -> dict[str, dict]:
    """Each metric's (and the score's) mean over seeds with its seed-aware CI; with one
    seed the percentile bootstrap of the clusters (``grouped_stats``)."""
    if _flat(names, resample):
        return seed_interval(names, np.asarray(seeds[0].gold),
                             np.stack([np.asarray(i.pred) for i in seeds]),
                             n_resamples=n_resamples, confidence=confidence, seed=seed,
                             name=name)
    obs = per_seed_scores(names, seeds)
    reps = common_cluster_resamples(names, seeds, resample, n_resamples, rng_for(seed, name))
    out = {}
    for key, r in reps.items():
        mean = float(obs[key].mean())
        if len(seeds) == 1:
            alpha = (1.0 - confidence) / 2.0
            ci = [float(q) for q in np.quantile(r[:, 0], [alpha, 1.0 - alpha])]
        else:
            var = seed_variance(float(np.var(r.mean(axis=1), ddof=1)),
                                (obs[key], _seed_specific(r)))
            ci = t_result(mean, var, confidence)[0]
        out[key] = {"mean": mean, "sd": mean_sd(obs[key])[1], "ci": ci, "seeds": len(seeds),
                    "n": len(seeds[0])}
    return out
