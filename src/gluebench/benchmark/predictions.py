"""Prediction files in the GLUE submission format: ``index<TAB>prediction``.

Reading is strict, because a silently misread file is a wrong score: the header
must be exact, every row has two fields, indices are unique integers, labels are
in the official vocabulary and STS-B values are finite numbers. Checks that need
the whole file (duplicates, row count, coverage) are collected so that
``validate`` can report all problems at once.
"""

from __future__ import annotations

import io
import os
import warnings
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.tasks import BENCHMARKS, Benchmark, Task, get_task
from gluebench.errors import DataError, GlueBenchWarning
from gluebench.formats.atomic import atomic_write
from gluebench.formats.fields import line_break_note, parse_index, quote

HEADER = ("index", "prediction")
BOM = b"\xef\xbb\xbf"
# At most this many problems are listed per file: one bad file must not flood the screen.
MAX_PROBLEMS_PER_FILE = 10
# The longest value a row may hold (labels are at most 14 characters; STS-B floats 32).
MAX_VALUE_CHARS = 32
# Room for the header, a byte-order mark and a few trailing blank lines.
HEADER_BYTES = 4096
# Lines beyond header + rows that are tolerated before a file is refused unread.
MAX_EXTRA_LINES = 1000


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

    With ``expected_size``, the indices must be exactly ``0 .. expected_size - 1``, and
    a file too large or with too many lines to hold that many rows is refused before it
    is parsed. ``raw`` gives the file's bytes when they are already in memory (a zip
    member); ``path`` then only names them in messages. Memory stays bounded by the
    file's size whatever its content. Returns the predictions (None if any problem) and
    the problems (at most ``MAX_PROBLEMS_PER_FILE``, then a count).
    """
    task = get_task(benchmark.task)
    problems = _Problems(path)
    try:
        raw = _read_bounded(path, expected_size) if raw is None else raw
        if expected_size is not None:
            _check_line_count(path, raw, expected_size)
        rows = _parse_rows(iter_lines(raw, path), task, expected_size, problems)
    except DataError as exc:
        problems.add_error(exc)
        return None, problems.listed()
    if rows is not None and expected_size is not None and not problems:
        _coverage_problems(problems, rows[0], expected_size)
    if problems or rows is None:
        return None, problems.listed()
    dtype = np.float64 if task.is_regression else np.int64
    return Predictions(str(path), np.asarray(rows[0], np.int64), np.asarray(rows[1], dtype)), []


class _Problems:
    """The first ``MAX_PROBLEMS_PER_FILE`` problems of a file, and a count of the rest."""

    def __init__(self, path):
        self.path, self.shown, self.more = path, [], 0

    def add(self, message: str, line: int | None = None, repeat: int = 1) -> None:
        listed = min(repeat, MAX_PROBLEMS_PER_FILE - len(self.shown))
        for k in range(listed):  # repeated problems are on consecutive lines
            self.shown.append(DataError(self.path, message, None if line is None else line + k))
        self.more += repeat - listed

    def add_error(self, error: DataError) -> None:
        self.add(error.message, error.line)

    def __bool__(self) -> bool:
        return bool(self.shown)

    def listed(self) -> list[DataError]:
        more = [DataError(self.path, f"... and {self.more} more problem(s) in this file")]
        return self.shown + (more if self.more else [])


def _read_bounded(path, expected_size: int | None) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a file")
    if expected_size is not None and path.stat().st_size > max_file_bytes(expected_size):
        raise DataError(path, f"{path.stat().st_size} bytes, more than a file of "
                        f"{expected_size} rows can hold ({max_file_bytes(expected_size)})")
    return path.read_bytes()


def _check_line_count(path, raw: bytes, expected_size: int) -> None:
    lines = raw.count(b"\n")
    if lines > expected_size + 1 + MAX_EXTRA_LINES:
        raise DataError(path, f"{lines} lines; expected the header and {expected_size} rows "
                        f"(indices 0..{expected_size - 1})")


def iter_lines(raw: bytes, where: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line, decoded one line at a time.

    For untrusted files (predictions, zip members): memory stays at one line beyond
    ``raw`` however the file is shaped. Lines end with LF or CRLF; a BOM is dropped;
    trailing blank lines are kept (the caller decides). A line that is not UTF-8
    raises ``DataError`` naming it.
    """
    stream = io.BytesIO(raw)
    stream.seek(len(BOM) if raw.startswith(BOM) else 0)
    for number, line in enumerate(stream, start=1):
        text = line[:-1] if line.endswith(b"\n") else line
        text = text[:-1] if text.endswith(b"\r") else text
        try:
            yield number, text.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = stream.tell() - len(line) + exc.start
            raise DataError(where, f"not valid UTF-8 (byte {at})", number) from None


def _parse_rows(lines, task: Task, expected_size: int | None, problems: _Problems):
    """(indices, values) of the rows after the header, problems noted; None if no header."""
    header = next(((n, line) for n, line in lines if not _blank(line)), None)
    if header is None:
        problems.add("empty file; expected the header 'index<TAB>prediction' and one row "
                     "per example")
        return None
    if header[0] > 1:
        problems.add("blank line before the header; 'index<TAB>prediction' must be line 1", 1)
    if tuple(header[1].split("\t", 2)) != HEADER:
        problems.add(f"header is {quote(header[1], tabs=True)}; expected 'index<TAB>prediction'"
                     f"{line_break_note(header[1])}", header[0])
    return _parse_body(lines, task, expected_size, problems)


def _parse_body(lines, task: Task, expected_size: int | None, problems: _Problems):
    """The rows: blank lines count only when a row follows them (trailing ones are dropped)."""
    index, values = array("q"), array("d" if task.is_regression else "q")
    # The line each index was first seen on (0: not yet); indices are < expected_size.
    first = array("q", bytes(8 * expected_size)) if expected_size is not None else {}
    blanks: list[tuple[int, str]] = []  # blank lines not yet known to be trailing
    held = 0
    for number, line in lines:
        if _blank(line):
            held += 1
            if len(blanks) < MAX_PROBLEMS_PER_FILE:
                blanks.append((number, line))
            continue
        for blank_number, blank in blanks:  # a row follows: they were not trailing
            _parse_row(blank, blank_number, task, expected_size, first, problems)
        problems.add("blank line", None, repeat=held - len(blanks))  # only counted
        blanks, held = [], 0
        row = _parse_row(line, number, task, expected_size, first, problems)
        if row is not None:
            index.append(row[0])
            values.append(row[1])
    return index, values


def _blank(line: str) -> bool:
    return not line or line.isspace()


def _parse_row(line: str, number: int, task: Task, expected_size: int | None,
               first: array | dict, problems: _Problems) -> tuple[int, int | float] | None:
    """One row's (index, value), or None with the problem noted."""
    fields = line.split("\t", 2)
    if len(fields) != 2:
        problems.add(f"expected 2 tab-separated fields (index, prediction), found "
                     f"{line.count(chr(9)) + 1}{line_break_note(line)}", number)
        return None
    try:
        i = parse_index(fields[0])
        if expected_size is not None and i >= expected_size:
            raise ValueError(f"index {i} is out of range 0..{expected_size - 1}")
        if earlier := (first[i] if expected_size is not None else first.get(i, 0)):
            raise ValueError(f"duplicate index {i} (first on line {earlier})")
        value = task.parse_label(fields[1], what="prediction")
    except ValueError as exc:
        problems.add(f"{exc}{line_break_note(line)}", number)
        return None
    first[i] = number
    return i, value


def _coverage_problems(problems: _Problems, index, expected: int) -> None:
    """Row count and index coverage (indices are unique and in range by now)."""
    seen = np.zeros(expected, bool)
    seen[np.asarray(index, np.int64)] = True
    missing = np.flatnonzero(~seen).tolist()
    if len(index) != expected:
        detail = f"; missing index {_some(missing)}" if missing else ""
        problems.add(f"{len(index)} rows; expected {expected} (one per example, "
                     f"indices 0..{expected - 1}){detail}")


def _some(numbers: list[int], shown: int = 5) -> str:
    return ", ".join(map(str, numbers[:shown])) + (", ..." if len(numbers) > shown else "")


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


def prediction_files(pred_dir: str | os.PathLike) -> dict[str, Path]:
    """The submission-named files in a folder, by entry name; other files are warned about."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DataError(pred_dir, "predictions folder not found")
    known = {b.submission_file: name for name, b in BENCHMARKS.items()}
    found, ignored = {}, []
    for path in sorted(pred_dir.iterdir()):
        if path.name in known:
            found[known[path.name]] = path
        elif path.suffix == ".tsv":
            ignored.append(path.name)
    if not found:
        seen = f" (found {', '.join(ignored)}; names are case-sensitive)" if ignored else ""
        raise DataError(pred_dir, f"no prediction files{seen}; expected some of: "
                        f"{', '.join(known)}")
    if ignored:
        warnings.warn(_ignored_summary(pred_dir, ignored), GlueBenchWarning, stacklevel=2)
    return dict(sorted(found.items(), key=lambda kv: list(BENCHMARKS).index(kv[0])))


def _ignored_summary(pred_dir: Path, ignored: list[str], named: int = 5) -> str:
    """One warning for every misnamed file, naming the first few."""
    if len(ignored) == 1:
        return f"{pred_dir / ignored[0]}: not a GLUE submission file name; ignored"
    shown = ", ".join(quote(name) for name in ignored[:named])
    more = f" and {len(ignored) - named} more" if len(ignored) > named else ""
    return (f"{pred_dir}: {len(ignored)} .tsv files ignored ({shown}{more}): not GLUE "
            "submission file names (CoLA.tsv, ..., AX.tsv; names are case-sensitive)")


def clip_scores(task: Task, where, values: np.ndarray) -> np.ndarray:
    """A regression task's scores clipped to its ``score_range`` (STS-B: [0, 5]) as the GLUE
    server clips them; one warning counts them."""
    low, high = task.score_range
    outside = int(((values < low) | (values > high)).sum())
    if outside:
        bounds = f"[{low:g}, {high:g}]"
        warnings.warn(f"{where}: {outside} {task.name} prediction(s) outside {bounds} clipped "
                      f"to {bounds}, as the GLUE server does", GlueBenchWarning, stacklevel=2)
    return np.clip(values, low, high)
