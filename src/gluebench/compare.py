"""Paired comparison of two prediction folders on the same gold data."""

from __future__ import annotations

import os
import warnings

from gluebench import SCHEMA_VERSION, __version__
from gluebench.data import DataSource
from gluebench.errors import DataError, GlueBenchWarning
from gluebench.scoring import load_gold, prediction_files, read_aligned
from gluebench.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, paired_test
from gluebench.tasks import BENCHMARKS


def compare_predictions(source: DataSource, a_dir: str | os.PathLike, b_dir: str | os.PathLike,
                        *, split: str = "dev", n_resamples: int = DEFAULT_RESAMPLES,
                        seed: int = 0) -> dict:
    """For each entry both folders predict: A - B per metric and score, CI and p-value."""
    files_a, files_b = prediction_files(a_dir), prediction_files(b_dir)
    shared = [n for n in files_a if n in files_b]
    for name in sorted(set(files_a) ^ set(files_b)):
        warnings.warn(f"{name}: predicted by only one of the two folders; not compared",
                      GlueBenchWarning, stacklevel=2)
    if not shared:
        raise DataError(b_dir, f"no prediction file in common with {a_dir}")
    tasks = {}
    for name in shared:
        b = BENCHMARKS[name]
        gold = load_gold(source, b, split)
        pa, pb = read_aligned(files_a[name], b, gold), read_aligned(files_b[name], b, gold)
        result = paired_test(b.metrics, gold.labels, pa, pb, n_resamples=n_resamples,
                             seed=seed, name=name)
        tasks[name] = {k: v.to_dict() for k, v in result.items()} | {"n": len(gold)}
    return {
        "schema_version": SCHEMA_VERSION, "gluebench_version": __version__, "split": split,
        "a": str(a_dir), "b": str(b_dir), "data_source": source.description,
        "test": {"ci": "paired percentile bootstrap", "p_value": "paired permutation, two-sided",
                 "n_resamples": n_resamples, "confidence": DEFAULT_CONFIDENCE, "seed": seed},
        "tasks": tasks,
    }
