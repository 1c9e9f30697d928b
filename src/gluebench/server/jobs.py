"""The job table: claim with a lease, heartbeat, finish in one transaction, reap the dead.

A job is claimable when it is queued, or running with an expired lease (its worker died:
the reaper's case). Results are written only by the lease's current owner, in the same
transaction that marks the job done, so each submission is scored exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from gluebench.server.db import Database, Job, Submission


@dataclass(frozen=True)
class Claim:
    job_id: int
    submission_id: int
    owner: str
    attempt: int


def reap(db: Database, max_attempts: int, now: float | None = None) -> int:
    """Fail the jobs whose workers died ``max_attempts`` times; return how many."""
    now = time.time() if now is None else now
    with db.write() as session:
        dead = session.scalars(select(Job).where(
            Job.state == "running", Job.lease_expires_at < now,
            Job.attempts >= max_attempts).with_for_update(skip_locked=True)).all()
        for job in dead:
            _finish(session, job, "failed", now)
            sub = session.get(Submission, job.submission_id)
            sub.state, sub.error = "failed", (f"scoring stopped {job.attempts} times without "
                                              "finishing (worker lost); the host has been told")
    return len(dead)


def claim(db: Database, owner: str, lease_s: float, now: float | None = None) -> Claim | None:
    """Take the oldest claimable job for ``lease_s`` seconds, or None when there is none."""
    now = time.time() if now is None else now
    with db.write() as session:
        job = session.scalars(select(Job).where(or_(
            Job.state == "queued",
            (Job.state == "running") & (Job.lease_expires_at < now),
        )).order_by(Job.id).limit(1).with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        job.state, job.lease_owner = "running", owner
        job.lease_expires_at, job.heartbeat_at = now + lease_s, now
        job.attempts += 1
        session.get(Submission, job.submission_id).state = "running"
        return Claim(job.id, job.submission_id, owner, job.attempts)


def heartbeat(db: Database, claim: Claim, lease_s: float) -> bool:
    """Extend the lease; False when it is no longer ours (it expired and was claimed)."""
    now = time.time()
    with db.write() as session:
        done = session.execute(update(Job).where(
            Job.id == claim.job_id, Job.lease_owner == claim.owner, Job.state == "running",
        ).values(lease_expires_at=now + lease_s, heartbeat_at=now))
        return done.rowcount == 1


def complete(db: Database, claim: Claim, results: dict, summary: dict,
             score: float | None) -> bool:
    """Write the results if the lease is still ours; False (nothing written) otherwise."""

    def scored(sub: Submission, now: float) -> None:
        sub.results, sub.summary, sub.score = results, summary, score
        sub.state, sub.scored_at, sub.error = "scored", now, None
        sub.score_count += 1

    return _end(db, claim, "done", scored)


def fail(db: Database, claim: Claim, reason: str) -> bool:
    """Mark the submission failed with ``reason`` (shown to its owner); not counted in quotas."""

    def failed(sub: Submission, _now: float) -> None:
        sub.state, sub.error = "failed", reason

    return _end(db, claim, "failed", failed)


def _end(db: Database, claim: Claim, state: str, change) -> bool:
    """Finish the job and ``change`` its submission in one transaction, if the lease is ours."""
    now = time.time()
    with db.write() as session:
        job = _own_job(session, claim)
        if job is None:
            return False
        _finish(session, job, state, now)
        change(session.get(Submission, claim.submission_id), now)
        return True


def _own_job(session, claim: Claim) -> Job | None:
    return session.scalars(select(Job).where(
        Job.id == claim.job_id, Job.lease_owner == claim.owner, Job.state == "running",
    ).with_for_update()).first()


def _finish(session, job: Job, state: str, now: float) -> None:
    job.state, job.finished_at, job.lease_expires_at = state, now, None
