"""Loading GLUE examples from the official directory layout or the bundled sample.

Every source yields the same ``Examples``: inputs by our field names, labels as
class ids into ``Task.labels`` (or float scores for STS-B), and each example's
official index. Columns are read by name, so MNLI's reduced-column copies load
like the full files.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from gluebench.benchmark.examples import DataSource, Examples
from gluebench.benchmark.hub import HFSource
from gluebench.benchmark.tasks import TASKS, SplitFile, Task, get_task
from gluebench.errors import DataError, GlueBenchWarning, UsageError
from gluebench.formats.fields import line_break_note, parse_index, quote
from gluebench.formats.textfiles import read_tsv

SAMPLE_DIR = Path(__file__).parents[1] / "sample_data" / "glue"  # gluebench/sample_data

# Columns kept beside inputs and labels when a file has them (AX categories, MNLI genre):
# every file's ``meta`` in the GLUE definition.
META_COLUMNS = tuple(dict.fromkeys(column for task in TASKS.values()
                                   for spec in task.files.values()
                                   for column in spec.meta_columns))


class DirectorySource:
    """A directory in the official GLUE layout (``CoLA/train.tsv``, ``MNLI/dev_matched.tsv``...)."""

    def __init__(self, root: str | os.PathLike, *, check_sizes: bool = True, description=None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "data directory not found (expected the official GLUE "
                            "layout: CoLA/dev.tsv, SST-2/dev.tsv, ...)")
        self.check_sizes = check_sizes
        self.description = description or str(self.root)

    def path(self, task: Task, split: str) -> Path:
        return self.root / split_file(task, split).path

    def has(self, task: Task, split: str) -> bool:
        return split in task.files and self.path(task, split).is_file()

    def load(self, task: Task, split: str) -> Examples:
        return read_split(task, split, self.path(task, split), check_size=self.check_sizes)


def read_split(task: Task, split: str, path: str | os.PathLike, *,
               check_size: bool = False) -> Examples:
    """A file in the format of the task's official ``split`` file, wherever it lives."""
    spec, path = split_file(task, split), Path(path)
    columns, rows = read_tsv(path, spec.header)
    wanted = [*spec.text_columns, *filter(None, [spec.label_column, spec.index_column])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}; header has: "
                        f"{quote(', '.join(columns))}{line_break_note(chr(9).join(columns))}", 1)
    col = {name: i for i, name in enumerate(columns)}
    inputs = {f: [r[col[c]] for _, r in rows] for f, c in zip(task.input_fields,
                                                               spec.text_columns, strict=True)}
    labels = None
    if spec.label_column is not None:
        li = col[spec.label_column]
        parsed = [_gold_label(task, r[li], path, n) for n, r in rows]
        labels = np.asarray(parsed, dtype=np.float64 if task.is_regression else np.int64)
    index = _read_index(path, rows, col.get(spec.index_column))
    meta = {c: [r[col[c]] for _, r in rows] for c in META_COLUMNS if c in col}
    examples = Examples(task, split, str(path), index, inputs, labels, meta)
    if check_size and len(examples) != spec.size:
        warnings.warn(f"{path}: {len(examples)} examples, but the official {task.name} "
                      f"{split} set has {spec.size}", GlueBenchWarning, stacklevel=2)
    return examples


def _gold_label(task: Task, value: str, path, line: int) -> int | float:
    try:
        return task.parse_label(value, what="score")
    except ValueError as exc:
        raise DataError(path, str(exc), line) from None


def _read_index(path, rows, index_col: int | None) -> np.ndarray:
    if index_col is None:
        return np.arange(len(rows), dtype=np.int64)
    index = np.empty(len(rows), dtype=np.int64)
    for i, (number, r) in enumerate(rows):
        try:
            index[i] = parse_index(r[index_col])
        except ValueError as exc:
            raise DataError(path, str(exc), number) from None
    return index


def split_file(task: Task, split: str) -> SplitFile:
    if split not in task.files:
        raise UsageError(f"{task.name} has no '{split}' split; it has: {', '.join(task.files)}")
    return task.files[split]


def sample_source() -> DirectorySource:
    """The small real-data sample shipped with the package (see its ATTRIBUTION.md)."""
    return DirectorySource(SAMPLE_DIR, check_sizes=False, description="bundled sample")


def open_source(spec: str | os.PathLike | None) -> DataSource:
    """A data source from a CLI value.

    ``DIR`` (official layout), ``sample`` (bundled), ``hf`` or ``hf:NAME_OR_PATH``
    (Hugging Face ``datasets``: a hub name, or a folder written by ``save_to_disk``).
    ``None`` means ``$GLUE_DIR``.
    """
    if spec is None:
        spec = os.environ.get("GLUE_DIR")
        if not spec:
            raise UsageError("no data given: pass --data-dir DIR (official GLUE layout), "
                             "--data-dir sample, or set GLUE_DIR")
    spec = str(spec)
    if spec == "sample":
        return sample_source()
    if spec == "hf" or spec.startswith("hf:"):
        return HFSource(spec[3:] or None)
    return DirectorySource(spec)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers (never when HF_HUB_OFFLINE or HF_DATASETS_OFFLINE)."""
    import socket

    if any(os.environ.get(v, "0").lower() in ("1", "true", "yes")
           for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def default_source(spec: str | os.PathLike | None) -> tuple[DataSource, str]:
    """The data for ``gluebench run``, and why: the flag, $GLUE_DIR, the hub, or the sample."""
    if spec:
        return open_source(spec), "--data-dir"
    if os.environ.get("GLUE_DIR"):
        return open_source(os.environ["GLUE_DIR"]), "$GLUE_DIR"
    if hub_reachable():
        try:
            import datasets  # noqa: F401
        except ImportError:
            return sample_source(), "no $GLUE_DIR; the hub needs `pip install datasets`"
        return open_source("hf"), "no $GLUE_DIR; the Hugging Face hub answered"
    return sample_source(), "no --data-dir, no $GLUE_DIR, and the hub is unreachable"


def load(task: str | Task, split: str, source: DataSource | str) -> Examples:
    """Load one split of one task, e.g. ``load("RTE", "dev", "../shared/data/glue")``."""
    task = get_task(task) if isinstance(task, str) else task
    source = open_source(source) if isinstance(source, (str, os.PathLike)) else source
    return source.load(task, split)
