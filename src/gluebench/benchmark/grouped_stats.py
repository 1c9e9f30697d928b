"""Bootstrap intervals and paired tests that resample the unit a metric is defined over.

A metric's statistics add up over its units (see ``metric_registry``), and so do they over
any coarser *resampling unit* that holds whole units: MultiRC's exact match is defined per
question, and a paragraph's statistics are the sum of its questions'. So each resampling
unit (cluster) becomes one row of summed statistics, and a bootstrap replicate — clusters
drawn with replacement — is ``finish(counts @ rows)``. Clusters with identical rows are
merged and their counts drawn from one multinomial, which is exactly the same distribution
and, for flat classification (one-hot confusion cells, at most k*k distinct rows), the
confusion-matrix fast path of ``gluebench.benchmark.stats``.

Which unit: the entry's ``resample`` in the suite. MultiRC resamples **paragraphs**, not
questions: the questions of a paragraph (11.5 on average in val) share its text and were
written by the same annotator, so their errors are correlated — a system that misreads a
passage fails several at once — and resampling questions as if independent makes the
interval too narrow. The paragraph is the unit the data were sampled by, and it holds
every question and answer option, so both MultiRC metrics share one resample. ReCoRD
resamples queries (one per passage in practice), AX-g minimal pairs (parity is defined per
pair; accuracy over both rows of each drawn pair), everything else examples.

The paired test swaps the two systems' predictions per cluster with probability 1/2
(approximate randomisation at the resampling unit); as in ``stats.paired_test``, identical
joint rows are merged and the number swapped drawn from a binomial.

Correlations (pearson, spearman) are not sums: they resample example indices, as
``gluebench.benchmark.stats`` does, and only with ``resample = "example"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from gluebench.benchmark.metric_registry import Items, Metric, check_items, get_metric
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, PairedResult, rng_for
from gluebench.errors import UsageError

_ELEMENTS_PER_CHUNK = 4_000_000  # bounds memory: a (chunk, clusters) array of 32 MB


def _chunks(total: int, width: int) -> Iterator[int]:
    size = max(1, _ELEMENTS_PER_CHUNK // max(width, 1))
    for start in range(0, total, size):
        yield min(size, total - start)


# ---- per-cluster statistics -------------------------------------------------------------

def cluster_stats(metrics: Sequence[Metric], items: Items, resample: str
                  ) -> tuple[np.ndarray, dict[str, slice]]:
    """(clusters, d) summed statistics of every metric, and each metric's columns."""
    clusters = items.unit_ids(resample)
    n_clusters = int(clusters.max(initial=-1)) + 1
    parts, columns, at = [], {}, 0
    for metric in metrics:
        check_items(metric, items)
        stats = metric.stats(items)
        owner = _unit_clusters(metric, items, clusters, resample)
        summed = np.zeros((n_clusters, stats.shape[1]))
        np.add.at(summed, owner, stats)
        parts.append(summed)
        columns[metric.name] = slice(at, at + stats.shape[1])
        at += stats.shape[1]
    return np.hstack(parts), columns


def _unit_clusters(metric: Metric, items: Items, clusters: np.ndarray, resample: str
                   ) -> np.ndarray:
    """(units,) the cluster of each of the metric's units; each unit must lie in one."""
    units = items.unit_ids(metric.unit)
    owner = np.full(int(units.max(initial=-1)) + 1, -1, dtype=np.int64)
    owner[units] = clusters
    split = np.flatnonzero(owner[units] != clusters)
    if len(split):
        raise UsageError(f"{metric.name}: a {metric.unit} spans two {resample} groups (row "
                         f"{int(split[0])}); the resampling unit must hold whole "
                         f"{metric.unit}s")
    return owner


def _values(metrics: Sequence[Metric], sums: np.ndarray, columns: dict[str, slice]
            ) -> dict[str, np.ndarray]:
    """Each metric (and the entry score, x100) from summed statistics: (..., d) -> (...)."""
    out = {m.name: m.finish(sums[..., columns[m.name]]) for m in metrics}
    out["score"] = 100.0 * np.mean([out[m.name] for m in metrics], axis=0)
    return out


def _metrics(names: Sequence[str]) -> list[Metric]:
    metrics = [get_metric(n) for n in names]
    if len({m.additive for m in metrics}) > 1:
        raise UsageError(f"metrics {', '.join(names)} mix correlations with counts")
    return metrics


# ---- bootstrap --------------------------------------------------------------------------

def grouped_replicates(names: Sequence[str], items: Items, *, resample: str = "example",
                       n_resamples: int = DEFAULT_RESAMPLES,
                       rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each metric (and the score) on ``n_resamples`` bootstrap resamples of ``resample``."""
    metrics = _metrics(names)
    if not metrics[0].additive:
        return _index_replicates(metrics, items, resample, n_resamples, rng)
    stats, columns = cluster_stats(metrics, items, resample)
    rows, counts = np.unique(stats, axis=0, return_counts=True)
    parts: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, len(rows)):
        draws = rng.multinomial(len(stats), counts / len(stats), size=size)  # (size, rows)
        for key, vals in _values(metrics, draws @ rows, columns).items():
            parts.setdefault(key, []).append(vals)
    return {k: np.concatenate(v) for k, v in parts.items()}


def _index_replicates(metrics, items: Items, resample: str, n_resamples: int, rng):
    if resample != "example":
        raise UsageError(f"{', '.join(m.name for m in metrics)} resample examples only, not "
                         f"'{resample}'")
    for metric in metrics:
        check_items(metric, items)
    gold, pred = np.asarray(items.gold, np.float64), np.asarray(items.pred, np.float64)
    parts: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, len(gold)):
        idx = rng.integers(0, len(gold), size=(size, len(gold)))
        values = {m.name: m.batched(gold[idx], pred[idx]) for m in metrics}
        values["score"] = 100.0 * np.mean(list(values.values()), axis=0)
        for key, vals in values.items():
            parts.setdefault(key, []).append(vals)
    return {k: np.concatenate(v) for k, v in parts.items()}


def _interval(samples: np.ndarray, confidence: float) -> list[float]:
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(samples, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def grouped_bootstrap_ci(names: Sequence[str], items: Items, *, resample: str = "example",
                         n_resamples: int = DEFAULT_RESAMPLES,
                         confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                         name: str = "") -> dict[str, list[float]]:
    """Percentile intervals for each metric and the entry's score (x100), shared resamples."""
    reps = grouped_replicates(names, items, resample=resample, n_resamples=n_resamples,
                              rng=rng_for(seed, name))
    return {k: _interval(v, confidence) for k, v in reps.items()}


# ---- paired -----------------------------------------------------------------------------

def _same_gold(a: Items, b: Items) -> None:
    same = (len(a) == len(b) and a.n_classes == b.n_classes
            and all(np.array_equal(x, y) for x, y in zip(a.gold, b.gold, strict=True))
            and a.groups.keys() == b.groups.keys()
            and all(np.array_equal(a.groups[k], b.groups[k]) for k in a.groups))
    if not same:
        raise UsageError("a paired comparison needs both systems scored on the same gold "
                         "items (same rows, labels and groups)")


def _paired_draws(metrics, a: Items, b: Items, resample: str, n_resamples: int, rng):
    """(bootstrap A-B, permuted |A-B|) per metric, from merged joint cluster rows."""
    stats_a, columns = cluster_stats(metrics, a, resample)
    stats_b, _ = cluster_stats(metrics, b, resample)
    d = stats_a.shape[1]
    rows, counts = np.unique(np.hstack([stats_a, stats_b]), axis=0, return_counts=True)
    rows_a, rows_b = rows[:, :d], rows[:, d:]
    boot: dict[str, list[np.ndarray]] = {}
    perm: dict[str, list[np.ndarray]] = {}
    for size in _chunks(n_resamples, len(rows)):
        draws = rng.multinomial(len(stats_a), counts / len(stats_a), size=size)
        va, vb = (_values(metrics, draws @ r, columns) for r in (rows_a, rows_b))
        swapped = rng.binomial(np.broadcast_to(counts, (size, len(counts))), 0.5)
        kept = counts - swapped
        pa = _values(metrics, kept @ rows_a + swapped @ rows_b, columns)
        pb = _values(metrics, kept @ rows_b + swapped @ rows_a, columns)
        for key in va:
            boot.setdefault(key, []).append(va[key] - vb[key])
            perm.setdefault(key, []).append(np.abs(pa[key] - pb[key]))
    return ({k: np.concatenate(v) for k, v in boot.items()},
            {k: np.concatenate(v) for k, v in perm.items()})


def _paired_by_index(metrics, a: Items, b: Items, n_resamples: int, rng):
    """The same two distributions for correlations: resample and swap example by example."""
    gold = np.asarray(a.gold, np.float64)
    pa, pb = np.asarray(a.pred, np.float64), np.asarray(b.pred, np.float64)
    boot: dict[str, list[np.ndarray]] = {}
    perm: dict[str, list[np.ndarray]] = {}
    n = len(gold)
    for size in _chunks(n_resamples, n):
        idx = rng.integers(0, n, size=(size, n))
        swap = rng.random((size, n)) < 0.5
        rows = np.broadcast_to(gold, (size, n))
        d_boot = {m.name: m.batched(gold[idx], pa[idx]) - m.batched(gold[idx], pb[idx])
                  for m in metrics}
        d_perm = {m.name: m.batched(rows, np.where(swap, pb, pa))
                  - m.batched(rows, np.where(swap, pa, pb)) for m in metrics}
        for d in (d_boot, d_perm):
            d["score"] = 100.0 * np.mean([d[m.name] for m in metrics], axis=0)
        for key in d_boot:
            boot.setdefault(key, []).append(d_boot[key])
            perm.setdefault(key, []).append(np.abs(d_perm[key]))
    return ({k: np.concatenate(v) for k, v in boot.items()},
            {k: np.concatenate(v) for k, v in perm.items()})


def grouped_paired_test(names: Sequence[str], items_a: Items, items_b: Items, *,
                        resample: str = "example", n_resamples: int = DEFAULT_RESAMPLES,
                        confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                        name: str = "") -> dict[str, PairedResult]:
    """System A minus B on the same gold items, resampling and swapping ``resample`` units.

    CI: paired bootstrap (both systems on the same resampled clusters). p-value: two-sided
    approximate randomisation, p = (1 + #{|d*| >= |d|}) / (1 + resamples).
    """
    _same_gold(items_a, items_b)
    metrics, rng = _metrics(names), rng_for(seed, name)
    if metrics[0].additive:
        boot, perm = _paired_draws(metrics, items_a, items_b, resample, n_resamples, rng)
    else:
        if resample != "example":
            raise UsageError(f"{', '.join(names)} resample examples only, not '{resample}'")
        boot, perm = _paired_by_index(metrics, items_a, items_b, n_resamples, rng)
    point_a = {m.name: m.value(items_a) for m in metrics}
    point_b = {m.name: m.value(items_b) for m in metrics}
    for point in (point_a, point_b):
        point["score"] = 100.0 * float(np.mean([point[m.name] for m in metrics]))
    out = {}
    for key in point_a:
        a, b = point_a[key], point_b[key]
        extreme = int((perm[key] >= abs(a - b) - 1e-12).sum())  # float noise must not decide
        out[key] = PairedResult(a, b, a - b, _interval(boot[key], confidence),
                                (1 + extreme) / (1 + n_resamples))
    return out


def paired_score_replicates(names: Sequence[str], items_a: Items, items_b: Items, *,
                            resample: str = "example", n_resamples: int = DEFAULT_RESAMPLES,
                            rng: np.random.Generator) -> np.ndarray:
    """Score(A) - score(B) (x100) on ``n_resamples`` paired bootstrap resamples of the
    ``resample`` unit: the replicates a suite-level paired CI averages across entries."""
    _same_gold(items_a, items_b)
    metrics = _metrics(names)
    if metrics[0].additive:
        boot, _ = _paired_draws(metrics, items_a, items_b, resample, n_resamples, rng)
    else:
        if resample != "example":
            raise UsageError(f"{', '.join(names)} resample examples only, not '{resample}'")
        boot, _ = _paired_by_index(metrics, items_a, items_b, n_resamples, rng)
    return boot["score"]
