"""A suite task's rows as a probe's inputs: frozen features, head targets, and back to predictions.

The rows are framed as a fine-tuned encoder reads them (``gluebench.shapes.framing``): a
text pair per row (``classify``; WiC/WSC with their spans marked ``*``/``#``, MultiRC one
row per answer option), or one pair per option (``choose``: COPA's two alternatives with
the premise and "cause"/"effect", ReCoRD's candidate entities filling ``@placeholder``,
paired with the passage). Each distinct text is embedded once by the frozen encoder, and a
pair's features are those of GLUE's pairs, ``[u, v, |u - v|, u * v]`` (single texts: ``u``).

The head learns, per item (a row, or an option):

* ``classify``: the task's class (``target = "score"``: its score, a ridge head);
* ``choose``: whether the option is right (``OPTION_LABELS``), a binary head on the options;
  each row's prediction is its option with the highest probability of being right
  (``Framed.decide``) - a COPA row's class, a ReCoRD query's entity text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gluebench.benchmark.metric_registry import compute
from gluebench.benchmark.suite import Entry, TaskDef
from gluebench.benchmark.table import NO_GOLD, ExampleTable
from gluebench.probe.heads import pair_features
from gluebench.shapes.framing import Framed, shape_of

OPTION_LABELS = ("wrong", "right")   # a choose task's head: is this option the answer?


@dataclass(frozen=True)
class HeadTask:
    """What ``probe.heads`` needs to know of the problem a head learns (a GLUE ``Task``'s
    ``name``, ``labels`` and ``is_regression``)."""

    name: str
    labels: tuple[str, ...]
    is_regression: bool = False


def head_task(task: TaskDef) -> HeadTask:
    """The head's problem: the task's classes, its score, or an option right or wrong."""
    if frame_kind(task) == "choose":
        return HeadTask(f"{task.name} options", OPTION_LABELS)
    if task.is_regression:
        return HeadTask(task.name, ("score",), is_regression=True)
    return HeadTask(task.name, tuple(task.labels or ()))


def frame_kind(task: TaskDef) -> str:
    return "classify" if shape_of(task) == "classify" else "choose"


def texts_of(framed: Framed) -> list[str]:
    """Every text the encoder embeds for this table (both sides of each pair)."""
    return [t for column in framed.columns() for t in column]


class FeatureTable:
    """Vectors of distinct texts, looked up by text: a framed table's features."""

    def __init__(self, texts: list[str], vectors: np.ndarray):
        self.row = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def features(self, framed: Framed) -> np.ndarray:
        """(items, features): u for single texts, [u, v, |u - v|, u * v] for pairs."""
        columns = [self.vectors[[self.row[t] for t in column]] for column in framed.columns()]
        return columns[0] if len(columns) == 1 else pair_features(*columns)


def item_targets(framed: Framed) -> tuple[np.ndarray, np.ndarray]:
    """(the items with a target, their targets): classes or scores; option right (1) or not."""
    if framed.kind == "choose":
        return np.arange(len(framed.first)), framed.correct.astype(np.int64)
    labels = np.asarray(framed.labels)
    keep = np.flatnonzero(labels != NO_GOLD) if labels.dtype.kind in "iu" \
        else np.arange(len(labels))
    return keep, labels[keep]


def predictions(task: TaskDef, framed: Framed, scores: np.ndarray) -> tuple[list | np.ndarray,
                                                                          np.ndarray | None]:
    """(each row's prediction, its (rows, classes) probabilities or None) from a head's
    ``scores`` (log-probabilities per item; a ridge head's (items, 1) scores)."""
    if task.is_regression:
        return scores[:, 0], None
    if framed.kind == "classify":
        return np.argmax(scores, axis=1), _softmax(scores)
    right = scores[:, 1]                       # log P(option is right)
    chosen = framed.decide(right)
    if task.target == "entity":
        return chosen, None
    # Choosing among fields (COPA): the options' P(right), normalised per row, as class
    # probabilities (row r's column i: option i); each row has one option per class.
    per_row = right.reshape(framed.n_rows, -1)
    return np.asarray(chosen, dtype=np.int64), _softmax(per_row)


def official_score(entry: Entry, table: ExampleTable, pred) -> float:
    """The entry's score (x100, the mean of its metrics) without a bootstrap: for selection."""
    values = compute(entry.metrics, table.items(pred))
    return 100.0 * float(np.mean(list(values.values())))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
