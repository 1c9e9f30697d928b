"""The one error boundary: every expected failure becomes one ``error:`` line and exit 2.

Library code raises ``GlueBenchError`` (with the file, line and what was expected) where
it knows the context. What reaches this boundary unconverted is still explained in one
line when it is an expected kind of failure: the operating system refusing (permissions,
a full or read-only disk, a path of the wrong kind), undecodable or corrupt files, memory,
an interrupt. Only a real bug prints a traceback, and it says so.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import traceback
import warnings
import zipfile

from gluebench.cli.common import EXIT_USAGE
from gluebench.errors import GlueBenchError, GlueBenchWarning

EXIT_BUG = 1
REPORT = "this is a bug in gluebench: please report it with the command line and this traceback"

# What to do about each operating-system refusal, by errno.
OS_ADVICE = {
    errno.EACCES: "permission denied; choose a location you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted; choose another location",
    errno.EROFS: "read-only file system; write the output somewhere writable",
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EISDIR: "is a directory; expected a file",
    errno.ENOTDIR: "a part of this path is a file, not a directory",
    errno.EEXIST: "already exists; remove it or choose another name",
    errno.ENOENT: "no such file or directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
}


def explain(exc: BaseException) -> str | None:
    """The one line for an expected failure, or None for a bug."""
    if isinstance(exc, GlueBenchError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in OS_ADVICE:
        where = exc.filename if exc.filename is not None else "a file"
        extra = f" -> {exc.filename2}" if exc.filename2 else ""
        return f"{where}{extra}: {OS_ADVICE[exc.errno]}"
    if isinstance(exc, UnicodeDecodeError):
        return (f"a file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); save it as UTF-8")
    if isinstance(exc, zipfile.BadZipFile):
        return f"a file is not a valid zip archive (corrupt or truncated): {exc}"
    if isinstance(exc, MemoryError):
        return "out of memory; use smaller batches or fewer examples"
    if type(exc).__name__ == "SafetensorError":
        return f"a model weights file (safetensors) is corrupt or truncated: {exc}"
    return None


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _terminated(signum, frame):
    # A scheduler's SIGTERM (preemption, `kill`) ends the work like Ctrl-C: cleanly, resumable.
    raise KeyboardInterrupt


def run_guarded(func, args) -> int:
    """``func(args)`` with warnings as one line each and failures as one ``error:`` line."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", GlueBenchWarning)
        warnings.showwarning = _print_warning
        try:
            return func(args)
        except KeyboardInterrupt:
            print("error: interrupted; finished work is saved, re-run the same command to "
                  "resume", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:  # `gluebench tasks --json | head`: the reader left early
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            line = explain(exc)
            if line is None:
                traceback.print_exc()
                print(f"error: {REPORT}", file=sys.stderr)
                return EXIT_BUG
            print("error: " + " ".join(line.splitlines()), file=sys.stderr)  # one line, always
            return EXIT_USAGE
