"""Finding a task or entry by the name a user typed: case, "-" and "_" are forgiven."""

from __future__ import annotations

import difflib

from gluebench.errors import UsageError


def fold(name: str) -> str:
    """``name`` as compared: lower case, without "-" and "_" (``SST_2`` and ``sst2`` match)."""
    return name.lower().replace("-", "").replace("_", "")


def lookup_name(name: str, table: dict, kind: str):
    """``table[name]`` with case, "-" and "_" ignored; else a UsageError with a close match."""
    folded = {fold(k): v for k, v in table.items()}
    if fold(name) in folded:
        return folded[fold(name)]
    close = difflib.get_close_matches(name, list(table), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"Unknown {kind} '{name}'.{hint} Known: {', '.join(table)}")
