"""Ties on a suite's board: neighbours a paired bootstrap of the suite score cannot separate.

As ``ties`` does for GLUE: for each aggregated entry both submissions are scored on, the
entry's unit (MultiRC: paragraphs; ReCoRD: queries; else examples) is resampled, the same
resample for both systems, and the score difference is averaged into the suite score's
difference exactly as the suite score is averaged (mean within a group, then over groups).
Entries beside the score (AX-b, AX-g) are not in it. Run by workers.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from gluebench.benchmark.grouped_stats import paired_score_replicates
from gluebench.benchmark.metric_registry import compute
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, rng_for
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_predictions import read_aligned
from gluebench.benchmark.suite_scoring import load_gold
from gluebench.server.db import Database, Submission
from gluebench.server.suite_host import unpack_zip

CACHED_SUBMISSIONS = 16


class SuiteItems:
    """Each stored submission's aggregated entries as metric items, by zip content."""

    def __init__(self, db: Database, suite: Suite, data_dir: str, split: str):
        self.db, self.suite, self.data_dir, self.split = db, suite, data_dir, split
        self._gold: dict = {}
        self._items: OrderedDict[str, dict] = OrderedDict()

    def gold(self, name: str):
        if name not in self._gold:
            self._gold[name] = load_gold(self.suite, self.suite.entry(name), self.split,
                                         self.data_dir)
        return self._gold[name]

    def get(self, sub_id: int) -> dict:
        with self.db.read() as session:
            data = session.get(Submission, sub_id).zip_data
        key = hashlib.sha256(data).hexdigest()
        if key not in self._items:
            self._items[key] = self._read(data)
        self._items.move_to_end(key)
        while len(self._items) > CACHED_SUBMISSIONS:
            self._items.popitem(last=False)
        return self._items[key]

    def _read(self, data: bytes) -> dict:
        out = {}
        with tempfile.TemporaryDirectory(prefix="gluebench-ties-") as tmp:
            unpack_zip(data, Path(tmp), self.suite, self.split)
            for name, entry in self.suite.entries.items():
                path = Path(tmp) / entry.submission_file
                if entry.group is None or not path.is_file():
                    continue
                try:
                    gold = self.gold(name)
                except Exception:  # noqa: BLE001 - no labels here: not in the comparison
                    continue
                out[name] = gold.items(read_aligned(self.suite, entry, gold, path))
        return out


def suite_difference(suite: Suite, items_a: dict, items_b: dict, *, n_resamples: int,
                     seed: int = 0) -> tuple[float, list[float]]:
    """Suite(A) - suite(B) over the entries both are scored on, and its paired 95% CI."""
    reps: dict[str, list[np.ndarray]] = {}
    observed: dict[str, list[float]] = {}
    for name, entry in suite.entries.items():
        if entry.group is None or name not in items_a or name not in items_b:
            continue
        a, b = items_a[name], items_b[name]
        diffs = paired_score_replicates(entry.metrics, a, b, resample=entry.resample,
                                        n_resamples=n_resamples, rng=rng_for(seed, name))
        reps.setdefault(entry.group, []).append(diffs)
        observed.setdefault(entry.group, []).append(_score(entry, a) - _score(entry, b))
    groups = [g for g in suite.aggregate.groups if g in reps]
    if not groups:
        return 0.0, [0.0, 0.0]
    replicates = np.mean([np.mean(reps[g], axis=0) for g in groups], axis=0)
    diff = float(np.mean([np.mean(observed[g]) for g in groups]))
    alpha = (1 - DEFAULT_CONFIDENCE) / 2
    lo, hi = np.quantile(replicates, [alpha, 1 - alpha])
    return diff, [float(lo), float(hi)]


def _score(entry, items) -> float:
    return 100.0 * float(np.mean(list(compute(entry.metrics, items).values())))
