"""From the raw values of a file's rows to a checked ``ExampleTable`` (any file format).

The readers (``split_reader`` for TSV, ``jsonl_sources`` for JSON lines) only pull values
out of the file; everything a value must satisfy is checked here, once, with the line it
came from: gold tokens against the vocabulary, ids (whole numbers, or strings of digits
as in AX-b; unique within the file), group ids, minimal pairs, and spans — character
offsets inside their text (WiC: end exclusive; ReCoRD's entities: end inclusive),
whitespace-token indices inside their text (WSC), a span's stated text where it is
given (CLUEWSC2020).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gluebench.benchmark.item_metrics import consecutive_pairs
from gluebench.benchmark.suite import Span, TaskDef
from gluebench.benchmark.table import ExampleTable, gold_label
from gluebench.errors import DataError
from gluebench.formats.fields import parse_index, quote


@dataclass
class RawColumns:
    """Values pulled out of a file, one list entry per row, before any check."""

    lines: list[int] = field(default_factory=list)       # the line each row comes from
    inputs: dict[str, list] = field(default_factory=dict)
    labels: list | None = None
    ids: list | None = None                               # None: ids are row positions
    groups: dict[str, list] = field(default_factory=dict)
    meta: dict[str, list] = field(default_factory=dict)


def assemble(task: TaskDef, key: str, path, raw: RawColumns) -> ExampleTable:
    """The checked table; the first bad value is a DataError naming its line."""
    spec = task.files[key]
    check = _Checker(path, raw.lines)
    labels, answers = _gold(task, raw.labels, check)
    ids = check.ids(raw.ids, spec.index_column or "index", unique=True)
    groups = {name: check.ids(values, name) for name, values in raw.groups.items()}
    if spec.pairs:
        if len(raw.lines) % 2:
            raise DataError(path, f"{len(raw.lines)} rows; minimal pairs (rows 2k, 2k+1) need "
                            "an even number")
        groups["pair"] = consecutive_pairs(len(raw.lines))
    inputs = dict(raw.inputs)
    offsets = {f for span in task.spans for f in (span.start, span.end) if f}
    lists = {span.list for span in task.spans if span.list}
    for name, values in inputs.items():
        if name not in offsets | lists:
            check.strings(values, name)
    for span in task.spans:
        _apply_span(span, inputs, check)
    meta = {name: check.strings(values, name, missing="") for name, values in raw.meta.items()}
    return ExampleTable(task, key, str(path), ids, inputs, labels, answers, groups, meta)


class _Checker:
    """Errors that name the file and the line of row ``i``."""

    def __init__(self, path, lines: list[int]):
        self.path, self.lines = path, lines

    def fail(self, row: int, message: str) -> DataError:
        return DataError(self.path, message, self.lines[row] if self.lines else None)

    def ids(self, values: list | None, what: str, *, unique: bool = False) -> np.ndarray:
        if values is None:
            return np.arange(len(self.lines), dtype=np.int64)
        out = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            out[i] = self.one_id(i, value, what)
        if unique and len(np.unique(out)) != len(out):
            _, first, counts = np.unique(out, return_index=True, return_counts=True)
            dup = int(out[first[np.argmax(counts > 1)]])
            rows = np.flatnonzero(out == dup)
            raise self.fail(int(rows[1]), f"duplicate {what} {dup} (first on line "
                            f"{self.lines[rows[0]]}); expected each row's {what} once")
        return out

    def one_id(self, row: int, value, what: str) -> int:
        try:
            if isinstance(value, str):
                return parse_index(value)
            if type(value) is int and 0 <= value < 10**18:
                return value
        except ValueError as exc:
            raise self.fail(row, f"{what}: {exc}") from None
        raise self.fail(row, f"{what} is {_shown(value)}; expected a non-negative whole number "
                        "(or a string of its digits)")

    def strings(self, values: list, what: str, *, missing: str | None = None) -> list[str]:
        out = []
        for i, value in enumerate(values):
            if value is None and missing is not None:
                value = missing
            if not isinstance(value, str):
                raise self.fail(i, f"field '{what}' is {_shown(value)}; expected a string")
            out.append(value)
        return out

    def offset(self, row: int, value, what: str) -> int:
        if isinstance(value, str):
            try:
                return parse_index(value)
            except ValueError as exc:
                raise self.fail(row, f"{what}: {exc}") from None
        if type(value) is not int or value < 0:
            raise self.fail(row, f"{what} is {_shown(value)}; expected a non-negative whole "
                            "number (an offset)")
        return value


def _shown(value) -> str:
    if isinstance(value, str):
        return f"the string {quote(value)}"
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _gold(task: TaskDef, values: list | None, check: _Checker):
    """(labels, answers): class ids or scores, or each row's entity answers."""
    if values is None:
        return None, None
    if task.target == "entity":
        answers = []
        for i, value in enumerate(values):
            if not isinstance(value, list) or not value:
                raise check.fail(i, f"gold answers are {_shown(value)}; expected a non-empty "
                                 "list of answer texts")
            answers.append(tuple(check.strings(value, "answer text")))
        return None, answers
    parsed = []
    for i, value in enumerate(values):
        try:
            parsed.append(gold_label(task, value, what="score" if task.is_regression
                                     else "label"))
        except ValueError as exc:
            raise check.fail(i, str(exc)) from None
    dtype = np.float64 if task.is_regression else np.int64
    return np.asarray(parsed, dtype=dtype), None


def _apply_span(span: Span, inputs: dict[str, list], check: _Checker) -> None:
    """Check one span in every row; offsets become ints, entity lists their texts."""
    texts = check.strings(inputs[span.text], span.text)
    if span.list:
        inputs[span.list] = [_entity_texts(i, text, value, span, check)
                             for i, (text, value) in enumerate(zip(texts, inputs[span.list],
                                                                    strict=True))]
        return
    starts = [check.offset(i, v, span.start) for i, v in enumerate(inputs[span.start])]
    inputs[span.start] = starts
    if span.unit == "token":
        for i, (text, start) in enumerate(zip(texts, starts, strict=True)):
            if start >= len(text.split()):
                raise check.fail(i, f"{span.start} = {start} is past the last token of "
                                 f"'{span.text}' ({len(text.split())} whitespace-separated "
                                 "tokens)")
        return
    if span.end:
        ends = [check.offset(i, v, span.end) + span.inclusive
                for i, v in enumerate(inputs[span.end])]
        inputs[span.end] = [e - span.inclusive for e in ends]
    elif span.covers:
        covered = check.strings(inputs[span.covers], span.covers)
        ends = [s + len(c) for s, c in zip(starts, covered, strict=True)]
    else:
        ends = [s + 1 for s in starts]  # only the start is given: it must be inside the text
    for i, (text, start, end) in enumerate(zip(texts, starts, ends, strict=True)):
        _check_chars(check, i, text, start, end, span)
        if span.covers and text[start:end] != inputs[span.covers][i]:
            raise check.fail(i, f"'{span.text}'[{start}:{end}] is {quote(text[start:end])}, "
                             f"not {span.covers} {quote(inputs[span.covers][i])}")


def _check_chars(check: _Checker, row: int, text: str, start: int, end: int, span: Span):
    if not start < end <= len(text):
        last = "end (inclusive)" if span.inclusive else "end"
        raise check.fail(row, f"span {start}..{end} ({span.start or 'start'}, "
                         f"{span.end or last}) is not inside '{span.text}' ({len(text)} "
                         f"characters); expected 0 <= start < end <= {len(text)}")


def _entity_texts(row: int, text: str, value, span: Span, check: _Checker) -> list[str]:
    if not isinstance(value, list):
        raise check.fail(row, f"field '{span.list}' is {_shown(value)}; expected a list of "
                         "{\"start\", \"end\"} objects")
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"start", "end"}:
            raise check.fail(row, f"an item of '{span.list}' is {_shown(item)}; expected "
                             "{\"start\": ..., \"end\": ...}")
        start = check.offset(row, item["start"], f"{span.list} start")
        end = check.offset(row, item["end"], f"{span.list} end") + span.inclusive
        _check_chars(check, row, text, start, end, span)
        out.append(text[start:end])
    return out
