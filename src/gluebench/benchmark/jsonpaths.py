"""Field paths into JSON records: ``passage.text``, ``passage.questions[].answers[].idx``.

A path is dot-separated keys; a key written ``key[]`` steps into every item of the list
at ``key``. A file's *rows* path names the list whose items are the examples (MultiRC:
``passage.questions[].answers[]`` gives one row per answer option; the empty path gives
one row per line). Every other path is read *for a row*: the part it shares with the
rows path (``passage.questions[]``) is the row's own item at that level, and the rest is
read from there. A ``[]`` after the shared part collects a list (ReCoRD's answers:
``qas[].answers[].text`` for rows ``qas[]``).

>>> rows = parse_path("qas[]")
>>> record = {"idx": 7, "qas": [{"query": "q", "answers": [{"text": "a"}, {"text": "b"}]}]}
>>> [value_for(row, rows, parse_path("qas[].answers[].text")) for row in walk_rows(record, rows)]
[['a', 'b']]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_STEPS = 16
_KEY = re.compile(r"[^.\[\]\x00-\x1f]+")


class PathError(ValueError):
    """A path that does not fit a record; the reader adds the file and line."""


class MissingField(PathError):
    """The record has no value at the path (an optional column may be absent)."""


@dataclass(frozen=True)
class Step:
    key: str
    each: bool  # ``key[]``: step into every item of the list


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a path; ValueError saying what was expected. ``""`` is the record itself."""
    if text == "":
        return ()
    parts = text.split(".")
    if len(parts) > MAX_STEPS:
        raise ValueError(f"path {text!r} has {len(parts)} steps; expected at most {MAX_STEPS}")
    steps = []
    for part in parts:
        each = part.endswith("[]")
        key = part[:-2] if each else part
        if not _KEY.fullmatch(key):
            raise ValueError(f"path {text!r}: step {part!r} is not a key (or key[]); expected "
                             "keys separated by '.', e.g. passage.questions[].idx")
        steps.append(Step(key, each))
    return tuple(steps)


def show(path: tuple[Step, ...]) -> str:
    return ".".join(s.key + ("[]" if s.each else "") for s in path)


def shared_levels(rows: tuple[Step, ...], path: tuple[Step, ...]) -> int:
    """How many list levels of ``rows`` the path shares (0: it starts at the record)."""
    levels = 0
    for i, step in enumerate(rows):
        if i >= len(path) or path[i] != step:
            break
        levels += step.each
    return levels


def check_against_rows(rows: tuple[Step, ...], path: tuple[Step, ...]) -> None:
    """ValueError if ``path`` reads a step of the rows path differently (list vs object)."""
    for step, row_step in zip(path, rows, strict=False):
        if step.key != row_step.key:
            return
        if step.each != row_step.each:
            how = {True: "as a list (with '[]')", False: "as an object (without '[]')"}
            raise ValueError(f"path {show(path)!r} reads '{step.key}' {how[step.each]}, but "
                             f"the rows path {show(rows)!r} reads it {how[row_step.each]}")


def walk_rows(record: dict, rows: tuple[Step, ...]) -> list[tuple]:
    """Each row of ``record``: the items it is in, one per list level (the record first)."""
    found: list[tuple[tuple, object]] = [((record,), record)]
    for i, step in enumerate(rows):
        nxt = []
        for levels, node in found:
            value = _child(node, step.key, rows[:i + 1])
            if step.each:
                nxt.extend(((*levels, item), item) for item in _as_list(value, rows[:i + 1]))
            else:
                nxt.append((levels, value))
        found = nxt
    return [levels for levels, _ in found]


def value_for(levels: tuple, rows: tuple[Step, ...], path: tuple[Step, ...]):
    """The value of ``path`` for the row whose items are ``levels`` (from ``walk_rows``)."""
    shared = shared_levels(rows, path)
    start = _position_after(rows, shared)
    return _read(levels[shared], path[start:], path[:start], path)


def _position_after(rows: tuple[Step, ...], levels: int) -> int:
    """Index in the path just after the ``levels``-th list step of ``rows``."""
    if levels == 0:
        return 0
    seen = 0
    for i, step in enumerate(rows):
        seen += step.each
        if seen == levels:
            return i + 1
    raise AssertionError("unreachable: levels counted from rows")


def _read(node, steps: tuple[Step, ...], done: tuple[Step, ...], full: tuple[Step, ...]):
    for i, step in enumerate(steps):
        node = _child(node, step.key, (*done, *steps[:i + 1]))
        if step.each:
            rest, here = steps[i + 1:], (*done, *steps[:i + 1])
            return [_read(item, rest, here, full) for item in _as_list(node, here)]
    return node


def _child(node, key: str, at: tuple[Step, ...]):
    if not isinstance(node, dict):
        parent = show(at[:-1]) or "the record"
        raise PathError(f"'{parent}' is a {_kind(node)}; expected an object with the field "
                        f"'{key}'")
    if key not in node:
        raise MissingField(f"missing field '{show(at).removesuffix('[]')}'")
    return node[key]


def _as_list(value, at: tuple[Step, ...]) -> list:
    if not isinstance(value, list):
        raise PathError(f"'{show(at).removesuffix('[]')}' is a {_kind(value)}; expected a list")
    return value


def _kind(value) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
             float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
