"""Reading one file of a suite's task into an ``ExampleTable``, whatever its format.

``tsv``: tab-separated, columns by name (from the header line, or the suite's ``header``
for files without one). With ``quoting`` off (GLUE, KLEJ) every line is split on tabs
and nothing else, so a quote character is ordinary text; with it on, fields follow CSV
quoting (``"a<TAB>b"`` is one field, ``""`` a quote). ``jsonl``: see ``jsonl_sources``.
Ids are the index column's values, or the 0-based row position when the file has none.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

from gluebench.benchmark.assemble import RawColumns, assemble
from gluebench.benchmark.jsonl_sources import read_jsonl_split
from gluebench.benchmark.suite import SplitFile, Suite, TaskDef
from gluebench.benchmark.suite_hub import hub_split, is_hub
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import DataError, GlueBenchWarning, UsageError
from gluebench.formats.fields import line_break_note, quote
from gluebench.formats.textfiles import read_lines, read_tsv


def split_file(task: TaskDef, key: str) -> SplitFile:
    if key not in task.files:
        raise UsageError(f"{task.name} has no '{key}' split; it has: {', '.join(task.files)}")
    return task.files[key]


def load_split(suite: Suite, task: TaskDef, key: str, data_dir: str | os.PathLike, *,
               check_size: bool = True) -> ExampleTable:
    """The ``key`` file of ``task`` under ``--data-dir data_dir`` (see ``Suite.data_folder``);
    ``--data-dir hf`` reads the suite's hub dataset (``suite_hub``)."""
    if is_hub(data_dir):
        return hub_split(suite, task, key, data_dir)
    path = suite.data_path(data_dir, split_file(task, key).path)
    return read_split(task, key, path, check_size=check_size)


def read_split(task: TaskDef, key: str, path: str | os.PathLike, *,
               check_size: bool = False) -> ExampleTable:
    """A file in the format of the task's ``key`` file, wherever it lives."""
    spec = split_file(task, key)
    reader = read_jsonl_split if spec.format == "jsonl" else read_tsv_split
    table = reader(task, key, Path(path))
    if check_size and len(table) != spec.size:
        warnings.warn(f"{path}: {len(table)} examples, but the official {task.name} {key} "
                      f"set has {spec.size}", GlueBenchWarning, stacklevel=2)
    return table


def read_tsv_split(task: TaskDef, key: str, path: Path) -> ExampleTable:
    """A tab-separated file: columns by name, every row as wide as the header."""
    spec = task.files[key]
    if task.target == "entity" and spec.label_column:
        raise DataError(path, f"{task.name}'s gold answers are lists; expected a jsonl file")
    columns, rows = (_quoted_tsv if spec.quoting else read_tsv)(path, spec.header)
    wanted = [*spec.text_columns, *filter(None, [spec.label_column, spec.index_column]),
              *(column for _, column in spec.groups)]
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}; header has: "
                        f"{quote(', '.join(columns))}{line_break_note(chr(9).join(columns))}", 1)
    position = {name: i for i, name in enumerate(columns)}

    def column(name: str) -> list[str]:
        return [fields[position[name]] for _, fields in rows]

    raw = RawColumns(
        lines=[number for number, _ in rows],
        inputs={f: column(c) for f, c in zip(task.input_fields, spec.text_columns, strict=True)},
        labels=column(spec.label_column) if spec.label_column else None,
        ids=column(spec.index_column) if spec.index_column else None,
        groups={name: column(c) for name, c in spec.groups},
        meta={c: column(c) for c in spec.meta_columns if c in position},
    )
    return assemble(task, key, path, raw)


def _quoted_tsv(path: Path, header) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """``read_tsv`` for files with CSV quoting: (columns, [(line number, fields)])."""
    text = "\n".join(read_lines(path))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", strict=True)
    rows, columns = [], list(header) if header is not None else None
    try:
        for fields in reader:
            line = reader.line_num
            if columns is None:
                columns = fields
                continue
            if len(fields) != len(columns):
                raise DataError(path, f"expected {len(columns)} tab-separated fields, found "
                                f"{len(fields)} (quoting is on: a field may be \"quoted\")",
                                line)
            rows.append((line, fields))
    except csv.Error as exc:
        raise DataError(path, f"not valid quoted TSV ({exc})", reader.line_num) from None
    if columns is None:
        raise DataError(path, "empty file")
    return columns, rows
