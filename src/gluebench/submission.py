"""Test-set submissions for the official GLUE server: build the zip, validate a zip.

The server expects a zip with the 11 files (``CoLA.tsv`` ... ``AX.tsv``) at the
top level, each with the header ``index<TAB>prediction`` and one row per test
example in index order 0..n-1, labels in the official vocabulary.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from gluebench.errors import DataError, GlueBenchWarning
from gluebench.predictions import check_predictions, predictions_text
from gluebench.scoring import prediction_files
from gluebench.tasks import BENCHMARKS, STSB_RANGE, Benchmark, get_task
from gluebench.tsv import atomic_write

STSB_MIN, STSB_MAX = STSB_RANGE


def test_size(benchmark: Benchmark) -> int:
    """The official number of test examples of an entry (CoLA 1063, ..., AX 1104)."""
    return get_task(benchmark.task).files[benchmark.test].size


def _constant_fill(benchmark: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    task, n = get_task(benchmark.task), test_size(benchmark)
    value = (STSB_MIN + STSB_MAX) / 2 if task.is_regression else 0
    return np.arange(n), np.full(n, value)


def build_submission(pred_dir: str | os.PathLike, out: str | os.PathLike, *,
                     fill_missing: bool = False) -> dict[str, int]:
    """Check every test prediction file in ``pred_dir`` and write the server's zip.

    Raises ``DataError`` listing all problems. STS-B values are clipped to [0, 5]
    with a warning. With ``fill_missing``, absent entries get a constant
    prediction (first label; 2.5 for STS-B) so the server accepts a partial run.
    Returns the number of rows written per file.
    """
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
            index, values = _constant_fill(b)
        else:
            preds, file_problems = check_predictions(found[name], b, test_size(b))
            problems.extend(file_problems)
            if file_problems:
                continue
            index, values = preds.index, preds.values
        if get_task(b.task).is_regression:
            values = _clip_stsb(found.get(name, b.submission_file), values)
        contents[b.submission_file] = predictions_text(get_task(b.task), index, values)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DataError(pred_dir, f"{len(problems)} problems:"
                        + "".join(f"\n  {p}" for p in problems))
    _write_zip(out, contents)
    return {name: text.count("\n") - 1 for name, text in contents.items()}


def _clip_stsb(where, values: np.ndarray) -> np.ndarray:
    outside = int(((values < STSB_MIN) | (values > STSB_MAX)).sum())
    if outside:
        warnings.warn(f"{where}: {outside} STS-B prediction(s) outside [0, 5] clipped",
                      GlueBenchWarning, stacklevel=3)
    return np.clip(values, STSB_MIN, STSB_MAX)


def _write_zip(out: str | os.PathLike, contents: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in (b.submission_file for b in BENCHMARKS.values()):
            if name in contents:
                zf.writestr(name, contents[name])
    atomic_write(out, buffer.getvalue())


def validate_submission(path: str | os.PathLike) -> list[str]:
    """Every problem that would make the server reject (or misread) a submission zip."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: file not found"]
    if not zipfile.is_zipfile(path):
        return [f"{path}: not a zip file"]
    problems: list[str] = []
    expected = {b.submission_file: b for b in BENCHMARKS.values()}
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if "/" in name and base in expected:
                problems.append(f"{path}: {name} is inside a folder; the server expects "
                                f"{base} at the top level of the zip")
            elif name not in expected:
                problems.append(f"{path}: unexpected file {name}")
        for filename, b in expected.items():
            if filename not in names:
                problems.append(f"{path}: missing {filename}")
                continue
            problems.extend(_member_problems(f"{path}:{filename}", zf.read(filename), b))
    return problems


def _member_problems(where: str, raw: bytes, b: Benchmark) -> list[str]:
    """What is wrong with one file of the zip; ``where`` is ``zip:name`` in messages."""
    preds, file_problems = check_predictions(where, b, test_size(b), raw=raw)
    shown = [str(p) for p in file_problems]
    if preds is None:
        return shown
    out_of_order = np.flatnonzero(np.diff(preds.index) < 0)
    if len(out_of_order):
        line = int(out_of_order[0]) + 3  # header is line 1, first row line 2
        shown.append(f"{where} line {line}: rows are not in index order "
                     "(the server expects 0, 1, 2, ...)")
    if get_task(b.task).is_regression:
        bad = np.flatnonzero((preds.values < STSB_MIN) | (preds.values > STSB_MAX))
        if len(bad):
            shown.append(f"{where} line {int(bad[0]) + 2}: {len(bad)} STS-B prediction(s) "
                         f"outside [0, 5] (first: {preds.values[bad[0]]:g})")
    if raw.startswith(b"\xef\xbb\xbf"):
        shown.append(f"{where}: starts with a byte-order mark")
    return shown
