"""Strict JSON lines: one JSON object per line, every problem named by file and line.

``json.loads`` on each line would accept more than a data or prediction file should
hold, so the rules here are narrower:

* UTF-8 only. One byte-order mark at the very start of the file is dropped (some
  editors write one); a BOM anywhere else is an error.
* Lines end with LF or CRLF; the last line may lack its newline (the SuperGLUE test
  files do). Blank lines at the end of the file are dropped, as the TSV reader drops
  them; a blank line between records is an error.
* Each line is exactly one JSON object: nothing after it (``{...} x``, ``{...}{...}``),
  no duplicate keys, no ``NaN``/``Infinity``, nesting at most ``MAX_DEPTH`` levels deep,
  integers of at most 4300 digits (Python's own limit; ids are bounded where they are
  used).
* A line longer than ``max_line_bytes`` and a file with more than ``max_lines`` lines
  are refused before they are parsed, so memory stays bounded by the file's size.

Errors are ``DataError``: ``FILE line N: what was found; what was expected``.

>>> parse_jsonl(b'{"idx": 0, "label": true}\\n', "x.jsonl")
[(1, {'idx': 0, 'label': True})]
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from gluebench.errors import DataError
from gluebench.formats.fields import quote

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 4 * 1024 * 1024   # the longest official line (a MultiRC paragraph) is 14 kB
MAX_DEPTH = 32                     # the deepest official record (MultiRC) nests 5 levels
_JSON_SPACE = re.compile(r"[ \t\r\n]*")


class _LineError(ValueError):
    """A problem with one line, before the file and line number are added."""


def read_jsonl(path: str | os.PathLike, *, max_line_bytes: int = MAX_LINE_BYTES,
               max_lines: int | None = None) -> list[tuple[int, dict]]:
    """``(line number, object)`` for every record of a JSON-lines file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a file")
    return parse_jsonl(path.read_bytes(), path, max_line_bytes=max_line_bytes,
                       max_lines=max_lines)


def parse_jsonl(raw: bytes, where: str | os.PathLike, *, max_line_bytes: int = MAX_LINE_BYTES,
                max_lines: int | None = None) -> list[tuple[int, dict]]:
    """``read_jsonl`` for bytes already in memory (a zip member); ``where`` names them."""
    lines = raw.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()  # the final newline, and blank lines after the last record
    if max_lines is not None and len(lines) > max_lines:
        raise DataError(where, f"{len(lines)} lines; expected at most {max_lines}")
    records = []
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        try:
            records.append((number, parse_line(line, max_line_bytes=max_line_bytes)))
        except _LineError as exc:
            raise DataError(where, str(exc), number) from None
    return records


def parse_line(line: bytes, *, max_line_bytes: int = MAX_LINE_BYTES) -> dict:
    """One line (without its LF; a trailing CR is dropped) as a JSON object."""
    line = line[:-1] if line.endswith(b"\r") else line
    if len(line) > max_line_bytes:
        raise _LineError(f"line of {len(line)} bytes; expected at most {max_line_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _LineError(f"not valid UTF-8 (byte {exc.start} of the line)") from None
    if not text.strip():
        raise _LineError("blank line; expected one JSON object per line")
    if "\ufeff" in text:
        raise _LineError("byte-order mark inside the file; only the first line may start "
                         "with one")
    value = _decode(text)
    # Only a line with more brackets than MAX_DEPTH can nest deeper: count before walking.
    if line.count(b"[") + line.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise _LineError(f"JSON nested {_depth(value)} levels deep; expected at most {MAX_DEPTH}")
    if not isinstance(value, dict):
        raise _LineError(f"found a JSON {_json_type(value)}; expected a JSON object "
                         "{...} on every line")
    return value


def _decode(text: str):
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    start = _JSON_SPACE.match(text).end()
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise _LineError(f"not valid JSON ({exc.msg} at column {exc.colno}); expected one "
                         "JSON object per line") from None
    except RecursionError:
        raise _LineError(f"JSON nested too deeply; expected at most {MAX_DEPTH} levels") from None
    except _LineError:
        raise
    except ValueError as exc:  # an integer beyond Python's 4300-digit limit
        raise _LineError(f"not valid JSON ({exc})") from None
    rest = _JSON_SPACE.match(text, end).end()
    if rest != len(text):
        raise _LineError(f"unexpected text {quote(text[rest:])} after the JSON object at "
                         f"column {rest + 1}; expected one JSON object per line")
    return value


def _depth(value) -> int:
    """How many arrays and objects deep ``value`` nests (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _LineError(f"duplicate key {quote(key)} in one object; expected each key once")
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict means a repeated key")


def _no_constant(name: str):
    raise _LineError(f"{name} is not a JSON number; expected a finite number")


def _json_type(value) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
