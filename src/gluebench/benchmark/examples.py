"""The examples of one split of one task, and the protocol every data source follows.

Kept apart from ``data`` (directories, the sample) so that other sources (``hf_data``)
can build ``Examples`` without importing the module that chooses between sources.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gluebench.benchmark.tasks import Task

HOLDOUT_STREAM = 7  # a separate random stream for held-out parts (see Examples.split_off)


@dataclass
class Examples:
    """The examples of one split of one task, in file order."""

    task: Task
    split: str                       # key into task.files ("dev", "dev_mismatched", ...)
    source: str                      # where they came from, for reports
    index: np.ndarray                # (n,) int64: the official index of each example
    inputs: dict[str, list[str]]     # task.input_fields -> (n,) texts
    labels: np.ndarray | None        # (n,) int64 class ids, float64 scores, or None
    meta: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    def take(self, rows: np.ndarray) -> Examples:
        """The examples at positions ``rows`` (e.g. a seeded subsample), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        pick = lambda values: [values[i] for i in rows]  # noqa: E731
        return Examples(self.task, self.split, self.source, self.index[rows],
                        {k: pick(v) for k, v in self.inputs.items()},
                        None if self.labels is None else self.labels[rows],
                        {k: pick(v) for k, v in self.meta.items()})

    def fingerprint(self) -> str:
        """A hash of exactly these examples: indices, texts and labels (what a score rests on)."""
        digest = hashlib.sha256(f"{self.task.name}|{self.split}|{len(self)}|".encode())
        digest.update(np.ascontiguousarray(self.index, dtype=np.int64).tobytes())
        for name in sorted(self.inputs):
            digest.update(name.encode() + b"\x1e" + "\x1f".join(self.inputs[name]).encode())
        if self.labels is not None:
            digest.update(np.ascontiguousarray(self.labels).tobytes())
        return digest.hexdigest()[:32]

    def subsample(self, n: int | None, seed: int) -> Examples:
        """A seeded random subset of ``n`` examples in file order (all when ``n`` >= size)."""
        if n is None or n >= len(self):
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.take(rows)

    def stratified_subsample(self, n: int | None, seed: int) -> Examples:
        """``subsample`` keeping each class's share of the examples (``class_quotas``).

        For class ids only; scores (STS-B) and unlabelled splits get ``subsample``.
        """
        if n is None or n >= len(self) or self.labels is None or self.task.is_regression:
            return self.subsample(n, seed)
        classes, of_class, counts = np.unique(self.labels, return_inverse=True,
                                              return_counts=True)
        rng = np.random.default_rng(seed)
        rows = [rng.choice(np.flatnonzero(of_class == c), size=q, replace=False)
                for c, q in enumerate(class_quotas(counts, n))]
        return self.take(np.sort(np.concatenate(rows)))

    def split_off(self, fraction: float, seed: int) -> tuple[Examples, Examples]:
        """(rest, held out): a seeded ``fraction`` of the examples held out, both in file order.

        At least one example on each side (needs 2 or more). The generator differs from
        ``subsample``'s, so the held-out part is not what a smaller subsample would pick.
        """
        n_out = min(len(self) - 1, max(1, round(fraction * len(self))))
        out = np.zeros(len(self), dtype=bool)
        out[np.random.default_rng([seed, HOLDOUT_STREAM]).choice(len(self), n_out,
                                                                 replace=False)] = True
        return self.take(np.flatnonzero(~out)), self.take(np.flatnonzero(out))


def class_quotas(counts: np.ndarray, n: int) -> np.ndarray:
    """How many of each class a stratified sample of ``n`` takes (``n`` <= the total).

    Proportional to ``counts`` by largest remainders (each quota within one of
    ``n * count / total``), with at least one of every class when ``n`` allows: a class
    too rare for its share would vanish otherwise, so it takes one from the largest surplus.
    """
    counts = np.asarray(counts, dtype=np.int64)
    exact = n * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    if n >= len(counts):
        quota = np.maximum(quota, 1)
    while quota.sum() > n:                       # the rare classes' ones, paid back
        surplus = np.where(quota > 1, quota - exact, -np.inf)
        quota[np.argmax(surplus)] -= 1
    short = n - quota.sum()
    by_remainder = np.lexsort((-counts, -(exact - quota)))   # largest remainder first
    quota[by_remainder[:short]] += 1
    return quota


class DataSource(Protocol):
    """Where GLUE examples come from: a directory, the hub, the bundled sample."""

    description: str

    def has(self, task: Task, split: str) -> bool: ...

    def load(self, task: Task, split: str) -> Examples: ...
