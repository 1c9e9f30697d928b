"""Reading a suite's prediction files (``BoolQ.jsonl`` ...) and matching them to the gold rows.

A prediction file has the layout of the suite's submission format: for ``jsonl``,
``{id_field: ID, label_field: LABEL}`` lines, or for an entry in ``nested`` one line per
data line with the rows nested as in the data file (MultiRC: per paragraph, matched by
the answers' split-global idx); for ``tsv``, a header and ``ID<TAB>LABEL`` rows, or
with ``ids = "order"`` a one-column header and one label per line (KLEJ).

Label tokens are read as real submissions write them: for a ``("false", "true")``
vocabulary JSON booleans and "true"/"false" in any case; a JSON integer as its decimal
token (COPA's 0/1); an entity task's label is the entity's text. Ids are numbers or
strings of digits (AX-b's official ``idx`` is a string). Rows are matched by id, never
by line order: a duplicated, unknown or missing id is a ``DataError`` naming the file
and the line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gluebench.benchmark.jsonpaths import PathError, parse_path, value_for, walk_rows
from gluebench.benchmark.suite import Entry, SubmissionFormat, Suite
from gluebench.benchmark.table import ExampleTable, class_id, label_token
from gluebench.errors import DataError
from gluebench.formats.fields import parse_index, parse_number, quote
from gluebench.formats.jsonl import read_jsonl
from gluebench.formats.textfiles import read_tsv

MAX_PREDICTION_LINES = 1_000_000   # a prediction file is refused beyond this (ReCoRD: 10,000)


def prediction_files(suite: Suite, pred_dir: str | os.PathLike) -> dict[str, Path]:
    """The entries whose submission file is in ``pred_dir``, in the suite's order."""
    folder = Path(pred_dir)
    if not folder.is_dir():
        raise DataError(folder, "not a directory; expected a folder of prediction files "
                        f"named {', '.join(e.submission_file for e in suite.entries.values())}")
    found = {name: folder / e.submission_file for name, e in suite.entries.items()
             if (folder / e.submission_file).is_file()}
    if not found:
        raise DataError(folder, "no prediction files; expected files named "
                        f"{', '.join(e.submission_file for e in suite.entries.values())}")
    return found


def read_aligned(suite: Suite, entry: Entry, gold: ExampleTable, path: Path):
    """The predictions of ``path`` in the gold table's row order (ids, scores or texts).

    A row the gold file leaves unscored (OCNLI's "-") may have a prediction or none.
    """
    mode = id_mode(suite.submission, entry, gold)
    rows = _read_rows(suite.submission, entry, gold, path, mode)  # [(line, id, label value)]
    ids = np.arange(len(gold)) if mode != "file" else gold.ids
    position = {int(i): row for row, i in enumerate(ids)}
    out: list = [None] * len(gold)
    seen: dict[int, int] = {}
    for line, ident, value in rows:
        if ident in seen:
            raise DataError(path, f"duplicate id {ident} (first on line {seen[ident]}); "
                            "expected one prediction per id", line)
        if ident not in position:
            raise DataError(path, f"{_unknown(mode, ident, gold)}; expected "
                            f"{_id_space(mode, gold)}", line)
        seen[ident] = line
        out[position[ident]] = _label(gold, value, path, line)
    missing = [int(ids[r]) for r, v in enumerate(out) if v is None and gold.scored()[r]]
    if missing and mode == "order":
        raise DataError(path, f"{len(rows)} prediction lines for the {len(gold)} rows of "
                        f"{gold.source}; expected one label per row, in the file's order")
    if missing:
        raise DataError(path, f"no prediction for {_row_name(mode)} {missing[0]} "
                        f"({len(missing)} of {len(gold)} missing); expected one line per "
                        f"{_row_name(mode)} of {gold.source}")
    if gold.task.target == "entity":
        return out
    out = [0 if v is None else v for v in out]  # unscored rows: never read by the metrics
    return np.asarray(out, np.float64 if gold.task.target == "score" else np.int64)


def id_mode(sub: SubmissionFormat, entry: Entry, gold: ExampleTable) -> str:
    """How ``gold``'s rows are named in a prediction file: "file", "position" or "order"."""
    return sub.dev_ids if gold.split == entry.dev and gold.split != entry.test else sub.ids


def _unknown(mode: str, ident: int, gold: ExampleTable) -> str:
    if mode == "order":
        return f"line {ident + 2} is beyond the {len(gold)} rows of {gold.source}"
    return f"unknown id {ident}: not in {gold.source}"


def _id_space(mode: str, gold: ExampleTable) -> str:
    if mode == "file":
        return "the ids of the gold file"
    if mode == "position":
        return f"the rows' 0-based positions in the gold file (0 to {len(gold) - 1})"
    return f"one line per row of the gold file, {len(gold)} in all"


def _row_name(mode: str) -> str:
    return {"file": "id", "position": "id (row position)", "order": "row"}[mode]


def _read_rows(sub: SubmissionFormat, entry: Entry, gold: ExampleTable, path: Path,
               mode: str):
    if sub.format == "tsv":
        return _tsv_rows(sub, path, mode)
    spec = gold.task.files[entry.test]
    nested = entry.name in sub.nested and spec.rows
    rows = parse_path(spec.rows if nested else "")
    index = parse_path(spec.index_column if nested else sub.id_field)
    label = parse_path(_sibling(spec.index_column, sub.label_field) if nested
                       else sub.label_field)
    out = []
    for line, record in read_jsonl(path, max_lines=MAX_PREDICTION_LINES):
        try:
            for levels in walk_rows(record, rows):
                ident = _ident(value_for(levels, rows, index), path, line)
                out.append((line, ident, value_for(levels, rows, label)))
        except PathError as exc:
            raise DataError(path, f"{exc}; expected {_layout(sub, nested, spec)}", line) from None
    return out


def _sibling(index_path: str, field: str) -> str:
    """``a[].b[].idx`` -> ``a[].b[].label``: the label beside the row's id."""
    head, _, _ = index_path.rpartition(".")
    return f"{head}.{field}" if head else field


def _layout(sub: SubmissionFormat, nested, spec) -> str:
    if nested:
        return f"the rows nested as in the data file ({spec.rows}, with '{sub.label_field}')"
    return f'{{"{sub.id_field}": ID, "{sub.label_field}": LABEL}} on every line'


def _tsv_rows(sub: SubmissionFormat, path: Path, mode: str):
    columns, rows = read_tsv(path, None)
    if tuple(columns) != tuple(sub.header):
        raise DataError(path, f"header {quote(chr(9).join(columns))}; expected "
                        f"{quote(chr(9).join(sub.header))}", 1)
    if mode == "order":  # no id column: the n-th data line predicts the n-th gold row
        return [(line, n, fields[0]) for n, (line, fields) in enumerate(rows)]
    return [(line, _ident(fields[0], path, line), fields[1]) for line, fields in rows]


def _ident(value, path: Path, line: int) -> int:
    if isinstance(value, str):
        try:
            return parse_index(value)
        except ValueError as exc:
            raise DataError(path, f"id: {exc}", line) from None
    if type(value) is int and 0 <= value < 10**18:
        return value
    raise DataError(path, f"id is {_kind(value)}; expected a non-negative whole number (or a "
                    "string of its digits)", line)


def _label(gold: ExampleTable, value, path: Path, line: int):
    task = gold.task
    try:
        if task.target == "entity":
            if not isinstance(value, str):
                raise ValueError(f"label is {_kind(value)}; expected the entity's text")
            return value
        if task.target == "score":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if not isinstance(value, str):
                raise ValueError(f"label is {_kind(value)}; expected a number")
            return parse_number(value, "label")
        return class_id(task, label_token(value))
    except ValueError as exc:
        raise DataError(path, str(exc), line) from None


def _kind(value) -> str:
    if isinstance(value, str):
        return f"the string {quote(value)}"
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
