"""Submission quotas per user (GLUE's: 2 a day, 10 a month, 3 queued or running at once).

``check`` runs inside the write transaction that records the submission, after the user's
row is locked, so no race lets one more through. Failed submissions do not count.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gluebench.server.db import Submission, User
from gluebench.server.errors import TooMany
from gluebench.server.settings import Settings

DAY = 24 * 3600.0
MONTH = 30 * DAY
WAIT_FOR_QUEUE_S = 60.0  # what Retry-After says when only the queue is full


def lock_user(session: Session, user_id: int) -> None:
    """Serialise submissions of one user (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def check(session: Session, user_id: int, settings: Settings, now: float) -> None:
    """Raise ``TooMany`` (with when to retry) if one more submission is over a quota."""
    counted = select(Submission.created_at).where(Submission.user_id == user_id,
                                                  Submission.state != "failed")
    active = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.user_id == user_id, Submission.state.in_(("queued", "running"))))
    if active >= settings.concurrent:
        raise TooMany(f"{active} of your submissions are queued or running (limit "
                      f"{settings.concurrent}); try again when one has finished",
                      WAIT_FOR_QUEUE_S)
    for window, limit, what in ((DAY, settings.per_day, "24 hours"),
                                (MONTH, settings.per_month, "30 days")):
        times = session.scalars(counted.where(Submission.created_at > now - window)
                                .order_by(Submission.created_at)).all()
        if len(times) >= limit:
            retry = times[len(times) - limit] + window - now
            raise TooMany(f"quota reached: {limit} submissions in {what}; try again in "
                          f"{_duration(retry)}", retry)


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds + 0.999), 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{max(rest // 60, 1)} min"
