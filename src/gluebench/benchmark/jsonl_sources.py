"""JSON-lines files (SuperGLUE, FewGLUE, CLUE) as flat example tables.

Each line is one record (read strictly by ``formats.jsonl``); the file's ``rows`` path
turns it into one or more rows (MultiRC: one per answer option; ReCoRD: one per query),
and each column's field path is read for each row (see ``jsonpaths``). Every official
SuperGLUE shape fits this: flat records (BoolQ, CB, COPA, RTE, WiC, WSC, AX-b, AX-g),
paragraphs with nested questions and answers (MultiRC, whose question and answer ``idx``
are unique across the split, so the answer ``idx`` is the row id), and passages with
their queries (ReCoRD, row id = the query's ``idx``). Meta columns are optional per
record (AX-b's category keys appear only where a category applies).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from gluebench.benchmark.assemble import RawColumns, assemble
from gluebench.benchmark.jsonpaths import MissingField, PathError, parse_path, value_for, walk_rows
from gluebench.benchmark.suite import TaskDef
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import DataError
from gluebench.formats.jsonl import read_jsonl


def read_jsonl_split(task: TaskDef, key: str, path: str | os.PathLike) -> ExampleTable:
    """The table of a JSON-lines file laid out as the task's ``key`` file."""
    return read_records(task, key, path, read_jsonl(path))


def read_records(task: TaskDef, key: str, where, records: Iterable[tuple[int, dict]]
                 ) -> ExampleTable:
    """The table of (line number, record) pairs in the official layout of the ``key`` file
    (from a file, or put back together from the hub's flattened rows: ``suite_hub``)."""
    spec = task.files[key]
    rows = parse_path(spec.rows)
    columns = {
        "inputs": dict(zip(task.input_fields, map(parse_path, spec.text_columns), strict=True)),
        "groups": {name: parse_path(column) for name, column in spec.groups},
        "meta": {name: parse_path(name) for name in spec.meta_columns},
    }
    label = parse_path(spec.label_column) if spec.label_column else None
    index = parse_path(spec.index_column) if spec.index_column else None
    raw = RawColumns(labels=[] if label else None, ids=[] if index else None)
    for part in ("inputs", "groups", "meta"):
        setattr(raw, part, {name: [] for name in columns[part]})
    for line, record in records:
        try:
            _add_rows(raw, line, record, rows, columns, label, index)
        except PathError as exc:
            raise DataError(where, f"{exc}; expected the layout of {task.name}'s {key} file",
                            line) from None
    return assemble(task, key, where, raw)


def _add_rows(raw: RawColumns, line: int, record: dict, rows, columns, label, index) -> None:
    for levels in walk_rows(record, rows):
        raw.lines.append(line)
        for part in ("inputs", "groups"):
            for name, path in columns[part].items():
                getattr(raw, part)[name].append(value_for(levels, rows, path))
        for name, path in columns["meta"].items():
            raw.meta[name].append(_optional(levels, rows, path))
        if label is not None:
            raw.labels.append(value_for(levels, rows, label))
        if index is not None:
            raw.ids.append(value_for(levels, rows, index))


def _optional(levels, rows, path):
    try:
        return value_for(levels, rows, path)
    except MissingField:
        return None
