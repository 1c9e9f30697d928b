"""Comparing two systems' prediction folders on any suite: A - B per entry, paired.

The suite counterpart of ``comparison.compare_predictions`` (GLUE's path, unchanged).
For each entry both folders predict: every metric and the entry score of A and B, the
difference with a paired bootstrap CI and an approximate-randomisation p-value, both
resampling the entry's ``resample`` unit (MultiRC: paragraphs; AX-g: minimal pairs;
ReCoRD: queries; see ``grouped_stats``), and Holm's adjustment of the score p-values
across the compared entries (family-wise error).
"""

from __future__ import annotations

import os
import warnings

from gluebench.about import SCHEMA_VERSION, __version__
from gluebench.benchmark.grouped_stats import grouped_paired_test
from gluebench.benchmark.seed_stats import holm
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_predictions import prediction_files, read_aligned
from gluebench.benchmark.suite_scoring import load_gold
from gluebench.errors import DataError, GlueBenchWarning

TEST = {"ci": "paired bootstrap, percentile, resampling the entry's unit",
        "p_value": "two-sided approximate randomisation, swapping the systems per unit",
        "p_holm": "Holm step-down over the compared entries' score p-values"}


def compare_suite_predictions(suite: Suite, data_dir: str | os.PathLike, a_dir, b_dir, *,
                              split: str = "dev", n_resamples: int = DEFAULT_RESAMPLES,
                              seed: int = 0) -> dict:
    """A - B for every entry both folders predict (see the module docstring)."""
    files_a, files_b = prediction_files(suite, a_dir), prediction_files(suite, b_dir)
    for name in [n for n in suite.entries if (n in files_a) != (n in files_b)]:
        warnings.warn(f"{name}: predicted by only one of the two folders; not compared",
                      GlueBenchWarning, stacklevel=2)
    shared = [n for n in suite.entries if n in files_a and n in files_b]
    if not shared:
        raise DataError(b_dir, f"no prediction file in common with {a_dir}")
    # Read and check every file before any resampling: a bad file fails first.
    read = {}
    for name in shared:
        entry = suite.entry(name)
        gold = load_gold(suite, entry, split, data_dir)
        read[name] = (entry, gold.items(read_aligned(suite, entry, gold, files_a[name])),
                      gold.items(read_aligned(suite, entry, gold, files_b[name])))
    tasks = {name: _entry(entry, a, b, n_resamples, seed)
             for name, (entry, a, b) in read.items()}
    for name, p in zip(tasks, holm([t["score"]["p_value"] for t in tasks.values()]),
                       strict=True):
        tasks[name]["score"]["p_holm"] = p
    return {"schema_version": SCHEMA_VERSION, "gluebench_version": __version__,
            "suite": {"name": suite.name, "title": suite.title, "sha256": suite.sha256},
            "split": split, "a": str(a_dir), "b": str(b_dir),
            "data_source": str(suite.data_folder(data_dir)),
            "test": {**TEST, "n_resamples": n_resamples, "confidence": DEFAULT_CONFIDENCE,
                     "seed": seed},
            "tasks": tasks}


def _entry(entry, items_a, items_b, n_resamples: int, seed: int) -> dict:
    result = grouped_paired_test(entry.metrics, items_a, items_b, resample=entry.resample,
                                 n_resamples=n_resamples, seed=seed, name=entry.name)
    out = {key: r.to_dict() for key, r in result.items()}
    units = items_a.unit_ids(entry.resample) if entry.resample != "example" else None
    return {**out, "n": len(items_a), "resample": entry.resample,
            "n_units": int(units.max(initial=-1)) + 1 if units is not None else len(items_a)}
