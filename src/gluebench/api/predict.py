"""A user's predictor called on a split, its answers checked and written as prediction files.

A predictor is any object with ``predict(task, inputs) -> list``: ``task`` is the name of
the task whose file holds the examples (GLUE: ``MNLI`` for MNLI-m and MNLI-mm, ``AX`` for
the diagnostic; SuperGLUE: ``BoolQ``, ``AX-b``, ...), ``inputs`` one dict per example of
the task's input fields (``{"premise": ..., "hypothesis": ...}``), every value a string:
span offsets (WiC's ``start1``, WSC's ``span1_index``) as decimal strings, ReCoRD's
``entities`` as a JSON array of the entity texts. It returns one value per example: a label
string of the task's vocabulary (``gluebench tasks``), a finite number for a score task
(STS-B), an entity text for an entity task (ReCoRD).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.formats.fields import quote

MAX_SHOWN = 80   # characters of a bad value shown in an error


@runtime_checkable
class Predictor(Protocol):
    """What ``gluebench.evaluate`` calls: labels (or scores) for a list of examples."""

    def predict(self, task: str, inputs: list[dict[str, str]]) -> list: ...


def as_text(value) -> str:
    """An input value as the string a predictor sees (lists as JSON arrays)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return json.dumps([str(v) for v in value], ensure_ascii=False)
    return str(value)


def rows_of(inputs: dict[str, list], fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Column lists -> one dict of strings per example."""
    n = len(inputs[fields[0]]) if fields else 0
    return [{f: as_text(inputs[f][i]) for f in fields} for i in range(n)]


def call(predictor: Predictor, task: str, inputs: list[dict[str, str]]) -> list:
    """The predictor's answers, as a list as long as ``inputs`` (else one UsageError)."""
    answers = predictor.predict(task, inputs)
    if isinstance(answers, np.ndarray):
        answers = answers.tolist()
    if isinstance(answers, (str, bytes, dict)) or not hasattr(answers, "__len__"):
        raise UsageError(f"predict({task!r}, ...) returned {type(answers).__name__}; expected "
                         f"a list of {len(inputs)} predictions, one per input")
    answers = list(answers)
    if len(answers) != len(inputs):
        raise UsageError(f"predict({task!r}, ...) returned {len(answers)} predictions for "
                         f"{len(inputs)} inputs; expected one per input")
    return answers


def class_ids(task: str, labels: tuple[str, ...], answers: list) -> np.ndarray:
    """Label strings -> ids into ``labels``; the first bad one is a UsageError naming the row."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.empty(len(answers), dtype=np.int64)
    for row, value in enumerate(answers):
        if not isinstance(value, str) or value not in index:
            raise UsageError(f"predict({task!r}, ...) row {row}: {shown(value)} is not a "
                             f"{task} label; expected one of: {', '.join(labels)}")
        out[row] = index[value]
    return out


def scores(task: str, answers: list) -> np.ndarray:
    """Numbers -> float64; a non-number or a non-finite one is a UsageError naming the row."""
    out = np.empty(len(answers), dtype=np.float64)
    for row, value in enumerate(answers):
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_))
        if not number or not math.isfinite(float(value)):
            raise UsageError(f"predict({task!r}, ...) row {row}: {shown(value)}; expected a "
                             f"finite number (a {task} score)")
        out[row] = float(value)
    return out


def entity_texts(task: str, answers: list) -> list[str]:
    """Entity answers: each a string (ReCoRD: the entity's text)."""
    for row, value in enumerate(answers):
        if not isinstance(value, str):
            raise UsageError(f"predict({task!r}, ...) row {row}: {shown(value)}; expected the "
                             "predicted entity's text (a string)")
    return list(answers)


def shown(value) -> str:
    """A bad value for an error line: strings quoted, others by their repr, both cut short."""
    text = quote(value[:MAX_SHOWN]) if isinstance(value, str) else repr(value)[:MAX_SHOWN]
    return text if isinstance(value, str) else f"{text} ({type(value).__name__})"


def write_files(folder: Path, texts: dict[str, str]) -> Path:
    """Every prediction file's text, written once all of them were made (no half folders)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        atomic_write(folder / name, text)
    return folder
