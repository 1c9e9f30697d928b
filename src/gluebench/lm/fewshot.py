"""Demonstrations for few-shot prompts: seeded, optionally label-balanced, never the example.

One demonstration set per (task, seed) is shared by every evaluated example, so the
prompt prefix is the same for all of them (and its keys/values are computed once).
Demonstrations come from the task's train split; where a data source has none (MNLI,
QNLI and QQP here), from the evaluated dev split, and then an example that is itself a
demonstration gets a spare one in its place, so it is never shown its own answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gluebench.data import DataSource, Examples
from gluebench.errors import UsageError
from gluebench.tasks import TASKS, Task


@dataclass
class Demonstrations:
    pool: str                        # where they were drawn: "train" or "dev"
    rows: list[int]                  # positions in the pool split
    spare: int | None                # a further row, for an example that is a demonstration
    examples: Examples               # the pool split

    def for_example(self, split: str, row: int) -> list[int]:
        """The demonstration rows to show before example ``row`` of ``split``."""
        if split != self.pool or row not in self.rows:
            return self.rows
        return [self.spare if r == row else r for r in self.rows]

    def to_json(self) -> dict:
        ex = self.examples
        return {"pool": self.pool, "rows": self.rows, "spare": self.spare,
                "index": [int(ex.index[r]) for r in self.rows],
                "texts": [{f: ex.inputs[f][r] for f in ex.inputs} for r in self.rows]}


def demo_task(task: Task) -> Task:
    """The task whose examples demonstrate ``task`` (AX is demonstrated with MNLI's)."""
    return TASKS["MNLI"] if task.name == "AX" else task


def draw(source: DataSource, task: Task, shots: int, seed: int, *,
         balanced: bool = False) -> Demonstrations | None:
    """``shots`` demonstrations for ``task`` (None for 0-shot)."""
    if shots == 0:
        return None
    own = demo_task(task)
    pool = "train" if source.has(own, "train") else "dev"
    if not source.has(own, pool):
        raise UsageError(f"{task.name}: {shots}-shot needs {own.name} train or dev data in "
                         f"{source.description}")
    examples = source.load(own, pool)
    if len(examples) <= shots:
        raise UsageError(f"{own.name} {pool} has {len(examples)} examples; "
                         f"--shots {shots} needs more")
    rng = np.random.default_rng([seed, shots])
    order = _balanced_order(examples, rng) if balanced else rng.permutation(len(examples))
    rows = [int(r) for r in order[:shots + 1]]
    shown = rows[:shots]
    rng.shuffle(shown)   # label-balanced draws would otherwise show the classes in turn
    return Demonstrations(pool, shown, rows[shots], examples)


def _balanced_order(examples: Examples, rng: np.random.Generator) -> np.ndarray:
    """Rows taking each class in turn (STS-B: each rounded score), each class shuffled."""
    labels = np.rint(examples.labels).astype(int) if examples.task.is_regression \
        else examples.labels
    queues = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return np.asarray(out)
