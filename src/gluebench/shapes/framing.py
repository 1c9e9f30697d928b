"""A suite task's rows as encoder inputs: text pairs to classify, or options to choose among.

The shape is read from the task's definition, never from its name:

* **choose among input fields** — a task whose label names are input fields (COPA:
  ``label_names = ["choice1", "choice2"]``) is multiple choice: each row has one option per
  such field, paired with the row's other fields as context (COPA: the premise and the
  question word "cause"/"effect"); choosing option ``i`` predicts class ``i``.
* **choose among entities** — an ``entity`` task (ReCoRD) ranks the passage's candidate
  entities (the span list field, duplicates removed, first mention first): each option is
  the query with ``@placeholder`` filled by the entity, paired with the passage; the
  prediction is the chosen entity's text, and every option whose text is a gold answer is
  correct.
* **classify** — everything else is one text pair per row (MultiRC: one decision per answer
  option, each a row): the first text field, then the others joined by a space (so
  tokenizers truncate the long passage, never the question), without the offset fields.

**Spans are marked in the text** (WiC's target word in both sentences, WSC's noun phrase and
pronoun): the first span of a text is wrapped in ``*``, the second in ``#``. Markers keep
the model and its head unchanged — the same sequence classifier, the same pooled features
for the probe — and the encoder sees which words are meant in context; span pooling would
need a new head per task and a second code path for the probe. Entity markers of this kind
are the usual choice for relation classification (Baldini Soares et al., ACL 2019, "Matching
the Blanks"; their finding is about relation extraction, not measured here on SuperGLUE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gluebench.benchmark.suite import Span, TaskDef
from gluebench.benchmark.table import ExampleTable

MARKERS = (("*", "*"), ("#", "#"))   # the first and the second span of one text
PLACEHOLDER = "@placeholder"          # where an entity task's query takes a candidate


@dataclass
class Framed:
    """One table as encoder inputs.

    ``classify``: row ``i`` is the pair ``(first[i], second[i])`` (``second`` None: single
    texts); ``labels`` the table's gold (class ids, ``NO_GOLD``, scores) or None.
    ``choose``: option ``j`` is the pair ``(first[j], second[j])`` of row ``row_of[j]``;
    ``values[j]`` is what choosing it predicts (a class id, an entity text) and
    ``correct[j]`` whether it is (one of) the gold answer(s); options of a row are
    consecutive.
    """

    kind: Literal["classify", "choose"]
    n_rows: int
    first: list[str]
    second: list[str] | None
    labels: np.ndarray | None = None
    row_of: np.ndarray | None = None
    values: list | None = None
    correct: np.ndarray | None = None

    def columns(self) -> list[list[str]]:
        """The text columns an encoder tokenises (one, or two as pairs)."""
        return [self.first] if self.second is None else [self.first, self.second]

    def bounds(self) -> np.ndarray:
        """``choose``: (n_rows + 1,) offsets: row r's options are ``bounds[r]:bounds[r+1]``."""
        counts = np.bincount(self.row_of, minlength=self.n_rows)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def decide(self, scores) -> list:
        """``choose``: each row's prediction, its highest-scoring option's value (ties: first)."""
        scores, bounds = np.asarray(scores, dtype=float), self.bounds()
        return [self.values[bounds[r] + int(np.argmax(scores[bounds[r]:bounds[r + 1]]))]
                for r in range(self.n_rows)]


def shape_of(task: TaskDef) -> Literal["classify", "choose-fields", "choose-entities"]:
    if task.target == "entity":
        return "choose-entities"
    if choice_fields(task):
        return "choose-fields"
    return "classify"


def choice_fields(task: TaskDef) -> tuple[str, ...]:
    """The input fields a multiple-choice task chooses among (its label names), else ()."""
    names = task.label_names or ()
    if names and task.target == "class" and all(n in task.input_fields for n in names):
        return tuple(names)
    return ()


def frame(table: ExampleTable) -> Framed:
    """The table's rows as the encoder reads them (see the module docstring)."""
    shape = shape_of(table.task)
    if shape == "choose-entities":
        return _entities(table)
    if shape == "choose-fields":
        return _fields(table, choice_fields(table.task))
    texts = marked_texts(table)
    first = texts[0]
    second = ([" ".join(parts) for parts in zip(*texts[1:], strict=True)]
              if len(texts) > 1 else None)
    return Framed("classify", len(table), first, second, labels=table.labels)


def text_fields(task: TaskDef) -> list[str]:
    """The input fields that are text: not a span's offsets, span texts or entity lists."""
    hidden = {name for s in task.spans for name in (s.start, s.end, s.covers, s.list) if name}
    return [f for f in task.input_fields if f not in hidden]


def marked_texts(table: ExampleTable) -> list[list[str]]:
    """Each text field's column, with its spans wrapped in markers (``MARKERS``)."""
    task = table.task
    out = []
    for name in text_fields(task):
        spans = [s for s in task.spans if s.text == name and not s.list]
        column = [str(v) for v in table.inputs[name]]
        if spans:
            column = [_mark(text, [_extent(s, table, row, text) for s in spans])
                      for row, text in enumerate(column)]
        out.append(column)
    return out


def _extent(span: Span, table: ExampleTable, row: int, text: str) -> tuple[int, int]:
    """The span's character range in ``text`` (a token span: its tokens' characters)."""
    start = int(table.inputs[span.start][row])
    if span.unit == "char":
        if span.end:
            end = int(table.inputs[span.end][row]) + (1 if span.inclusive else 0)
        elif span.covers:
            end = start + len(str(table.inputs[span.covers][row]))
        else:
            end = start + 1
        return start, end
    length = len(str(table.inputs[span.covers][row]).split()) if span.covers else 1
    positions = _token_positions(text)
    last = min(start + max(length, 1), len(positions)) - 1
    return positions[start][0], positions[last][1]


def _token_positions(text: str) -> list[tuple[int, int]]:
    """(start, end) characters of each whitespace-separated token."""
    out, i = [], 0
    for token in text.split():
        i = text.index(token, i)
        out.append((i, i + len(token)))
        i += len(token)
    return out


def _mark(text: str, extents: list[tuple[int, int]]) -> str:
    """``text`` with extent k wrapped in ``MARKERS[k]`` (applied right to left)."""
    order = sorted(range(len(extents)), key=lambda k: extents[k][0], reverse=True)
    for k in order:
        start, end = extents[k]
        left, right = MARKERS[min(k, len(MARKERS) - 1)]
        text = f"{text[:start]}{left}{text[start:end]}{right}{text[end:]}"
    return text


def _fields(table: ExampleTable, fields: tuple[str, ...]) -> Framed:
    task = table.task
    context_fields = [f for f in text_fields(task) if f not in fields]
    first, second, row_of, values = [], [], [], []
    for row in range(len(table)):
        context = " ".join(str(table.inputs[f][row]) for f in context_fields)
        for i, name in enumerate(fields):
            first.append(context)
            second.append(str(table.inputs[name][row]))
            row_of.append(row)
            values.append(i)
    correct = None
    if table.labels is not None:
        correct = np.array([table.labels[r] == v for r, v in zip(row_of, values, strict=True)])
    return Framed("choose", len(table), first, second, row_of=np.array(row_of, dtype=np.int64),
                  values=values, correct=correct)


def _entities(table: ExampleTable) -> Framed:
    task = table.task
    span = next(s for s in task.spans if s.list)
    query_field = next(f for f in text_fields(task) if f != span.text)
    first, second, row_of, values, correct = [], [], [], [], []
    for row in range(len(table)):
        passage, query = str(table.inputs[span.text][row]), str(table.inputs[query_field][row])
        gold = set(table.answers[row]) if table.answers is not None else set()
        for entity in dict.fromkeys(str(e) for e in table.inputs[span.list][row]):
            filled = (query.replace(PLACEHOLDER, entity) if PLACEHOLDER in query
                      else f"{query} {entity}")
            first.append(filled)
            second.append(passage)
            row_of.append(row)
            values.append(entity)
            correct.append(entity in gold)
    return Framed("choose", len(table), first, second, row_of=np.array(row_of, dtype=np.int64),
                  values=values,
                  correct=np.array(correct, dtype=bool) if table.answers is not None else None)
