"""What admins do (the API and ``gluebench server`` call these): disable, hide, flag."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gluebench.errors import UsageError
from gluebench.formats.names import unsafe_character
from gluebench.server.accounts import set_disabled
from gluebench.server.db import Submission, User
from gluebench.server.errors import Invalid, NotFound
from gluebench.server.submissions import find


def list_users(session: Session) -> list[dict]:
    return [{"name": u.name, "admin": u.is_admin, "disabled": u.disabled,
             "created_at": u.created_at}
            for u in session.scalars(select(User).order_by(User.id))]


def set_user_disabled(session: Session, name: str, disabled: bool) -> dict:
    try:
        user = set_disabled(session, name, disabled)
    except UsageError as exc:
        raise NotFound(str(exc)) from None
    return {"name": user.name, "disabled": user.disabled}


def _submission(session: Session, sub_id: int) -> Submission:
    sub = find(session, sub_id)
    if sub is None:
        raise NotFound(f"no submission {sub_id}")
    return sub


def set_hidden(session: Session, sub_id: int, hidden: bool) -> dict:
    sub = _submission(session, sub_id)
    sub.hidden = hidden
    return {"id": sub.id, "hidden": sub.hidden}


def set_flag(session: Session, sub_id: int, reason: str | None) -> dict:
    """Flag an entry (e.g. suspected test contamination); the reason is shown on the page."""
    reason = reason.strip() if reason else None
    problem = unsafe_character(reason) if reason else None
    if problem is not None:
        raise Invalid([f"reason: {problem}"])
    sub = _submission(session, sub_id)
    sub.flag_reason = reason
    return {"id": sub.id, "flag": sub.flag_reason}
