"""One split of one task as a flat table of examples, whatever format its file is in.

Every reader (TSV, JSON lines; flat or nested like MultiRC) produces an ``ExampleTable``:
one row per example (a MultiRC answer option, a ReCoRD query), its official id (the
``idx``/``index`` value, or the row position), inputs by the task's field names, gold
labels as ids into the task's vocabulary, and group ids that tie rows together (MultiRC:
``paragraph`` and ``question``; ReCoRD: ``query``; AX-g: ``pair``).

Gold tokens are read as the task says (``gold_label``): the exact vocabulary token; for a
``("false", "true")`` vocabulary also JSON booleans and "true"/"false" in any case, since
copies of the SuperGLUE files differ; a JSON integer as its decimal token (COPA's 0/1);
a token listed in the task's ``unscored`` (OCNLI's "-") as ``NO_GOLD``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gluebench.benchmark.metric_registry import Items
from gluebench.benchmark.suite import TaskDef
from gluebench.formats.fields import parse_number, quote

NO_GOLD = -1          # a row whose gold token is in the task's ``unscored`` list
BOOLEAN_LABELS = ("false", "true")


@dataclass
class ExampleTable:
    """The examples of one file, in file order (nested rows in reading order)."""

    task: TaskDef
    split: str                               # key into task.files ("dev", "dev32", ...)
    source: str                              # the file, for messages and reports
    ids: np.ndarray                          # (n,) int64 official ids (idx, index, position)
    inputs: dict[str, list]                  # input field -> (n,) texts, ints (span offsets)
    labels: np.ndarray | None                # (n,) int64 ids (NO_GOLD: not scored) / float64
    answers: list[tuple[str, ...]] | None = None   # entity tasks: each row's gold answer texts
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n,) int64 ids
    meta: dict[str, list[str]] = field(default_factory=dict)     # kept columns ("" if absent)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_gold(self) -> bool:
        return self.labels is not None or self.answers is not None

    def take(self, rows) -> ExampleTable:
        """The table of ``rows`` (positions, in the order given): a subsample keeps file order
        when ``rows`` is sorted, and each row its official id and group ids."""
        rows = np.asarray(rows, dtype=np.int64)
        return ExampleTable(
            task=self.task, split=self.split, source=self.source, ids=self.ids[rows],
            inputs={k: [v[i] for i in rows] for k, v in self.inputs.items()},
            labels=None if self.labels is None else self.labels[rows],
            answers=None if self.answers is None else [self.answers[i] for i in rows],
            groups={k: v[rows] for k, v in self.groups.items()},
            meta={k: [v[i] for i in rows] for k, v in self.meta.items()})

    def scored(self) -> np.ndarray:
        """(n,) whether each row has a gold label (OCNLI's "-" rows do not)."""
        if self.labels is None or self.task.target != "class":
            return np.full(len(self), self.has_gold)
        return self.labels != NO_GOLD

    def items(self, pred) -> Items:
        """The scored rows as metric items: gold, ``pred`` (in this table's row order: class
        ids, scores or entity texts) and the group ids; unscored rows (NO_GOLD) left out."""
        if not self.has_gold:
            raise ValueError(f"{self.source}: no gold labels to score against")
        if len(pred) != len(self):
            raise ValueError(f"{len(pred)} predictions for {len(self)} rows of {self.source}")
        keep = np.flatnonzero(self.scored())
        gold = ([self.answers[i] for i in keep] if self.answers is not None
                else self.labels[keep])
        picked = [pred[i] for i in keep] if isinstance(pred, list) else np.asarray(pred)[keep]
        return Items(gold, picked, self.task.n_classes,
                     {name: ids[keep] for name, ids in self.groups.items()})


def label_token(value) -> str:
    """A gold or predicted value as a vocabulary token: JSON true -> "true", 1 -> "1"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    kind = "null" if value is None else type(value).__name__
    raise ValueError(f"label is a {kind}; expected a string, a boolean or a whole number")


def gold_label(task: TaskDef, value, what: str = "label") -> int | float:
    """A gold value as a class id into ``task.labels`` (NO_GOLD if unscored), or a score.

    Strict: the exact token (no surrounding spaces); a score is a plain decimal or a JSON
    number. Raises ValueError saying what was expected; ``what`` names the value.
    """
    if task.target == "score":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)  # a JSON number: finite (the JSON reader refuses NaN)
        if not isinstance(value, str):
            raise ValueError(f"{what} is not a number; expected a finite score")
        return parse_number(value, what)
    token = label_token(value)
    if token in task.unscored:
        return NO_GOLD
    return class_id(task, token)


def class_id(task: TaskDef, token: str) -> int:
    """The id of a label token in the task's vocabulary; ValueError listing the vocabulary."""
    labels = task.labels
    if token in labels:
        return labels.index(token)
    if labels == BOOLEAN_LABELS and token.lower() in labels:
        return labels.index(token.lower())
    expected = ", ".join(labels)
    if token.strip() in labels:
        raise ValueError(f"label {quote(token)} has whitespace around it; expected exactly one "
                         f"of: {expected}")
    raise ValueError(f"unknown label {quote(token)}; expected one of: {expected}")
