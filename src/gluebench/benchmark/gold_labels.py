"""Gold labels for scoring a split: dev labels from the data, test labels a host holds.

GLUE's test labels are hidden, except three that are public in the original releases:
MRPC (``MRPC/msr_paraphrase_test.txt``, column ``Quality``), STS-B
(``STS-B/original/sts-test.tsv``, fifth column) and AX (``diagnostic/diagnostic-full.tsv``,
which is the diagnostic test set with labels and categories). A host holding other test
labels puts them beside the test file, in the submission format with a ``label`` column:
``CoLA/test_labels.tsv``, ``MNLI/test_matched_labels.tsv``, ``QQP/test_labels.tsv``, ...
(header ``index<TAB>label``, one row per test example, labels in the submission vocabulary).
Rows of the public files are in test-index order, as ``test.tsv`` is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gluebench.benchmark.examples import DataSource, Examples
from gluebench.benchmark.scoring import evaluation_examples
from gluebench.benchmark.sources import DirectorySource
from gluebench.benchmark.suite import PublicLabels
from gluebench.benchmark.tasks import BENCHMARKS, Benchmark, get_task
from gluebench.errors import DataError
from gluebench.formats.textfiles import read_lines

LABELS_HEADER = ("index", "label")




def labelled_by_dev_file(benchmark: Benchmark) -> bool:
    """Whether the entry's test labels are its own dev file (AX: the labelled copy of the
    test set is ``diagnostic-full.tsv``, which ``--split dev`` scores)."""
    files = get_task(benchmark.task).files
    public = files[benchmark.test].public_labels
    return public is not None and public.path == files[benchmark.dev].path


# Entries whose test labels are published in another file (MRPC, STS-B): the definition's
# ``public_labels`` of their test files.
PUBLIC_TEST_LABELS: dict[str, PublicLabels] = {
    name: get_task(b.task).files[b.test].public_labels for name, b in BENCHMARKS.items()
    if get_task(b.task).files[b.test].public_labels is not None and not labelled_by_dev_file(b)}


def labels_path(benchmark: Benchmark) -> str:
    """Where a host puts an entry's test labels: ``CoLA/test_labels.tsv``, ..."""
    test = get_task(benchmark.task).files[benchmark.test].path
    return test.removesuffix(".tsv") + "_labels.tsv"


def has_gold(source: DataSource, benchmark: Benchmark, split: str) -> bool:
    """Whether ``source`` holds the labels to score ``benchmark`` on ``split``."""
    task = get_task(benchmark.task)
    if split == "dev" or labelled_by_dev_file(benchmark):
        return source.has(task, benchmark.dev)
    if not isinstance(source, DirectorySource):
        return False
    public = PUBLIC_TEST_LABELS.get(benchmark.name)
    return ((source.root / labels_path(benchmark)).is_file()
            or (public is not None and (source.root / public.path).is_file()))


def load_gold(source: DataSource, benchmark: Benchmark, split: str) -> Examples:
    """The labelled examples of ``split`` (``index`` = the official test or dev index)."""
    if split == "dev" or labelled_by_dev_file(benchmark):
        # AX's labelled file is its test set; its rows are the test indices 0..1103.
        return evaluation_examples(source, benchmark, "dev")
    if not has_gold(source, benchmark, split):
        raise DataError(source.description, f"no test labels for {benchmark.name} "
                        f"({labels_path(benchmark)} not found)")
    own = source.root / labels_path(benchmark)
    if own.is_file():
        index, values = _read_labels_file(own, benchmark)
    else:
        public = PUBLIC_TEST_LABELS[benchmark.name]
        values = _read_public(source.root / public.path, benchmark, public.column)
        index = np.arange(len(values), dtype=np.int64)
    _check_size(own if own.is_file() else source.root, benchmark, len(index))
    task = get_task(benchmark.task)
    return Examples(task, benchmark.test, str(source.root), index, {}, values)


def _values(task, raw: list[str], path: Path, lines: list[int]) -> np.ndarray:
    out = []
    for text, line in zip(raw, lines, strict=True):
        try:
            out.append(task.parse_label(text, what="label"))
        except ValueError as exc:
            raise DataError(path, str(exc), line) from None
    return np.asarray(out, dtype=np.float64 if task.is_regression else np.int64)


def _read_labels_file(path: Path, benchmark: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    lines = read_lines(path)
    if not lines or tuple(lines[0].split("\t")) != LABELS_HEADER:
        raise DataError(path, "expected the header 'index<TAB>label'", 1)
    rows = [line.split("\t") for line in lines[1:]]
    bad = next((n for n, r in enumerate(rows, start=2) if len(r) != 2 or not r[0].isdigit()),
               None)
    if bad is not None:
        raise DataError(path, "expected 'INDEX<TAB>LABEL' with a whole-number index", bad)
    index = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
    if len(np.unique(index)) != len(index):
        raise DataError(path, "duplicate index")
    values = _values(get_task(benchmark.task), [r[1] for r in rows], path,
                     list(range(2, len(rows) + 2)))
    return index, values


def _read_public(path: Path, benchmark: Benchmark, column: str | int) -> np.ndarray:
    lines = read_lines(path)
    if isinstance(column, str):
        header = lines[0].split("\t")
        if column not in header:
            raise DataError(path, f"no column {column}", 1)
        position, first = header.index(column), 2
        lines = lines[1:]
    else:
        position, first = column, 1
    raw = []
    for number, line in enumerate(lines, start=first):
        fields = line.split("\t")
        if len(fields) <= position:
            raise DataError(path, f"expected at least {position + 1} fields", number)
        raw.append(fields[position])
    return _values(get_task(benchmark.task), raw, path, list(range(first, first + len(raw))))


def _check_size(where, benchmark: Benchmark, n: int) -> None:
    expected = get_task(benchmark.task).files[benchmark.test].size
    if n != expected:
        raise DataError(where, f"{benchmark.name} test labels: {n} rows; the official test "
                        f"set has {expected}")
