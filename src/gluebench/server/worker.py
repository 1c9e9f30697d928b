"""A scoring worker: a plain loop over the job table.

Claim a job (with a lease), score it while a thread renews the lease, write the results
in one transaction, compare the new entry with its neighbours, repeat. Run as
``python -m gluebench.server.worker --data-dir DIR`` (settings from the environment, as
``gluebench serve`` passes them); the data directory is given to workers only.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
import traceback

from gluebench.benchmark.sources import open_source
from gluebench.server import health, jobs, ties
from gluebench.server.db import Database, Submission, board_version
from gluebench.server.grading import (
    Gold,
    SubmissionProblem,
    headline,
    score,
    stored_predictions,
    summary,
)
from gluebench.server.settings import Settings
from gluebench.server.suite_host import (
    hosted_suite,
    score_suite_zip,
    suite_headline,
    suite_summary,
)
from gluebench.server.suite_ties import SuiteItems, suite_difference

IDLE_POLL_S = 0.25
DATABASE_RETRY_S = 5.0
INTERNAL_ERROR = "internal scoring error; the host has been told (see the worker log)"


class Heartbeat:
    """Renews a claim's lease every lease / 3 seconds until stopped."""

    def __init__(self, db: Database, claim: jobs.Claim, lease_s: float):
        self.db, self.claim, self.lease_s = db, claim, lease_s
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            if not jobs.heartbeat(self.db, self.claim, self.lease_s):
                self.lost = True
                return


def _grade(db: Database, claim: jobs.Claim, gold: Gold, settings: Settings):
    """(results, summary, headline) of a claimed submission: GLUE's path, or the suite's."""
    label = f"submission {claim.submission_id}"
    suite = hosted_suite(settings.suite)
    with db.read() as session:
        sub = session.get(Submission, claim.submission_id)
        if suite is not None:
            data, split = sub.zip_data, sub.split
        else:
            predictions = stored_predictions(sub)
    if suite is not None:
        results = score_suite_zip(data, suite, gold.data_dir, split,
                                  n_resamples=settings.n_resamples, label=label)
        return results, suite_summary(results, suite), suite_headline(results, suite)
    results = score(predictions, gold, n_resamples=settings.n_resamples, label=label)
    return results, summary(results), headline(results)


def score_claim(db: Database, claim: jobs.Claim, gold: Gold, settings: Settings) -> str:
    """Score one claimed job and record the outcome: "scored", "failed" or "lost"."""
    with Heartbeat(db, claim, settings.lease_s) as beat:
        try:
            results, row, rank_score = _grade(db, claim, gold, settings)
        except SubmissionProblem as exc:
            return "failed" if jobs.fail(db, claim, f"invalid submission: {exc}") else "lost"
        except Exception:  # noqa: BLE001 - a worker must survive and report a bad job
            traceback.print_exc()
            return "failed" if jobs.fail(db, claim, INTERNAL_ERROR) else "lost"
        if settings.score_pause_s:
            time.sleep(settings.score_pause_s)
    if beat.lost:
        return "lost"
    ok = jobs.complete(db, claim, results, row, rank_score)
    return "scored" if ok else "lost"


def _compare_some(db, gold, cache, settings: Settings, log) -> int:
    """Ties are a nicety: a failure there is logged and never stops the worker."""
    try:
        if isinstance(cache, SuiteItems):  # a suite board: the suite score's difference
            def compare(above: int, below: int):
                return suite_difference(cache.suite, cache.get(above), cache.get(below),
                                        n_resamples=settings.n_resamples)
            return ties.refresh(db, gold, cache, n_resamples=settings.n_resamples, log=log,
                                compare=compare)
        return ties.refresh(db, gold, cache, n_resamples=settings.n_resamples, log=log)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 0


def _database_ok(db: Database, owner: str, log) -> bool:
    """Score nothing into a database that was deleted or made unwritable (``/healthz``
    says so too); go on once it is back."""
    reason = health.problem(db)
    if reason is not None:
        log(f"worker {owner}: waiting: {reason}")
    return reason is None


def run_worker(settings: Settings, data_dir: str, *, owner: str | None = None,
               stop: threading.Event | None = None, log=print) -> None:
    """Score jobs until ``stop`` is set (or SIGTERM)."""
    db = Database(settings.db_url, create=False)  # `serve` made and migrated it
    gold = Gold(open_source(data_dir), settings.split, data_dir)
    suite = hosted_suite(settings.suite)
    if suite is None:
        cache = ties.PredictionCache(db)
        gold.preload()  # read the labels before the first job, not during it
    else:
        cache = SuiteItems(db, suite, data_dir, settings.split)
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    stop = stop or threading.Event()
    log(f"worker {owner}: scoring {settings.split} submissions")
    compared_at = None  # the board version when no neighbours were left to compare
    while not stop.is_set():
        if not _database_ok(db, owner, log):
            stop.wait(DATABASE_RETRY_S)
            continue
        jobs.reap(db, settings.max_attempts)
        claim = jobs.claim(db, owner, settings.lease_s)
        if claim is None:  # idle: compare neighbours, else wait for work
            with db.read() as session:
                version = board_version(session)
            if version == compared_at or not _compare_some(db, gold, cache, settings, log):
                compared_at = version
                stop.wait(IDLE_POLL_S)
            continue
        start = time.perf_counter()
        outcome = score_claim(db, claim, gold, settings)
        log(f"worker {owner}: submission {claim.submission_id} {outcome} "
            f"(attempt {claim.attempt}, {time.perf_counter() - start:.2f} s)")
    db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gluebench.server.worker")
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(Settings.from_env(), args.data_dir, stop=stop,
               log=lambda line: print(line, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
