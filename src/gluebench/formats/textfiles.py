"""Reading and writing GLUE's tab-separated files, quirks included.

GLUE files are not CSV: quote characters are ordinary text (``"the witness"``),
so every line is split on tabs and nothing else. The real files also start with
a UTF-8 byte-order mark (MRPC), end lines with CRLF (the diagnostic set), or end
without a final newline (CoLA dev). All of that is normalised here, once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gluebench.errors import DataError
from gluebench.formats.fields import escape, line_break_note


def read_lines(path: str | os.PathLike) -> list[str]:
    """The file's lines without terminators; a BOM and trailing blank lines are dropped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a file")
    return decode_lines(path.read_bytes(), path)


def decode_lines(raw: bytes, where: str | os.PathLike) -> list[str]:
    """``read_lines`` for bytes already in memory (a zip member); ``where`` names them."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(where, f"not valid UTF-8 (byte {exc.start})", line) from None
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_tsv(
    path: str | os.PathLike, header: Sequence[str] | None = None
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Split a TSV file into its column names and ``(line_number, fields)`` rows.

    ``header`` names the columns of a file that has no header line (CoLA train/dev).
    Every row must have exactly as many fields as there are columns.
    """
    lines = read_lines(path)
    if not lines:
        raise DataError(path, "empty file")
    first_data = 0 if header is not None else 1
    columns = list(header) if header is not None else lines[0].split("\t")
    rows = []
    for number, line in enumerate(lines[first_data:], start=first_data + 1):
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise DataError(
                path,
                f"expected {len(columns)} tab-separated fields "
                f"({escape(', '.join(columns))}), "
                f"found {len(fields)}{line_break_note(line)}",
                number,
            )
        rows.append((number, fields))
    return columns, rows
