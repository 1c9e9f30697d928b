"""Writing one entry's predictions in its suite's submission format (``BoolQ.jsonl`` ...).

The inverse of ``suite_predictions``: what this writes, ``score --suite`` reads unchanged.
``jsonl``: ``{id_field: ID, label_field: LABEL}`` lines; an entry listed in ``nested``
(SuperGLUE's MultiRC) one line per data line with its rows nested as in the data file:
``{"idx": p, "passage": {"questions": [{"idx": q, "answers": [{"idx": a, "label": 0}]}]}}``,
each level's id taken from the group whose column is that level's ``idx``. ``tsv``: the
header, then ``ID<TAB>LABEL`` rows. Label tokens: a ``("false", "true")`` vocabulary as the
submission format says (strings or JSON booleans), a decimal token as a JSON number
(COPA's 0/1), an entity task's label as the entity text, a score as a number.
"""

from __future__ import annotations

import json

import numpy as np

from gluebench.benchmark.suite import Entry, SubmissionFormat, Suite
from gluebench.benchmark.suite_predictions import id_mode
from gluebench.benchmark.table import BOOLEAN_LABELS, ExampleTable
from gluebench.errors import UsageError


def prediction_text(suite: Suite, entry: Entry, table: ExampleTable, pred) -> str:
    """The file's text: ``pred`` (class ids, scores or entity texts) in ``table``'s row order."""
    if len(pred) != len(table):
        raise ValueError(f"{len(pred)} predictions for {len(table)} rows of {table.source}")
    sub = suite.submission
    values = [json_label(sub, table, p) for p in pred]
    mode = id_mode(sub, entry, table)
    ids = [int(i) for i in (table.row_positions() if mode == "position" else table.ids)]
    if sub.format == "tsv" and mode == "order":  # the label column alone, rows in file order
        return "\n".join(["\t".join(sub.header), *map(str, values)]) + "\n"
    if sub.format == "tsv":
        rows = [f"{i}\t{v}" for i, v in zip(ids, values, strict=True)]
        return "\n".join(["\t".join(sub.header), *rows]) + "\n"
    if entry.name in sub.nested and table.task.files[table.split].rows:
        records = _nested(sub, table, ids, values)
    else:
        records = [{sub.id_field: i, sub.label_field: v} for i, v in zip(ids, values,
                                                                        strict=True)]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def json_label(sub: SubmissionFormat, table: ExampleTable, value):
    """One prediction as the submission writes it (see the module docstring)."""
    task = table.task
    if task.target == "entity":
        return str(value)
    if task.target == "score":
        return float(value)
    token = task.labels[int(value)]
    if task.labels == BOOLEAN_LABELS:
        return token == "true" if sub.booleans == "json" else token
    return int(token) if token.isdecimal() else token


def _nested(sub: SubmissionFormat, table: ExampleTable, ids: list[int], values: list):
    """One record per top-level id, the rows nested along the data file's ``rows`` path."""
    spec = table.task.files[table.split]
    # "passage.questions[].answers[]" -> ["passage.questions", "answers"]
    lists = [part.strip(".") for part in spec.rows.split("[]")[:-1]]
    level_ids = [_level_ids(table, _id_column(lists, depth, sub.id_field))
                 for depth in range(len(lists))]
    records: dict[int, dict] = {}
    for row, (ident, value) in enumerate(zip(ids, values, strict=True)):
        top = int(level_ids[0][row])
        node = records.setdefault(top, {sub.id_field: top})
        for depth, path in enumerate(lists):
            items = _descend(node, path)
            if depth + 1 == len(lists):
                items.append({sub.id_field: ident, sub.label_field: value})
                break
            key = int(level_ids[depth + 1][row])
            if not items or items[-1][sub.id_field] != key:
                items.append({sub.id_field: key})
            node = items[-1]
    return list(records.values())


def _id_column(lists: list[str], depth: int, id_field: str) -> str:
    """The column of level ``depth``'s id: ``idx``, then ``passage.questions[].idx``, ..."""
    return id_field if depth == 0 else "[].".join(lists[:depth]) + "[]." + id_field


def _level_ids(table: ExampleTable, column: str) -> np.ndarray:
    for name, col in table.task.files[table.split].groups:
        if col == column:
            return table.groups[name]
    raise UsageError(f"{table.task.name}: no group reads '{column}'; a nested submission "
                     "needs each level's id as a group of the task's file")


def _descend(node: dict, path: str) -> list:
    """The list at ``path`` (``a.b``) under ``node``, created empty where absent."""
    *objects, last = path.split(".")
    for key in objects:
        node = node.setdefault(key, {})
    return node.setdefault(last, [])
