"""The run lock's timing, in real time but fractions of a second (LockTiming is injectable)."""

from __future__ import annotations

import json
import os
import time

import pytest

from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.runs.lock import LOCK_NAME, LockTiming, RunLock

FAST = LockTiming(heartbeat=0.05, stale_after=0.4)


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_held_lock_is_renewed_every_heartbeat(tmp_path):
    with RunLock(tmp_path, FAST) as lock:
        old = time.time() - 3600
        os.utime(lock.path, (old, old))
        # A loaded CI machine may delay the thread; 40 heartbeats is still far below 20 s.
        assert _wait_for(lambda: lock.path.stat().st_mtime > old + 3000, 2.0)
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_renewed_lock_outlives_stale_after_and_a_silent_one_is_taken_over(tmp_path):
    with RunLock(tmp_path, FAST):
        time.sleep(2 * FAST.stale_after)        # renewed meanwhile: its holder is alive
        with pytest.raises(UsageError, match="being written by another gluebench"):
            RunLock(tmp_path, FAST).__enter__()
    # A holder on another node that stopped renewing: refused while fresh, taken over once
    # it has been silent for longer than stale_after.
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps({"pid": 1, "host": "another-node", "since": time.time()}))
    with pytest.raises(UsageError, match="another-node"):
        RunLock(tmp_path, FAST).__enter__()
    time.sleep(FAST.stale_after + 0.1)
    with pytest.warns(GlueBenchWarning, match="not renewed"), RunLock(tmp_path, FAST) as taken:
        assert json.loads(lock.read_text())["pid"] == os.getpid() and taken.held


def test_the_default_timing_is_the_documented_one_and_nonsense_is_refused(tmp_path):
    assert RunLock(tmp_path).timing == LockTiming(heartbeat=20.0, stale_after=120.0)
    for heartbeat, stale in ((0, 1), (-1, 1), (2, 1), (1, 1), (float("nan"), 1)):
        with pytest.raises(ValueError, match="heartbeat < stale_after"):
            LockTiming(heartbeat=heartbeat, stale_after=stale)
