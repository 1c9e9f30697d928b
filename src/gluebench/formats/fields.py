"""The strict syntax of the fields GLUE files hold, and how offending text is shown.

Python's ``int`` and ``float`` accept far more than a GLUE file should hold:
``int("0_1")``, ``int("١")`` (an Arabic-Indic digit), ``int(" +1 ")``, ``float("2_5")``,
``float("nan")``. A file that relies on any of them is read differently by other tools,
so here an index is ASCII digits only and a number is a plain decimal or scientific
float. Messages quote at most ``SHOWN_CHARS`` characters of what was found, escaped,
and say when a line holds a character that other tools take for a line ending.

>>> parse_index("042")
42
>>> parse_number("-1.5e-3")
-0.0015
"""

from __future__ import annotations

import math
import re

SHOWN_CHARS = 80
MAX_INDEX_DIGITS = 18  # any official index fits; int64 holds every such number

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# Characters that str.splitlines() (and many editors and tools) treat as line endings,
# though GLUE's files only end lines with LF or CRLF.
LINE_BREAKS = {
    "\r": "a lone CR (carriage return)",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x1c": "U+001C (file separator)",
    "\x1d": "U+001D (group separator)",
    "\x1e": "U+001E (record separator)",
    "\x85": "U+0085 (NEL, next line)",
    "\u2028": "U+2028 (line separator)",
    "\u2029": "U+2029 (paragraph separator)",
}
_LINE_BREAK = re.compile("[" + "".join(LINE_BREAKS) + "]")


def quote(text: str, *, tabs: bool = False) -> str:
    """``text`` in single quotes for a message: at most ~80 characters, escaped.

    With ``tabs``, tab characters are shown as ``<TAB>`` (for a header line).
    """
    return f"'{escape(text, tabs=tabs)}'"


def escape(text: str, *, tabs: bool = False) -> str:
    """``text`` fit for a one-line message: control characters escaped, ~80 characters."""
    head = text[:SHOWN_CHARS]
    if tabs:
        head = head.replace("\t", "<TAB>")
    if not head.isprintable():
        head = head.encode("unicode_escape").decode("ascii")
    if len(head) > SHOWN_CHARS or len(text) > SHOWN_CHARS:
        head = head[:SHOWN_CHARS] + "..."
    return head


def line_break_note(line: str) -> str:
    """``"; ..."`` naming a line-ending character inside ``line`` other than LF/CRLF, or ``""``."""
    found = _LINE_BREAK.search(line)
    if found is None:
        return ""
    return (f" (the line holds {LINE_BREAKS[found.group()]}, which is not a line ending here: "
            "lines must end with LF or CRLF)")


def parse_index(text: str) -> int:
    """A non-negative index written in ASCII digits; ValueError saying what was expected."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"index {quote(text)} is not a non-negative integer "
                         "(ASCII digits 0-9 only)")
    if len(text) > MAX_INDEX_DIGITS:
        raise ValueError(f"index {quote(text)} is too large ({len(text)} digits)")
    return int(text)


def parse_number(text: str, what: str = "value") -> float:
    """A finite float written as a plain decimal (``3.8``, ``-0.5``, ``1e-3``).

    Not accepted: ``2_5``, ``nan``, ``inf``, hexadecimal, non-ASCII digits, spaces.
    """
    value = float(text) if NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise ValueError(f"{what} {quote(text)} is not a finite number (expected a plain "
                         "decimal such as 3.8 or 1e-2)")
    return value
