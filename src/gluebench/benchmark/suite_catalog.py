"""A suite's tasks as plain rows (``tasks --suite``): fields, labels or range, files per
split with their official sizes and, given a data folder, what is on disk, and the
entries each task's files are scored for with their metrics."""

from __future__ import annotations

import os

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite import Suite, TaskDef


def task_rows(suite: Suite, data_dir: str | os.PathLike | None = None) -> dict[str, dict]:
    """{task: row}; with ``data_dir`` each file gets ``on_disk``: its rows, or "missing"."""
    return {name: _row(suite, task, data_dir) for name, task in suite.tasks.items()}


def _row(suite: Suite, task: TaskDef, data_dir) -> dict:
    files = {}
    for key, spec in task.files.items():
        files[key] = {"path": spec.path, "size": spec.size, "format": spec.format,
                      "labelled": spec.label_column is not None}
        if data_dir is not None:
            files[key]["on_disk"] = _on_disk(suite, task, key, data_dir)
    return {"description": task.description, "input_fields": list(task.input_fields),
            "target": task.target,
            "labels": list(task.labels) if task.labels else None,
            "label_names": list(task.label_names) if task.label_names else None,
            "score_range": list(task.score_range) if task.score_range else None,
            "files": files,
            "entries": {e.name: list(e.metrics) for e in suite.entries.values()
                        if e.task == task.name}}


def _on_disk(suite: Suite, task: TaskDef, key: str, data_dir) -> int | str:
    """The rows read from the file (checked as when scoring), or "missing"."""
    if not suite.data_path(data_dir, task.files[key].path).is_file():
        return "missing"
    return len(load_split(suite, task, key, data_dir, check_size=False))
