"""Prediction files in the GLUE submission format: ``index<TAB>prediction``.

Reading is strict, because a silently misread file is a wrong score: the header
must be exact, every row has two fields, indices are unique integers, labels are
in the official vocabulary and STS-B values are finite numbers. Checks that need
the whole file (duplicates, row count, coverage) are collected so that
``validate`` can report all problems at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.errors import DataError
from gluebench.tasks import Benchmark, Task, get_task
from gluebench.tsv import atomic_write, decode_lines, read_lines

HEADER = ("index", "prediction")
# At most this many problems are listed per file: one bad file must not flood the screen.
MAX_PROBLEMS_PER_FILE = 10
# The longest value a row may hold (labels are at most 14 characters; STS-B floats 32).
MAX_VALUE_CHARS = 32
# Room for the header, a byte-order mark and a few trailing blank lines.
HEADER_BYTES = 4096


def max_file_bytes(rows: int) -> int:
    """The most bytes a prediction file of ``rows`` rows may take: a generous bound that
    lets a reader stop early on a file (or a zip member) that cannot be one."""
    return HEADER_BYTES + rows * (len(str(rows)) + 1 + MAX_VALUE_CHARS + 2)


@dataclass
class Predictions:
    """One prediction file: official indices and values (class ids, or floats for STS-B)."""

    path: str
    index: np.ndarray   # (n,) int64
    values: np.ndarray  # (n,) int64 class ids or float64 scores


def check_predictions(path: str | os.PathLike, benchmark: Benchmark,
                      expected_size: int | None = None, *, raw: bytes | None = None,
                      ) -> tuple[Predictions | None, list[DataError]]:
    """Parse a prediction file and list every problem found (``file line N: ...``).

    With ``expected_size``, the indices must be exactly ``0 .. expected_size - 1``.
    ``raw`` gives the file's bytes when they are already in memory (a zip member);
    ``path`` then only names them in messages.
    Returns the predictions (None if any problem) and the problems.
    """
    task = get_task(benchmark.task)
    problems: list[DataError] = []

    def problem(message: str, line: int | None = None) -> None:
        problems.append(DataError(path, message, line))

    try:
        lines = read_lines(path) if raw is None else decode_lines(raw, path)
    except DataError as exc:
        return None, [exc]
    if not lines:
        problem("empty file; expected the header 'index<TAB>prediction' and one row per example")
        return None, problems
    header = tuple(lines[0].split("\t"))
    if header != HEADER:
        problem(f"header is {_show(lines[0])}; expected 'index<TAB>prediction'", 1)
    index, values, first_line = [], [], {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 2:
            problem(f"expected 2 tab-separated fields (index, prediction), found {len(fields)}",
                    number)
            continue
        try:
            i = int(fields[0])
            if i < 0:
                raise ValueError
        except ValueError:
            problem(f"index '{fields[0]}' is not a non-negative integer", number)
            continue
        if i in first_line:
            problem(f"duplicate index {i} (first on line {first_line[i]})", number)
            continue
        try:
            values.append(task.parse_label(fields[1], what="prediction"))
        except ValueError as exc:
            problem(str(exc), number)
            continue
        first_line[i] = number
        index.append(i)
    if expected_size is not None and not problems:
        problems.extend(_coverage_problems(path, index, first_line, expected_size))
    if problems:
        return None, _cap(problems)
    dtype = np.float64 if task.is_regression else np.int64
    return Predictions(str(path), np.asarray(index, np.int64), np.asarray(values, dtype)), []


def _coverage_problems(path, index: list[int], first_line: dict, expected: int
                       ) -> list[DataError]:
    """Row count and index coverage, each problem saying which indices are at fault."""
    out = []
    outside = [i for i in index if i >= expected]
    missing = sorted(set(range(expected)) - set(index))
    if outside:  # the most specific problem first: it has a line number
        out.append(DataError(path, f"index {outside[0]} is out of range 0..{expected - 1}",
                             first_line[outside[0]]))
    if len(index) != expected:
        detail = f"; missing index {_some(missing)}" if missing else ""
        out.append(DataError(path, f"{len(index)} rows; expected {expected} (one per example, "
                             f"indices 0..{expected - 1}){detail}"))
    elif missing:
        out.append(DataError(path, f"{len(missing)} example(s) have no prediction: "
                             f"index {_some(missing)}"))
    return out


def _some(numbers: list[int], shown: int = 5) -> str:
    return ", ".join(map(str, numbers[:shown])) + (", ..." if len(numbers) > shown else "")


def _cap(problems: list[DataError]) -> list[DataError]:
    if len(problems) <= MAX_PROBLEMS_PER_FILE:
        return problems
    extra = len(problems) - MAX_PROBLEMS_PER_FILE
    return [*problems[:MAX_PROBLEMS_PER_FILE],
            DataError(problems[0].path, f"... and {extra} more problem(s) in this file")]


def _show(text: str) -> str:
    return repr(text.replace("\t", "<TAB>"))


def read_predictions(path: str | os.PathLike, benchmark: Benchmark,
                     expected_size: int | None = None) -> Predictions:
    """Parse a prediction file, raising ``DataError`` on its first problem."""
    preds, problems = check_predictions(path, benchmark, expected_size)
    if problems:
        raise problems[0]
    return preds


def format_value(task: Task, value) -> str:
    if task.labels is None:
        return f"{float(value):.6g}"
    return task.labels[int(value)]


def as_written(task: Task, values: np.ndarray) -> np.ndarray:
    """``values`` as they read back from a prediction file (scores keep 6 significant digits)."""
    if task.labels is not None:
        return values
    return np.array([float(format_value(task, v)) for v in values], dtype=np.float64)


def predictions_text(task: Task, index, values) -> str:
    """A prediction file's content: header, then rows in index order, official vocabulary."""
    order = np.argsort(np.asarray(index), kind="stable")
    rows = (f"{int(index[i])}\t{format_value(task, values[i])}" for i in order)
    return "\n".join(["\t".join(HEADER), *rows]) + "\n"


def write_predictions(path: str | os.PathLike, task: Task, index, values) -> Path:
    """Write ``index<TAB>prediction`` rows in index order, labels in the official vocabulary."""
    return atomic_write(path, predictions_text(task, index, values))
