"""A suite's submission zip (SuperGLUE's ``BoolQ.jsonl`` ... ``AX-g.jsonl``): build it, check it.

The suite counterpart of ``submission`` (which stays GLUE's path, byte for byte), for
suites whose submission format is ``jsonl``. Each entry's file holds
``{id_field: ID, label_field: LABEL}`` lines, or for an entry in ``nested`` one line per
data line with the rows nested as in the data file (SuperGLUE's MultiRC: per paragraph,
``{"idx": p, "passage": {"questions": [{"idx": q, "answers": [{"idx": a, "label": 0}]}]}}``).

Label tokens written (``output_label``): a ``("false", "true")`` vocabulary as the
lower-case strings "true"/"false" when the suite says ``booleans = "string"`` (SuperGLUE
does: the official jiant baseline writes them so, and the server compares strings), JSON
booleans when it says ``"json"``; a token that is a decimal integer (COPA's and MultiRC's
0/1) as a JSON number; an entity task's label as the entity's text (ReCoRD). Ids are
written as JSON numbers (AX-b's data file has them as strings; the server reads both).

What the ids are checked against: without a data folder, the official size of the file
the entry submits (ids ``0 .. size-1``, as in every SuperGLUE file); with one, the ids
of that file itself. Every problem is one line; building refuses on any and writes
nothing, and the zip is written atomically.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.jsonpaths import PathError, parse_path, value_for, walk_rows
from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite import Entry, Suite
from gluebench.benchmark.suite_prediction_writer import id_columns, nested_records
from gluebench.benchmark.suite_predictions import MAX_PREDICTION_LINES
from gluebench.benchmark.table import BOOLEAN_LABELS, class_id, label_token
from gluebench.errors import DataError, UsageError
from gluebench.formats import safezip
from gluebench.formats.atomic import atomic_write
from gluebench.formats.fields import parse_index, quote
from gluebench.formats.jsonl import parse_jsonl
from gluebench.formats.safezip import ZipProblem, shown_name

MAX_PROBLEMS = 40            # problem lines for one zip; the rest are counted in a last line
MAX_PER_KIND = 5             # duplicate (or unknown) ids listed per file before a count
MAX_ROW_BYTES = 2048         # a bound on one prediction row (ReCoRD's entity texts included)


@dataclass(frozen=True)
class Row:
    """One prediction: its line, the ids of the levels it is nested in (outermost first,
    the row's own id last) and its label as a vocabulary index (or text, or score)."""

    line: int
    ids: tuple[int, ...]
    label: object


@dataclass(frozen=True)
class Expected:
    """The ids a file must hold and, for a nested entry checked against its data file,
    the ids each row is nested under there (MultiRC: paragraph, question)."""

    ids: np.ndarray
    enclosing: dict[int, tuple[int, ...]] | None = None


def expected_rows(suite: Suite, entry: Entry, split: str, data_dir) -> Expected:
    """What an entry's ``split`` file must hold: its data file's ids, or ``0 .. size-1``."""
    task = suite.task(entry.task)
    key = entry.file_key(split)
    if data_dir is None:
        return Expected(np.arange(task.files[key].size))
    table = load_split(suite, task, key, data_dir)
    if entry.name not in suite.submission.nested or not task.files[key].rows:
        return Expected(table.ids)
    names = {path: name for name, path in task.files[key].groups}
    levels = [table.groups[names[p]] for p in id_columns(task.files[key])[:-1]]
    enclosing = {int(i): tuple(int(g[k]) for g in levels) for k, i in enumerate(table.ids)}
    return Expected(table.ids, enclosing)


def parse_member(suite: Suite, entry: Entry, raw: bytes, where: str) -> tuple[list[Row], list[str]]:
    """The rows of one prediction file and its problems (one line each)."""
    sub, task = suite.submission, suite.task(entry.task)
    rows_path, id_paths, label_path = _layout(suite, entry)
    try:
        records = parse_jsonl(raw, where, max_lines=MAX_PREDICTION_LINES)
    except DataError as exc:
        return [], [str(exc)]
    rows, problems = [], []
    for line, record in records:
        try:
            for levels in walk_rows(record, rows_path):
                ids = tuple(_ident(value_for(levels, rows_path, p)) for p in id_paths)
                label = output_label(task, sub, value_for(levels, rows_path, label_path))
                rows.append(Row(line, ids, label))
        except PathError as exc:
            problems.append(f"{where} line {line}: {exc}; expected {_shape(suite, entry)}")
        except ValueError as exc:
            problems.append(f"{where} line {line}: {exc}")
    return rows, problems


def _shape(suite: Suite, entry: Entry) -> str:
    sub, spec = suite.submission, suite.task(entry.task).files[entry.test]
    if entry.name in sub.nested and spec.rows:
        return (f"the rows nested as in the data file ({spec.rows}, with "
                f"'{sub.label_field}') on every line")
    return f'{{"{sub.id_field}": ID, "{sub.label_field}": LABEL}} on every line'


def check_rows(rows: list[Row], wanted: Expected, where: str) -> list[str]:
    """Duplicate, unknown and missing ids, rows nested under other ids than in the data
    file, one line each (beyond ``MAX_PER_KIND`` of a kind, one line counting the rest;
    missing ones always summarised)."""
    expected = wanted.ids
    duplicates, unknown, first = [], [], {}
    known = set(expected.tolist())
    for row in rows:
        ident = row.ids[-1]
        if ident in first:
            duplicates.append(f"{where} line {row.line}: duplicate idx {ident} (first on line "
                              f"{first[ident]}); expected one prediction per idx")
        elif ident not in known:
            unknown.append(f"{where} line {row.line}: unknown idx {ident}; expected ids "
                           f"{_range(expected)}")
        first.setdefault(ident, row.line)
    problems = _capped(duplicates, where, "duplicate") + _capped(unknown, where, "unknown")
    problems += _capped(_misplaced(rows, wanted.enclosing, where), where, "misplaced")
    missing = [i for i in expected.tolist() if i not in first]
    if missing:
        problems.append(f"{where}: no prediction for idx {missing[0]} ({len(missing)} of "
                        f"{len(expected)} missing); expected one per idx {_range(expected)}")
    return problems


def _misplaced(rows: list[Row], enclosing, where: str) -> list[str]:
    if enclosing is None:
        return []
    return [f"{where} line {r.line}: idx {r.ids[-1]} is nested under idx "
            f"{'/'.join(map(str, r.ids[:-1]))}; expected "
            f"{'/'.join(map(str, enclosing[r.ids[-1]]))} as in the data file"
            for r in rows if r.ids[-1] in enclosing and r.ids[:-1] != enclosing[r.ids[-1]]]


def _capped(lines: list[str], where: str, kind: str) -> list[str]:
    if len(lines) <= MAX_PER_KIND:
        return lines
    return [*lines[:MAX_PER_KIND], f"{where}: ... and {len(lines) - MAX_PER_KIND} more "
            f"{kind} idx"]


def output_label(task, sub, value):
    """A prediction's label as the submission writes it (see the module docstring);
    ValueError naming what was expected."""
    if task.target == "entity":
        if not isinstance(value, str):
            raise ValueError(f"label is {_kind(value)}; expected the entity's text")
        return value
    if task.target == "score":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"label is {_kind(value)}; expected a number")
        return float(value)
    if isinstance(value, (dict, list)) or value is None or isinstance(value, float):
        raise ValueError(f"label is {_kind(value)}; expected one of: {', '.join(task.labels)}")
    token = task.labels[class_id(task, label_token(value))]
    if task.labels == BOOLEAN_LABELS and sub.booleans == "json":
        return token == "true"
    return int(token) if token.isdecimal() else token


def member_text(suite: Suite, entry: Entry, rows: list[Row], order: np.ndarray) -> str:
    """The file's canonical text: rows in the order of ``order`` (the expected ids)."""
    sub = suite.submission
    position = {int(i): k for k, i in enumerate(order.tolist())}
    rows = sorted(rows, key=lambda r: position[r.ids[-1]])
    if entry.name not in sub.nested:
        return "".join(json.dumps({sub.id_field: r.ids[-1], sub.label_field: r.label}) + "\n"
                       for r in rows)
    spec = suite.task(entry.task).files[entry.test]
    records = nested_records(spec, [(r.ids, r.label) for r in rows], sub.label_field)
    return "".join(json.dumps(record) + "\n" for record in records)


def _layout(suite: Suite, entry: Entry):
    """(rows path, id paths outermost first, label path) of an entry's prediction lines."""
    sub = suite.submission
    if sub.format != "jsonl":
        raise UsageError(f"suite '{suite.name}' submits {sub.format} files; submission and "
                         "validate --suite support jsonl submission formats")
    spec = suite.task(entry.task).files[entry.test]
    if entry.name not in sub.nested or not spec.rows:
        return (), (parse_path(sub.id_field),), parse_path(sub.label_field)
    rows = parse_path(spec.rows)
    head = spec.index_column.rpartition(".")[0]
    label = parse_path(f"{head}.{sub.label_field}" if head else sub.label_field)
    return rows, tuple(parse_path(p) for p in id_columns(spec)), label


def _ident(value) -> int:
    if isinstance(value, str):
        return parse_index(value)
    if type(value) is int and 0 <= value < 10**18:
        return value
    raise ValueError(f"idx is {_kind(value)}; expected a non-negative whole number (or a "
                     "string of its digits)")


def _range(ids: np.ndarray) -> str:
    if len(ids) and np.array_equal(ids, np.arange(len(ids))):
        return f"0..{len(ids) - 1}"
    return f"of the data file ({len(ids)} ids)"


def _kind(value) -> str:
    if isinstance(value, str):
        return f"the string {quote(value)}"
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


# ---- build and inspect ---------------------------------------------------------------------

def build_suite_submission(suite: Suite, pred_dir: str | os.PathLike, out: str | os.PathLike,
                           *, split: str = "test", data_dir=None) -> dict[str, int]:
    """Check every entry's file in ``pred_dir`` and write the official zip atomically.

    Raises ``DataError`` (one line: the first problems of each file) on any problem,
    before anything is written. Returns the rows written per file.
    """
    folder = Path(pred_dir)
    if not folder.is_dir():
        raise DataError(folder, "not a directory; expected a folder of prediction files")
    contents, problems = {}, []
    for entry in suite.entries.values():
        path = folder / entry.submission_file
        if not path.is_file():
            problems.append(f"{entry.submission_file}: missing; the submission needs every file: "
                            + ", ".join(e.submission_file for e in suite.entries.values()))
            continue
        expected = expected_rows(suite, entry, split, data_dir)
        rows, found = parse_member(suite, entry, path.read_bytes(), entry.submission_file)
        found = found or check_rows(rows, expected, entry.submission_file)
        problems.extend(found)
        if not found:
            contents[entry.submission_file] = (member_text(suite, entry, rows, expected.ids),
                                               len(rows))
    if problems:
        more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DataError(folder, f"{problems[0]}{more}; nothing written")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file, (text, _) in contents.items():
            zf.writestr(file, text)
    atomic_write(out, buffer.getvalue())
    return {file: n for file, (_, n) in contents.items()}


def inspect_suite_submission(suite: Suite, source, *, split: str = "test", data_dir=None,
                             label: str | None = None,
                             known: dict[str, Expected] | None = None) -> list[str]:
    """Every problem of a suite's submission zip, one line each (empty when it is fine).

    Ids are checked against ``known[entry]`` where given (what a server read from its gold
    files), else the ``data_dir`` files, else the official sizes. The zip is read through
    ``formats.safezip`` (bounded members, no bombs, no unsafe names); never raises for a
    bad zip.
    """
    if label is None:
        label = "upload" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    known = known or {}
    expected = {e.submission_file: (e, known.get(e.name) or expected_rows(suite, e, split,
                                                                            data_dir))
                for e in suite.entries.values()}
    try:
        with safezip.open_archive(source) as archive:
            problems = _names(archive, label, expected)
            for file, (entry, wanted) in expected.items():
                problems.extend(_member(archive, suite, entry, wanted, f"{label}:{file}"))
    except ZipProblem as exc:
        return [f"{label}: {exc}"]
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"{label}: ... and {more} more problem(s)"]
    return problems


def _names(archive: zipfile.ZipFile, label: str, expected: dict) -> list[str]:
    counts = Counter(info.filename for info in archive.infolist())
    problems = [f"{label}: {shown_name(n)} appears {k} times in the zip; each file must "
                "appear once" for n, k in counts.items() if k > 1]
    for name in counts:
        if unsafe := safezip.name_problem(name):
            problems.append(f"{label}: {shown_name(name)} {unsafe}")
        elif name not in expected:
            problems.append(f"{label}: unexpected file {shown_name(name)}; expected only "
                            + ", ".join(expected))
    problems += [f"{label}: missing {f}" for f in expected if f not in counts]
    return problems


def _member(archive, suite: Suite, entry: Entry, wanted: Expected, where: str) -> list[str]:
    names = [info.filename for info in archive.infolist()]
    if names.count(entry.submission_file) != 1:
        return []  # missing or duplicated: reported with the names
    info = archive.getinfo(entry.submission_file)
    try:
        if unreadable := safezip.member_problem(info):
            raise ZipProblem(unreadable)
        raw = safezip.read_member(archive, info, 4096 + MAX_ROW_BYTES * len(wanted.ids))
    except ZipProblem as exc:
        return [f"{where}: {exc}"]
    rows, problems = parse_member(suite, entry, raw, where)
    return problems or check_rows(rows, wanted, where)
