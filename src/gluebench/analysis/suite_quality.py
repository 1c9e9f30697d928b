"""``calibration`` and ``power`` on a suite run (SuperGLUE, FewGLUE, a user's suite).

As for GLUE (``analysis.quality``), everything comes from the run's saved dev outputs
(``outputs/<Entry>.npz``: each row's class probabilities and gold label, written for classify
tasks and for multiple choice among classes, COPA) and needs no model and no data folder.
The labels, metrics and resampling unit are the suite's. Power's bootstrap resamples
examples; an entry whose metric is defined over groups (MultiRC's paragraphs) has no group
ids in its outputs file, so it gets calibration and no power figure (said in ``skipped``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gluebench.analysis.calibration import classification_report
from gluebench.analysis.power import disagreement, minimum_detectable_difference
from gluebench.benchmark.grouped_stats import grouped_replicates
from gluebench.benchmark.metric_registry import Items, compute
from gluebench.benchmark.stats import rng_for
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.table import NO_GOLD


def entry_report(suite: Suite, name: str, saved: dict, seed_outputs: list[np.ndarray], *,
                 n_bins: int, alpha: float, power: float, n_resamples: int, seed: int
                 ) -> tuple[dict, dict | None]:
    """(calibration report, power row or None) of one entry's saved dev outputs."""
    entry = suite.entry(name)
    task = suite.task(entry.task)
    keep = saved["gold"] != NO_GOLD
    gold, outputs = saved["gold"][keep].astype(np.int64), saved["outputs"][keep]
    labels = list(task.label_names or task.labels)
    report = classification_report(gold, outputs, labels, n_bins=n_bins)
    if entry.resample != "example":
        return report, None
    items = Items(gold, outputs.argmax(axis=1), task.n_classes, {})
    reps = grouped_replicates(entry.metrics, items, n_resamples=n_resamples,
                              rng=rng_for(seed, f"power/{name}"))
    se = float(np.std(reps["score"], ddof=1))
    observed = 100.0 * float(np.mean(list(compute(entry.metrics, items).values())))
    row = {"n": len(gold), "baseline": observed, "se": se,
           "mdd": minimum_detectable_difference(se, alpha=alpha, power=power),
           "method": "unpaired: (z_{1-a/2} + z_{power}) * sqrt(2) * bootstrap SE"}
    paired = disagreement([o[keep].argmax(axis=1) for o in seed_outputs])
    if paired is not None and tuple(entry.metrics) == ("accuracy",):
        row["seed_disagreement"] = paired
        row["mdd_paired"] = minimum_detectable_difference(
            0, alpha=alpha, power=power, paired_sd=100.0 * np.sqrt(paired / len(gold)))
    return report, row


def seed_outputs(root: Path, name: str, load) -> list[np.ndarray]:
    """Every seed's saved dev outputs of the entry (for the seeds' disagreement)."""
    return [load(p)["outputs"] for p in sorted(root.glob(f"seeds/*/outputs/{name}.npz"))]
