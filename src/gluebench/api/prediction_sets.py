"""A predictor's prediction files for a split: GLUE's (``tasks.py``) or any suite's.

Every entry's examples are read and predicted, and every answer checked, before a file is
written: a bad answer in the last task leaves nothing behind.
"""

from __future__ import annotations

import os

from gluebench.api.predict import Predictor, call, class_ids, entity_texts, rows_of, scores
from gluebench.benchmark.examples import DataSource
from gluebench.benchmark.predictions import predictions_text
from gluebench.benchmark.scoring import evaluation_examples
from gluebench.benchmark.split_reader import load_split, split_file
from gluebench.benchmark.suite import Entry, Suite
from gluebench.benchmark.suite_prediction_writer import prediction_text
from gluebench.benchmark.tasks import Benchmark, get_task, resolve_benchmarks
from gluebench.errors import UsageError


def glue_entries(source: DataSource, tasks, split: str) -> list[Benchmark]:
    """The GLUE entries named (``None``: every one whose ``split`` file ``source`` has)."""
    if tasks is None:
        chosen = [b for b in resolve_benchmarks(None)
                  if source.has(get_task(b.task), b.file_key(split))]
        if not chosen:
            raise UsageError(f"no GLUE {split} file in {source.description}; expected the "
                             "official layout (CoLA/dev.tsv, ...) or data_dir='sample'")
        return chosen
    return resolve_benchmarks(tasks if isinstance(tasks, str) else ",".join(tasks))


def glue_texts(predictor: Predictor, source: DataSource, entries: list[Benchmark],
               split: str) -> dict[str, str]:
    """{submission file: its text} for each GLUE entry, from ``predictor``'s answers."""
    texts = {}
    for b in entries:
        examples = evaluation_examples(source, b, split)
        task = examples.task
        answers = call(predictor, task.name, rows_of(examples.inputs, task.input_fields))
        values = (scores(task.name, answers) if task.is_regression
                  else class_ids(task.name, task.labels, answers))
        texts[b.submission_file] = predictions_text(task, examples.index, values)
    return texts


def suite_entries(suite: Suite, data_dir: str | os.PathLike, tasks, split: str) -> list[Entry]:
    """The suite's entries named (``None``: every one whose ``split`` file is there)."""
    if tasks is not None:
        names = [tasks] if isinstance(tasks, str) else list(tasks)
        names = [n.strip() for name in names for n in name.split(",")]
        return [suite.entry(n) for n in names]
    chosen = [e for e in suite.entries.values() if _present(suite, e, split, data_dir)]
    if not chosen:
        raise UsageError(f"no {suite.title} {split} file under {data_dir}; expected the "
                         "folder holding the suite's data")
    return chosen


def _present(suite: Suite, entry: Entry, split: str, data_dir) -> bool:
    spec = split_file(suite.task(entry.task), entry.file_key(split))
    return suite.data_path(data_dir, spec.path).is_file()


def suite_texts(predictor: Predictor, suite: Suite, data_dir: str | os.PathLike,
                entries: list[Entry], split: str) -> dict[str, str]:
    """{submission file: its text} for each of the suite's entries, in its own format."""
    texts = {}
    for entry in entries:
        task = suite.task(entry.task)
        table = load_split(suite, task, entry.file_key(split), data_dir)
        answers = call(predictor, task.name, rows_of(table.inputs, task.input_fields))
        if task.target == "entity":
            pred = entity_texts(task.name, answers)
        elif task.target == "score":
            pred = scores(task.name, answers)
        else:
            pred = class_ids(task.name, task.labels, answers)
        texts[entry.submission_file] = prediction_text(suite, entry, table, pred)
    return texts
