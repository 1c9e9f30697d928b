"""One exception type per kind of user error; the CLI prints each as one line, exit 2."""

from __future__ import annotations

import os


class GlueBenchError(Exception):
    """A problem with the user's input, explained in one line."""


class UsageError(GlueBenchError):
    """A flag, name or option that does not exist or does not fit."""


class DataError(GlueBenchError):
    """A data or prediction file that is missing or does not follow the official format."""

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None):
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path} line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class GlueBenchWarning(UserWarning):
    """Something a user should know about but that does not stop the run."""
