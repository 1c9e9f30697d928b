"""``gluebench serve``: migrate, then run the web process and N workers, and watch them.

Three kinds of process: this supervisor; the web app (uvicorn running ``app:create_app``),
started with the database and settings but not the data directory; and the workers,
which alone are told where the gold labels are. A worker that dies is restarted (its
job is claimed again when its lease expires); if the web process stops, everything stops.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gluebench.benchmark.sources import open_source
from gluebench.server.health import open_database
from gluebench.server.security import check_bind, check_port
from gluebench.server.settings import ENV, Settings
from gluebench.server.suite_host import hosted_suite, write_gold_ids

POLL_S = 0.5
RESTART_BACKOFF_S = 1.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Processes:
    web: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)


# Variables that could tell the web process where the data is: it gets none of them.
DATA_VARIABLES = ("GLUE_DIR", "GLUEBENCH_TEST_DATA")


def child_env(settings: Settings, *, web: bool) -> dict[str, str]:
    drop = {ENV, *DATA_VARIABLES} if web else {ENV}
    return {k: v for k, v in os.environ.items() if k not in drop} | settings.to_env()


def start_web(settings: Settings, host: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "--factory", "gluebench.server.app:create_app",
               "--host", host, "--port", str(port), "--no-access-log",
               "--timeout-graceful-shutdown", "5"]
    return subprocess.Popen(command, env=child_env(settings, web=True))


def start_worker(settings: Settings, data_dir: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "gluebench.server.worker", "--data-dir", data_dir]
    return subprocess.Popen(command, env=child_env(settings, web=False))


def serve(settings: Settings, data_dir: str, *, host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1, public: bool = False, log=print) -> int:
    """Run until interrupted (SIGINT/SIGTERM) or until the web process exits."""
    check_bind(host, public)
    check_port(host, port)
    open_source(data_dir)  # a missing data directory fails before anything starts
    suite = hosted_suite(settings.suite)  # a bad suite is one line, before the database
    open_database(settings.db_url).dispose()  # checked and migrated, or one line
    with tempfile.TemporaryDirectory(prefix="gluebench-serve-") as tmp:
        if suite is not None:  # the web process checks uploads against the gold files' ids
            ids = write_gold_ids(suite, data_dir, settings.split, Path(tmp) / "gold-ids.json")
            settings = dataclasses.replace(settings, gold_ids=str(ids))
        return _supervise(settings, data_dir, host, port, workers, log)


def _supervise(settings: Settings, data_dir: str, host: str, port: int, workers: int,
               log) -> int:
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    procs = Processes(start_web(settings, host, port),
                      [start_worker(settings, data_dir) for _ in range(workers)])
    hosted = "" if settings.suite == "glue" else f"suite {settings.suite}, "
    log(f"gluebench leaderboard on http://{host}:{port}/ ({hosted}{settings.split} labels, "
        f"{workers} worker(s), web pid {procs.web.pid}, worker pids "
        f"{', '.join(str(w.pid) for w in procs.workers) or 'none'})")
    try:
        while not stopping and procs.web.poll() is None:
            _restart_dead_workers(procs, settings, data_dir, log)
            time.sleep(POLL_S)
    finally:
        _stop_all(procs)
    return 0 if stopping else (procs.web.returncode or 1)


def _restart_dead_workers(procs: Processes, settings: Settings, data_dir: str, log) -> None:
    for i, w in enumerate(procs.workers):
        if w.poll() is not None:
            log(f"worker pid {w.pid} exited ({w.returncode}); starting another")
            time.sleep(RESTART_BACKOFF_S)
            procs.workers[i] = start_worker(settings, data_dir)


def _stop_all(procs: Processes) -> None:
    everyone = [procs.web, *procs.workers]
    for p in everyone:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for p in everyone:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
