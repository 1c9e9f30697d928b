"""Hosting a non-GLUE suite (``serve --suite superglue|PATH``): its board, checks and grading.

GLUE keeps its own path (``board``, ``submissions``, ``grading``), byte for byte; this
module is what changes when the settings name another suite. The board's columns are the
suite's entries, its score the suite's aggregate (entries in no group, AX-b and AX-g,
shown beside it); uploads are checked by ``suite_submission.inspect_suite_submission``
against the ids of the gold files the host holds (as ``validate --data-dir`` checks them),
else the suite's official sizes, and workers grade the stored zip with ``suite_scoring``
exactly as ``gluebench score --suite`` grades a folder.

The web process holds no data: ``serve`` reads the gold files' ids (never their labels)
into a JSON file (``write_gold_ids``) and names it in the settings (``gold_ids``).
"""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, load_suite
from gluebench.benchmark.suite_scoring import score_suite_predictions
from gluebench.benchmark.suite_submission import (
    MAX_ROW_BYTES,
    Expected,
    expected_rows,
    inspect_suite_submission,
)
from gluebench.formats import safezip
from gluebench.formats.atomic import atomic_write
from gluebench.server.board import BoardSpec
from gluebench.server.errors import Invalid


@lru_cache(maxsize=8)
def hosted_suite(name_or_path: str) -> Suite | None:
    """The suite a server hosts, loaded and checked once per process; None for GLUE (its
    own path)."""
    return None if name_or_path == DEFAULT_SUITE else load_suite(name_or_path)


def suite_spec(suite: Suite) -> BoardSpec:
    return BoardSpec(title=suite.title, entries=tuple(suite.entries),
                     aggregate=suite.aggregate.name,
                     subs={n: "/".join(e.metrics) for n, e in suite.entries.items()},
                     submit_files=f"the {len(suite.entries)} prediction files")


def check_suite_zip(data: bytes, suite: Suite, split: str,
                    known: dict[str, Expected] | None = None) -> None:
    """The validator of ``gluebench validate --suite``: every problem in one ``Invalid``.
    ``known``: the ids of the host's gold files (``read_gold_ids``)."""
    if not data:
        raise Invalid(["file: required (the submission zip)"])
    problems = inspect_suite_submission(suite, data, split=split, label="upload", known=known)
    if problems:
        raise Invalid(problems)


def gold_ids(suite: Suite, data_dir: str, split: str) -> dict[str, Expected]:
    """The ids each entry's upload must hold, read from the gold files this host has (an
    entry whose file is absent here is checked against its official size)."""
    out = {}
    for name, entry in suite.entries.items():
        file = suite.task(entry.task).files.get(entry.file_key(split))
        if file is not None and suite.data_path(data_dir, file.path).is_file():
            out[name] = expected_rows(suite, entry, split, data_dir)
    return out


def write_gold_ids(suite: Suite, data_dir: str, split: str, path: Path) -> Path:
    """``gold_ids`` as JSON at ``path`` (ids only, no labels), for the web process."""
    entries = {name: {"ids": e.ids.tolist(),
                      "enclosing": None if e.enclosing is None else
                      [[i, list(g)] for i, g in e.enclosing.items()]}
               for name, e in gold_ids(suite, data_dir, split).items()}
    atomic_write(path, json.dumps({"suite": suite.sha256, "split": split,
                                   "entries": entries}).encode())
    return path


@lru_cache(maxsize=2)
def read_gold_ids(path: str | None) -> dict[str, Expected] | None:
    """What ``write_gold_ids`` wrote (read once per process); None without a file."""
    if path is None:
        return None
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: Expected(np.asarray(e["ids"], dtype=np.int64),
                           None if e["enclosing"] is None else
                           {int(i): tuple(g) for i, g in e["enclosing"]})
            for name, e in doc["entries"].items()}


def unpack_zip(data: bytes, folder: Path, suite: Suite, split: str) -> None:
    """The zip's submission files into ``folder`` (checked at upload; read through
    ``safezip`` again, so a stored zip can never write outside ``folder``)."""
    wanted = {e.submission_file: e for e in suite.entries.values()}
    with safezip.open_archive(data) as archive:
        for info in archive.infolist():
            entry = wanted.get(info.filename)
            if entry is None or safezip.member_problem(info):
                continue
            size = suite.task(entry.task).files[entry.file_key(split)].size
            limit = 4096 + MAX_ROW_BYTES * size  # the bound the upload check read it with
            (folder / info.filename).write_bytes(safezip.read_member(archive, info, limit))


def score_suite_zip(data: bytes, suite: Suite, data_dir: str, split: str, *,
                    n_resamples: int, label: str) -> dict:
    """The results JSON of ``gluebench score --suite`` on the zip's files, plus
    ``not_scored``: entries whose gold file this host lacks or holds without labels."""
    with tempfile.TemporaryDirectory(prefix="gluebench-suite-") as tmp:
        folder = Path(tmp)
        unpack_zip(data, folder, suite, split)
        not_scored = [name for name, e in suite.entries.items()
                      if not _has_gold(suite, name, split, data_dir)]
        for name in not_scored:
            (folder / suite.entry(name).submission_file).unlink(missing_ok=True)
        results = score_suite_predictions(suite, data_dir, folder, split=split,
                                          n_resamples=n_resamples)
    results["predictions"] = label
    results["not_scored"] = not_scored
    return results


def _has_gold(suite: Suite, name: str, split: str, data_dir: str) -> bool:
    entry = suite.entry(name)
    task = suite.task(entry.task)
    file = task.files.get(entry.file_key(split))
    if file is None or not suite.data_path(data_dir, file.path).is_file():
        return False
    return file.label_column is not None


def suite_summary(results: dict, suite: Suite) -> dict:
    """A board row's data: each entry's metrics and score (no CIs), the aggregate."""
    keep = ("ci", "categories")
    tasks = {name: {k: v for k, v in t.items() if k not in keep}
             for name, t in results["tasks"].items()}
    names = (suite.aggregate.name, "partial_average", "partial_average_tasks", "tasks_missing")
    return {"tasks": tasks, **{k: results.get(k) for k in names},
            "suite": results["suite"], "not_scored": results.get("not_scored", [])}


def suite_headline(results: dict, suite: Suite) -> float | None:
    value = results.get(suite.aggregate.name)
    return value if value is not None else results.get("partial_average")
