"""Where trials run, behind one small interface shaped like ``concurrent.futures``.

``submit(job) -> Future`` hands a job dict (see ``worker.job_for``) to a worker and
returns a ``concurrent.futures.Future`` of the record ``worker.run_trial`` returns;
``shutdown(cancel=False)`` stops. Only those plain dicts cross the boundary.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from gluebench.errors import UsageError
from gluebench.formats.fields import quote
from gluebench.sweep.spec import Resources
from gluebench.sweep.worker import run_trial

EXECUTORS = ("inline", "process", "ray")
# Only small JSON records travel through Ray's object store: a small one is plenty.
RAY_OBJECT_STORE_BYTES = 100 * 1024**2
RAY_CONNECT_WAIT_S = 5.0   # how long --ray-address may take to answer before Ray starts
# HOST:PORT of a head node (its GCS), or ray://HOST:PORT (Ray Client); HOST may be [IPv6].
RAY_ADDRESS = re.compile(r"(?:ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                         r":([0-9]{1,5})")
# Where `ray start --head` records the cluster's address for "auto" (Ray's default temp dir).
RAY_CURRENT_CLUSTER = Path("/tmp/ray/ray_current_cluster")
RAY_FORMS = ("HOST:PORT (the head node, e.g. 10.0.0.5:6379), ray://HOST:PORT, auto (the "
             "cluster `ray start --head` runs on this machine) or local (a new local instance)")


class Executor(Protocol):
    name: str

    def submit(self, job: dict) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


class InlineExecutor:
    """Today's loop: a trial runs in this process, during ``submit``."""

    name = "inline"

    def submit(self, job: dict) -> Future:
        future: Future = Future()
        try:
            future.set_result(run_trial(job))
        except Exception as exc:  # noqa: BLE001 - reported through the future, as a pool does
            future.set_exception(exc)
        return future

    def shutdown(self, cancel: bool = False) -> None:
        pass


def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the sweep, which stops them (no tracebacks from each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessExecutor:
    """A local pool of fresh (spawned) Python processes; a crashed worker's pool is replaced."""

    name = "process"

    def __init__(self, max_workers: int):
        self.max_workers = max_workers
        self.pool = self._new_pool()

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(self.max_workers, initializer=_ignore_interrupts,
                                   mp_context=multiprocessing.get_context("spawn"))

    def submit(self, job: dict) -> Future:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(run_trial, job)
        except BrokenProcessPool:  # a worker died: its trials fail (and are retried)
            self.pool = self._new_pool()
            return self.pool.submit(run_trial, job)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            workers = list(getattr(self.pool, "_processes", None) or {})
            self.pool.shutdown(wait=False, cancel_futures=True)
            for pid in workers:  # running trials are interrupted; they resume next time
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        else:
            self.pool.shutdown(wait=True)


class RayExecutor:
    """One Ray task per trial, with the trial's CPU and GPU request.

    ``address``: an existing cluster (or ``$RAY_ADDRESS``); none: a local Ray instance.
    Every node needs gluebench installed and the data and SWEEP_DIR at the same paths.
    """

    name = "ray"

    def __init__(self, address: str | None, resources: Resources,
                 max_parallel: int | None = None):
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray: pip install 'gluebench[ray]'") from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            # "local": a new instance, never a cluster some `ray start` left on this machine.
            address = address or os.environ.get("RAY_ADDRESS") or "local"
            local = {} if address != "local" else {
                "object_store_memory": RAY_OBJECT_STORE_BYTES,
                "num_cpus": resources.cpus * max_parallel if max_parallel else None}
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False, **local)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise UsageError(f"Ray at {address}: {line}") from None
        self.remote = ray.remote(run_trial).options(
            num_cpus=resources.cpus, num_gpus=resources.gpus, max_retries=0)
        self.refs: list = []

    def submit(self, job: dict) -> Future:
        ref = self.remote.remote(job)
        self.refs.append(ref)
        return ref.future()

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            for ref in self.refs:
                try:
                    self.ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001, S110 - already finished
                    pass
        if self.started_here:
            self.ray.shutdown()


def make_executor(name: str, *, resources: Resources, max_parallel: int | None,
                  ray_address: str | None = None) -> Executor:
    """``max_parallel``: pool size; for a local Ray instance, its CPUs = that x cpus per trial."""
    if name == "inline":
        return InlineExecutor()
    if name == "process":
        return ProcessExecutor(max_parallel or 1)
    if name == "ray":
        return RayExecutor(ray_address, resources, max_parallel)
    raise UsageError(f"unknown executor '{name}'; expected one of: {', '.join(EXECUTORS)}")


def check_ray_address(address: str | None) -> str | None:
    """``--ray-address`` (else ``$RAY_ADDRESS``) checked without importing Ray: its form,
    then that something answers there within ``RAY_CONNECT_WAIT_S``. None or ``local``:
    a new local instance (nothing to reach)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None or address == "local":
        return address
    flag = f"--ray-address {quote(address)}"
    target = address
    if address == "auto":
        try:
            target = RAY_CURRENT_CLUSTER.read_text(encoding="utf-8").strip()
        except OSError:
            raise UsageError(f"{flag}: no Ray cluster is running on this machine (none in "
                             f"{RAY_CURRENT_CLUSTER}); start one with `ray start --head`, or "
                             "give its HOST:PORT") from None
    form = RAY_ADDRESS.fullmatch(target)
    if form is None or not 1 <= int(form[2]) <= 65535:
        raise UsageError(f"{flag}: expected {RAY_FORMS}")
    problem = _unreachable(form[1].strip("[]"), int(form[2]), RAY_CONNECT_WAIT_S)
    if problem is not None:
        raise UsageError(f"{flag}: cannot reach Ray at {target} ({problem}); start the cluster "
                         "(`ray start --head`), check the address, or leave --ray-address out "
                         "for a local instance")
    return address


def _unreachable(host: str, port: int, wait: float) -> str | None:
    """Why nothing answers at host:port within ``wait`` seconds (name lookup included), or
    None when something does."""
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=wait).close()
            outcome.append(None)
        except socket.gaierror:
            outcome.append("unknown host")
        except TimeoutError:
            outcome.append(f"no answer within {wait:.0f} s")
        except OSError as exc:
            outcome.append((exc.strerror or str(exc)).lower())

    probe = threading.Thread(target=attempt, daemon=True, name="gluebench-ray-probe")
    probe.start()
    probe.join(wait + 0.5)
    return outcome[0] if outcome else f"no answer within {wait:.0f} s"
