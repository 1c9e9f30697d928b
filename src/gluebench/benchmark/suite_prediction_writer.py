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

from gluebench.benchmark.jsonpaths import parse_path, shared_levels
from gluebench.benchmark.suite import Entry, SplitFile, SubmissionFormat, Suite
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
    """The rows of ``table`` nested along its file's ``rows`` path, ids read from its groups."""
    spec = table.task.files[table.split]
    columns = id_columns(spec)
    group_of = {column: name for name, column in spec.groups}
    levels = [table.groups[group_of[column]] for column in columns[:-1]]
    rows = [(tuple(int(level[k]) for level in levels) + (ident,), value)
            for k, (ident, value) in enumerate(zip(ids, values, strict=True))]
    return nested_records(spec, rows, sub.label_field)


# ---- the nesting, shared with suite_submission (which rebuilds a user's nested file) -------

def nested_records(spec: SplitFile, rows: list[tuple[tuple[int, ...], object]],
                   label_field: str) -> list[dict]:
    """One record per top-level id, each row nested along ``spec.rows`` under its ids.

    ``rows``: (ids of the levels it is nested in, outermost first, its own id last; label),
    in the order they are written. MultiRC: ``{"idx": p, "passage": {"questions":
    [{"idx": q, "answers": [{"idx": a, "label": 0}]}]}}``.
    """
    # "passage.questions[].answers[]" -> ["passage.questions", "answers"]
    lists = [part.strip(".") for part in spec.rows.split("[]") if part.strip(".")]
    keys = [column.replace("[]", "").rpartition(".")[2] for column in id_columns(spec)]
    return [_nest(group, 0, lists, keys, label_field) for group in _grouped(rows, 0)]


def id_columns(spec: SplitFile) -> list[str]:
    """The id column of each nesting level of ``spec.rows``, outermost first, the row's last."""
    rows = parse_path(spec.rows)
    depth = sum(step.each for step in rows)
    by_level = {shared_levels(rows, parse_path(p)): p for _, p in spec.groups}
    by_level[depth] = spec.index_column
    missing = [k for k in range(depth + 1) if k not in by_level]
    if missing:
        raise UsageError(f"{spec.path}: no id for nesting level {missing[0]} of rows "
                         f"'{spec.rows}'; expected a group naming each level's idx")
    return [by_level[k] for k in range(depth + 1)]


def _nest(rows: list, level: int, lists: list[str], keys: list[str], label: str) -> dict:
    ids, value = rows[0]
    node: dict = {keys[level]: ids[level]}
    if level == len(lists):
        node[label] = value
        return node
    children = [_nest(g, level + 1, lists, keys, label) for g in _grouped(rows, level + 1)]
    target = node
    *parents, leaf = lists[level].split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = children
    return node


def _grouped(rows: list, level: int) -> list[list]:
    groups: dict[int, list] = {}
    for row in rows:
        groups.setdefault(row[0][level], []).append(row)
    return list(groups.values())
