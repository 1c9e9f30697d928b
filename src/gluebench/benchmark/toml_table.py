"""Reading one table of a TOML file strictly: typed keys, stated caps, typos named.

A ``Table`` hands out its keys through typed getters; each getter checks the value's
type and bounds and raises one ``DataError`` naming the full key (``tasks.RTE.files.dev.
size: expected a whole number from 1 to 100000000, found -3``). ``done()`` then refuses
any key nobody asked for, with a suggestion (``tasks.RTE.metric: unknown key; did you
mean 'metrics'?``), so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Iterable

from gluebench.errors import DataError
from gluebench.formats.fields import quote

MISSING = object()
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def render_key(parts: Iterable[str | int]) -> str:
    """``tasks.SST-2.files.dev`` / ``tasks."my task".labels[3]``, as TOML writes keys."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out += f".{shown}" if out else shown
    return out


def describe(value) -> str:
    """A TOML value as an error message shows it: its type and (short) text."""
    kinds = {str: "string", bool: "boolean", int: "integer", float: "float", list: "array",
             dict: "table"}
    kind = kinds.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, (bool, int, float)):
        return f"the {kind} {str(value).lower() if isinstance(value, bool) else value}"
    return f"a {kind}"


class Table:
    """One TOML table being read (see the module docstring)."""

    def __init__(self, data: dict, where: str | os.PathLike, path: tuple = ()):
        self.data, self.where, self.path = data, where, path
        self.asked: list[str] = []

    def key(self, name: str | tuple | None = None) -> str:
        """The full key of ``name`` (a tuple for an array item: ``("labels", 3)``)."""
        if name is None:
            return render_key(self.path)
        return render_key((*self.path, *(name if isinstance(name, tuple) else (name,))))

    def error(self, name: str | tuple | None, message: str) -> DataError:
        return DataError(self.where, f"{self.key(name)}: {message}")

    def has(self, name: str) -> bool:
        self.asked.append(name)
        return name in self.data

    def names(self) -> list[str]:
        return list(self.data)

    def _get(self, name: str, default, expected: str):
        self.asked.append(name)
        if name in self.data:
            return self.data[name]
        if default is MISSING:
            raise self.error(name, f"missing key; expected {expected}")
        return default

    def _fail(self, name, value, expected: str) -> DataError:
        return self.error(name, f"expected {expected}, found {describe(value)}")

    # ---- scalars --------------------------------------------------------------------

    def text(self, name: str, *, default=MISSING, max_chars: int, pattern: re.Pattern | None
             = None, what: str = "a string") -> str:
        value = self._get(name, default, what)
        if value is default and default is not MISSING:
            return value
        return self.check_text(name, value, max_chars=max_chars, pattern=pattern, what=what)

    def check_text(self, name, value, *, max_chars: int, pattern=None, what="a string") -> str:
        if not isinstance(value, str):
            raise self._fail(name, value, what)
        if len(value) > max_chars:
            raise self.error(name, f"a string of {len(value)} characters; expected at most "
                             f"{max_chars}")
        if _CONTROL.search(value):
            raise self.error(name, f"{quote(value)} holds a control character; expected "
                             "printable text")
        if pattern is not None and not pattern.fullmatch(value):
            raise self._fail(name, value, what)
        return value

    def integer(self, name: str, *, low: int, high: int, default=MISSING) -> int:
        expected = f"a whole number from {low} to {high}"
        value = self._get(name, default, expected)
        if value is default and default is not MISSING:
            return value
        if type(value) is not int or not low <= value <= high:
            raise self._fail(name, value, expected)
        return value

    def number(self, name: str, *, default=MISSING, limit: float = 1e12) -> float:
        expected = f"a finite number between -{limit:g} and {limit:g}"
        value = self._get(name, default, expected)
        if value is default and default is not MISSING:
            return value
        return self.check_number(name, value, limit=limit)

    def check_number(self, name, value, *, limit: float = 1e12) -> float:
        if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > limit:
            raise self._fail(name, value, f"a finite number between -{limit:g} and {limit:g}")
        return float(value)

    def boolean(self, name: str, *, default=MISSING) -> bool:
        value = self._get(name, default, "true or false")
        if type(value) is not bool:
            raise self._fail(name, value, "true or false")
        return value

    def choice(self, name: str, options: tuple[str, ...], *, default=MISSING) -> str:
        expected = "one of " + ", ".join(f"'{o}'" for o in options)
        value = self._get(name, default, expected)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str) or value not in options:
            close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise self.error(name, f"expected {expected}, found {describe(value)}{hint}")
        return value

    def text_or_false(self, name: str, *, default=MISSING, max_chars: int,
                      pattern=None, what: str = "a string") -> str | None:
        """A string, or ``false`` for "none" (TOML has no null)."""
        value = self._get(name, default, f"{what} or false")
        if value is False or value is None:
            return None
        if value is default and default is not MISSING:
            return value
        return self.check_text(name, value, max_chars=max_chars, pattern=pattern,
                               what=f"{what} or false")

    # ---- arrays and tables ------------------------------------------------------------

    def array(self, name: str, *, default=MISSING, max_items: int, min_items: int = 0,
              what: str = "an array") -> list | None:
        value = self._get(name, default, what)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, list):
            raise self._fail(name, value, what)
        if not min_items <= len(value) <= max_items:
            raise self.error(name, f"an array of {len(value)} items; expected {min_items} to "
                             f"{max_items}")
        return value

    def texts(self, name: str, *, default=MISSING, max_items: int, max_chars: int,
              min_items: int = 0, pattern=None, what: str = "a string",
              unique: bool = True) -> tuple[str, ...] | None:
        items = self.array(name, default=default, max_items=max_items, min_items=min_items,
                           what=f"an array of strings ({what})")
        if items is default and default is not MISSING:
            return items
        out = tuple(self.check_text((name, i), v, max_chars=max_chars, pattern=pattern,
                                    what=what) for i, v in enumerate(items))
        if unique and len(set(out)) != len(out):
            repeated = next(v for i, v in enumerate(out) if v in out[:i])
            raise self.error(name, f"{quote(repeated)} appears twice; expected each once")
        return out

    def subtable(self, name: str, *, required: bool = False) -> Table:
        value = self._get(name, MISSING if required else {}, "a table")
        if not isinstance(value, dict):
            raise self._fail(name, value, "a table")
        return Table(value, self.where, (*self.path, name))

    def subtables(self, name: str, *, max_items: int, min_items: int = 0, name_pattern,
                  what: str) -> dict[str, Table]:
        """A table of tables (``[tasks.X]``, ``[tasks.X.files.dev]``), by their names."""
        table = self.subtable(name, required=min_items > 0)
        if not min_items <= len(table.data) <= max_items:
            raise table.error(None, f"{len(table.data)} {what}; expected {min_items} to "
                              f"{max_items}")
        out = {}
        for key in table.data:
            table.check_text(key, key, max_chars=64, pattern=name_pattern,
                             what=f"a {what} name of letters, digits, '.', '-' and '_'")
            out[key] = table.subtable(key, required=True)
        return out

    def table_list(self, name: str, *, max_items: int) -> list[Table]:
        """An array of tables (``spans = [{...}, {...}]``)."""
        items = self.array(name, default=[], max_items=max_items, what="an array of tables")
        tables = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise self._fail((name, i), item, "a table { ... }")
            tables.append(Table(item, self.where, (*self.path, name, i)))
        return tables

    def done(self) -> None:
        """Refuse keys that no getter asked for: a typo must not fall back to a default."""
        for key in self.data:
            if key not in self.asked:
                close = difflib.get_close_matches(key, self.asked, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                known = ", ".join(dict.fromkeys(self.asked))
                raise self.error(key, f"unknown key{hint} (expected: {known})")
