"""One writer per run directory: a lock file holding the writer's pid and host.

A second process that finds the lock refuses in one line. A lock left by a process that
died is taken over with a warning, so a killed run can resume: on the same host when its
pid is gone, and from any host (a cluster node that died) when the holder has stopped
renewing it (a thread touches the file every ``LockTiming.heartbeat`` seconds). The
intervals are a small settings object, so tests can pass fractions of a second.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from gluebench.errors import GlueBenchWarning, UsageError

LOCK_NAME = ".gluebench.lock"


@dataclass(frozen=True)
class LockTiming:
    """Seconds between renewals of a held lock, and of silence after which it has no holder."""

    heartbeat: float = 20.0
    stale_after: float = 120.0

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat < self.stale_after:
            raise ValueError(f"lock timing: expected 0 < heartbeat < stale_after, got "
                             f"heartbeat={self.heartbeat}, stale_after={self.stale_after}")


DEFAULT_TIMING = LockTiming()
HEARTBEAT = DEFAULT_TIMING.heartbeat
STALE_AFTER = DEFAULT_TIMING.stale_after


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """``with RunLock(run_dir):`` holds the directory for this process."""

    def __init__(self, root: str | os.PathLike, timing: LockTiming = DEFAULT_TIMING):
        self.path = Path(root) / LOCK_NAME
        self.timing = timing
        self.held = False

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            self.held = True
            self._beat = threading.Event()
            threading.Thread(target=self._renew, daemon=True, name="gluebench-lock").start()
            return self
        raise UsageError(f"{self.path.parent}: could not lock the run directory "
                         f"({self.path} keeps coming back); is another gluebench writing it?")

    def _take_over_if_stale(self) -> None:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
            pid, host = int(holder["pid"]), str(holder["host"])
        except FileNotFoundError:
            return  # released meanwhile: try again
        except (ValueError, KeyError, TypeError, OSError):
            holder, pid, host = {}, None, None  # a half-written or garbled lock
        if pid is not None and host == socket.gethostname() and not _alive(pid):
            warnings.warn(f"{self.path.parent}: taking over the lock of process {pid}, which "
                          "is gone (an earlier run was killed)", GlueBenchWarning, stacklevel=3)
            self.path.unlink(missing_ok=True)
            return
        try:
            silent = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return
        if silent > self.timing.stale_after:
            who = f"process {pid} on {host}" if pid is not None else "an unreadable lock"
            warnings.warn(f"{self.path.parent}: taking over the lock of {who}, not renewed for "
                          f"{silent:.0f} s (its holder died)", GlueBenchWarning, stacklevel=3)
            self.path.unlink(missing_ok=True)
            return
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
        raise UsageError(f"{self.path.parent} is being written by another gluebench (pid "
                         f"{pid} on {host}, since {since}); wait for it to finish, or use "
                         f"another -o (remove {self.path} only if that process is gone)")

    def _renew(self) -> None:
        while not self._beat.wait(self.timing.heartbeat):
            try:
                os.utime(self.path)
            except OSError:
                return

    def __exit__(self, *exc) -> None:
        if self.held:
            self._beat.set()
            self.path.unlink(missing_ok=True)
            self.held = False
