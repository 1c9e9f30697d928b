"""Demonstrations for few-shot prompts: seeded, optionally label-balanced, never the example.

One demonstration set per (task, seed) is shared by every evaluated example, so the
prompt prefix is the same for all of them (and its keys/values are computed once).
Demonstrations come from the task's train split; where a data source has none (MNLI,
QNLI and QQP here), from the dev split, and an example that is itself a demonstration
gets a spare one in its place, so it is never shown its own answer.

A draw is plain JSON (saved in the run), so a prompted run can be rebuilt without data.
"""

from __future__ import annotations

import numpy as np

from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.tasks import Task, model_task
from gluebench.errors import UsageError


def demo_task(task: Task) -> Task:
    """The task whose examples demonstrate ``task`` (AX is demonstrated with MNLI's)."""
    return model_task(task)


def choice_of(task: Task, label) -> int:
    """The answer choice a gold label is shown as (STS-B: the nearest whole score)."""
    if task.is_regression:
        return int(np.clip(np.rint(label), *task.score_range))
    return int(label)


def check(source: DataSource, task: Task, shots: int) -> None:
    """What ``draw`` would refuse (too few examples to draw from), found before a run starts."""
    if shots:
        _pool(source, task, shots)


def _pool(source: DataSource, task: Task, shots: int) -> tuple[Examples, str]:
    """The examples demonstrations are drawn from, and their split; enough for ``shots`` + 1."""
    own = demo_task(task)
    split = "train" if source.has(own, "train") else "dev"
    if not source.has(own, split):
        raise UsageError(f"{task.name}: {shots}-shot needs {own.name} train or dev data in "
                         f"{source.description}")
    examples = source.load(own, split)
    if split == "dev":   # dev prediction files use the 0-based row as the index
        examples.index = np.arange(len(examples), dtype=np.int64)
    if len(examples) <= shots:
        raise UsageError(f"{own.name} {split} has {len(examples)} examples; --shots {shots} "
                         f"needs more (at most {len(examples) - 1})")
    return examples, split


def draw(source: DataSource, task: Task, shots: int, seed: int, *,
         balanced: bool = False) -> dict | None:
    """``shots`` demonstrations for ``task`` (None for 0-shot): pool, shots, spare."""
    if shots == 0:
        return None
    examples, split = _pool(source, task, shots)
    own = demo_task(task)
    rng = np.random.default_rng([seed, shots])
    order = _balanced_order(examples, rng) if balanced else rng.permutation(len(examples))
    rows = [int(r) for r in order[:shots + 1]]
    shown = rows[:shots]
    rng.shuffle(shown)   # a balanced draw would otherwise show the classes in turn
    return {"pool": f"{own.name}/{split}", "balanced": balanced, "seed": seed,
            "shots": [_demo(examples, r) for r in shown], "spare": _demo(examples, rows[shots])}


def for_example(demos: dict, task: Task, split: str, index: int) -> list[dict]:
    """The demonstrations shown before one example (the spare replaces the example itself)."""
    if demos["pool"] != f"{demo_task(task).name}/{split}" or demo_task(task).name != task.name:
        return demos["shots"]
    return [demos["spare"] if d["index"] == index else d for d in demos["shots"]]


def _demo(examples: Examples, row: int) -> dict:
    return {"index": int(examples.index[row]),
            "inputs": {f: examples.inputs[f][row] for f in examples.inputs},
            "choice": choice_of(examples.task, examples.labels[row])}


def _balanced_order(examples: Examples, rng: np.random.Generator) -> np.ndarray:
    """Rows taking each class in turn (STS-B: each rounded score), each class shuffled."""
    labels = np.array([choice_of(examples.task, y) for y in examples.labels])
    queues = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return np.asarray(out)
