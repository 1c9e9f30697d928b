"""JSON files and atomic writes: a reader never sees half a file, and bad JSON is one error."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from gluebench.errors import DataError


def read_json(path: str | os.PathLike) -> dict:
    """A JSON object from ``path``; an unreadable or malformed file is one ``DataError``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON ({exc.msg})", exc.lineno) from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise DataError(path, "expected a JSON object")
    return data


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write JSON atomically: an interrupted run never leaves a truncated file."""
    return atomic_write(path, json.dumps(obj, indent=2) + "\n")


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write a whole file so that a reader (or an interrupted run) never sees half of it.

    The temporary file has a name unique to this process and call (two processes writing
    the same output never trample each other's temp file), and it is removed on any
    failure, a full disk or an interrupt included: the target is complete or untouched.
    """
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
