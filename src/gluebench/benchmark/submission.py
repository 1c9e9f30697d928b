"""Submissions for the official GLUE server: build the zip, inspect any zip.

The server expects a zip with the 11 files (``CoLA.tsv`` ... ``AX.tsv``) at the
top level, each with the header ``index<TAB>prediction`` and one row per test
example in index order 0..n-1, labels in the official vocabulary. A dev-sized
submission (``split="dev"``) has the same layout with the official dev sizes,
indices being 0-based positions in the official dev files.

An uploaded zip is untrusted: ``inspect_submission`` reads it through
``gluebench.formats.safezip`` (bounded members, no bombs, no unsafe names) and reports
every problem as one line, never an exception.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gluebench.benchmark.predictions import (
    Predictions,
    check_predictions,
    clip_scores,
    max_file_bytes,
    prediction_files,
    predictions_text,
)
from gluebench.benchmark.tasks import BENCHMARKS, Benchmark, get_task
from gluebench.errors import DataError, GlueBenchWarning
from gluebench.formats import safezip
from gluebench.formats.atomic import atomic_write
from gluebench.formats.safezip import ZipProblem, shown_name

# At most this many problem lines for one zip; the rest are counted in a last line.
MAX_PROBLEMS = 40
# Up to this many unexpected members are named one per line; more are summarised.
MAX_UNEXPECTED_NAMED = 5


@dataclass
class SubmissionCheck:
    """What ``inspect_submission`` found: every problem, and the files that have none."""

    problems: list[str] = field(default_factory=list)   # one line each; empty when OK
    predictions: dict[str, Predictions] = field(default_factory=dict)  # entry -> parsed file

    @property
    def ok(self) -> bool:
        return not self.problems


def official_size(benchmark: Benchmark, split: str = "test") -> int:
    """The official number of examples of an entry in ``split`` (test: CoLA 1063, ...)."""
    return get_task(benchmark.task).files[benchmark.file_key(split)].size


def test_size(benchmark: Benchmark) -> int:
    """The official number of test examples of an entry (CoLA 1063, ..., AX 1104)."""
    return official_size(benchmark, "test")


def _constant_fill(benchmark: Benchmark, split: str) -> tuple[np.ndarray, np.ndarray]:
    task, n = get_task(benchmark.task), official_size(benchmark, split)
    value = sum(task.score_range) / 2 if task.is_regression else 0
    return np.arange(n), np.full(n, value)


def build_submission(pred_dir: str | os.PathLike, out: str | os.PathLike, *,
                     fill_missing: bool = False, split: str = "test") -> dict[str, int]:
    """Check every prediction file in ``pred_dir`` and write the server's zip.

    ``split`` gives the official sizes the files must have ("test", or "dev" for a
    dev-sized zip of a run's ``predictions/dev``). Raises ``DataError`` listing all
    problems. STS-B values are clipped to [0, 5] with a warning. With
    ``fill_missing``, absent entries get a constant prediction (first label; 2.5 for
    STS-B) so the server accepts a partial run. Returns the rows written per file.
    """
    for b in BENCHMARKS.values():
        b.file_key(split)  # an unknown split fails before anything is read
    found = prediction_files(pred_dir)
    problems: list[DataError] = []
    contents: dict[str, str] = {}
    missing = [b.submission_file for name, b in BENCHMARKS.items() if name not in found]
    if missing and not fill_missing:
        problems.append(DataError(pred_dir, f"missing {', '.join(missing)}; the server needs "
                                  "all 11 files (use --fill-missing for a partial submission)"))
    for name, b in BENCHMARKS.items():
        if name not in found:
            if not fill_missing:
                continue
            warnings.warn(f"{b.submission_file}: missing, filled with a constant prediction",
                          GlueBenchWarning, stacklevel=2)
            index, values = _constant_fill(b, split)
        else:
            preds, file_problems = check_predictions(found[name], b, official_size(b, split))
            problems.extend(file_problems)
            if file_problems:
                continue
            index, values = preds.index, preds.values
        if get_task(b.task).is_regression:
            values = clip_scores(get_task(b.task), found.get(name, b.submission_file), values)
        contents[b.submission_file] = predictions_text(get_task(b.task), index, values)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DataError(pred_dir, _summary(problems))
    _write_zip(out, contents)
    return {name: text.count("\n") - 1 for name, text in contents.items()}


def _summary(problems: list[DataError]) -> str:
    """Many problems as one line: each file's first problem and how many more it has."""
    by_file: dict[str, list[DataError]] = {}
    for p in problems:
        by_file.setdefault(p.path, []).append(p)
    parts = []
    for path, found in by_file.items():
        first = found[0]
        where = Path(path).name + (f" line {first.line}" if first.line is not None else "")
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        parts.append(f"{where}: {first.message}{more}")
    return f"{len(problems)} problems in {len(by_file)} file(s): " + "; ".join(parts)


def _write_zip(out: str | os.PathLike, contents: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in (b.submission_file for b in BENCHMARKS.values()):
            if name in contents:
                zf.writestr(name, contents[name])
    atomic_write(out, buffer.getvalue())


# ---- inspecting a zip ---------------------------------------------------------------------

def inspect_submission(source: bytes | str | os.PathLike, *, split: str = "test",
                       label: str | None = None) -> SubmissionCheck:
    """Every problem that would make the server reject (or misread) a submission zip.

    ``source`` is the zip's bytes (read in memory, never written to disk) or a path.
    ``split`` "test" checks the official test sizes, "dev" the official dev sizes
    (MNLI-m/-mm: dev_matched/dev_mismatched; AX: the 1104 diagnostic pairs).
    ``label`` names the zip in messages (default: the path, or "upload").
    Never raises for bad input: each problem is one line of ``problems``.
    """
    sizes = {b.submission_file: (b, official_size(b, split)) for b in BENCHMARKS.values()}
    if label is None:
        label = "upload" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    try:
        with safezip.open_archive(source) as archive:
            problems = _layout_problems(archive, label, sizes)
            predictions = {}
            for b, size in sizes.values():
                preds, found = _member(archive, label, b, size)
                problems.extend(found)
                if preds is not None:
                    predictions[b.name] = preds
    except ZipProblem as exc:
        return SubmissionCheck([f"{label}: {exc}"], {})
    return SubmissionCheck(_cap(problems, label), predictions)


def validate_submission(path: str | os.PathLike, *, split: str = "test") -> list[str]:
    """Every problem in a submission zip, one line each (empty when the server accepts it)."""
    return inspect_submission(path, split=split).problems


def _layout_problems(archive: zipfile.ZipFile, label: str, sizes: dict) -> list[str]:
    """Names: duplicates, unsafe paths, folders, files in folders, unexpected files."""
    counts = Counter(info.filename for info in archive.infolist())
    problems = [f"{label}: {shown_name(name)} appears {n} times in the zip; each file must "
                "appear once" for name, n in counts.items() if n > 1]
    unexpected = []
    for name in counts:
        unsafe = safezip.name_problem(name)
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if unsafe:
            problems.append(f"{label}: {shown_name(name)} {unsafe}")
        elif "/" in name and base in sizes:
            problems.append(f"{label}: {shown_name(name)} is inside a folder; the server "
                            f"expects {base} at the top level of the zip")
        elif name not in sizes:
            unexpected.append(shown_name(name))
    if len(unexpected) > MAX_UNEXPECTED_NAMED:
        problems.append(f"{label}: {len(unexpected)} unexpected files "
                        f"({', '.join(unexpected[:MAX_UNEXPECTED_NAMED])}, ...); the server "
                        "expects only the 11 GLUE files")
    else:
        folded = {name.lower(): name for name in sizes}
        problems.extend(f"{label}: unexpected file {name}" + (
            f" (did you mean {folded[name.lower()]}? names are case-sensitive)"
            if name.lower() in folded else "") for name in unexpected)
    return problems


def _member(archive: zipfile.ZipFile, label: str, b: Benchmark, size: int
            ) -> tuple[Predictions | None, list[str]]:
    """One expected file: read within its size bound, parsed, checked."""
    names = [info.filename for info in archive.infolist()]
    where = f"{label}:{b.submission_file}"
    if b.submission_file not in names:
        return None, [f"{label}: missing {b.submission_file}"]
    if names.count(b.submission_file) > 1:
        return None, []  # reported as a duplicate
    info = archive.getinfo(b.submission_file)
    try:
        if unreadable := safezip.member_problem(info):
            raise ZipProblem(unreadable)
        raw = safezip.read_member(archive, info, max_file_bytes(size))
    except ZipProblem as exc:
        return None, [f"{where}: {exc}"]
    return _member_problems(where, raw, b, size)


def _member_problems(where: str, raw: bytes, b: Benchmark, size: int
                     ) -> tuple[Predictions | None, list[str]]:
    """What is wrong with one file of the zip; ``where`` is ``zip:name`` in messages."""
    preds, file_problems = check_predictions(where, b, size, raw=raw)
    shown = [str(p) for p in file_problems]
    if preds is None:
        return None, shown
    out_of_order = np.flatnonzero(np.diff(preds.index) < 0)
    if len(out_of_order):
        line = int(out_of_order[0]) + 3  # header is line 1, first row line 2
        shown.append(f"{where} line {line}: rows are not in index order "
                     "(the server expects 0, 1, 2, ...)")
    task = get_task(b.task)
    if task.is_regression:
        low, high = task.score_range
        bad = np.flatnonzero((preds.values < low) | (preds.values > high))
        if len(bad):
            shown.append(f"{where} line {int(bad[0]) + 2}: {len(bad)} {task.name} "
                         f"prediction(s) outside [{low:g}, {high:g}] "
                         f"(first: {preds.values[bad[0]]:g})")
    if raw.startswith(b"\xef\xbb\xbf"):
        shown.append(f"{where}: starts with a byte-order mark")
    return (None if shown else preds), shown


def _cap(problems: list[str], label: str) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], f"{label}: ... and {more} more problem(s)"]
