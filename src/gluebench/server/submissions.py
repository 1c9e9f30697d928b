"""Submissions: check an upload, record it under the quotas, and what a viewer may see of it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gluebench.benchmark.submission import inspect_submission
from gluebench.formats.names import unsafe_character
from gluebench.server import quotas
from gluebench.server.db import Database, Job, Submission, User
from gluebench.server.errors import Invalid, NotFound
from gluebench.server.packing import pack
from gluebench.server.settings import Settings
from gluebench.server.suite_host import check_suite_zip, hosted_suite, read_gold_ids

MAX_NAME, MAX_DESCRIPTION, MAX_URL = 200, 5000, 500
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
PARAM_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
MULTILINE = "\n\r\t"  # what a description may hold that a name may not
# A submission's id is an Integer column: 32 bits in PostgreSQL. Larger ids name nothing.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Metadata:
    """What a submitter says about the model (all shown on the page, escaped)."""

    name: str
    description: str = ""
    url: str = ""
    params: int | None = None
    public: bool = False


def parse_metadata(fields: dict[str, str]) -> Metadata:
    """The form fields as ``Metadata``; every problem listed in one ``Invalid``."""
    problems = []
    name = fields.get("name", "").strip()
    if not name or len(name) > MAX_NAME:
        problems.append(f"name: required, at most {MAX_NAME} characters")
    description = fields.get("description", "").strip()
    if len(description) > MAX_DESCRIPTION:
        problems.append(f"description: at most {MAX_DESCRIPTION} characters")
    url = fields.get("url", "").strip()
    if url and (not re.fullmatch(r"https?://[^\s<>\"']+", url) or len(url) > MAX_URL):
        problems.append(f"url: an http:// or https:// address of at most {MAX_URL} characters")
    problems += [f"{key}: {problem}" for key, text, allow in (
        ("name", name, ""), ("description", description, MULTILINE), ("url", url, ""))
        if (problem := unsafe_character(text, allow=allow)) is not None]
    params = None
    try:
        params = parse_params(fields.get("params", ""))
    except ValueError as exc:
        problems.append(f"params: {exc}")
    public = fields.get("public", "").strip().lower()
    if public not in TRUE + FALSE:
        problems.append("public: true or false")
    unknown = sorted(set(fields) - {"name", "description", "url", "params", "public"})
    problems += [f"unknown field '{k[:40]}'" for k in unknown]
    if problems:
        raise Invalid(problems)
    return Metadata(name, description, url, params, public in TRUE)


def parse_params(text: str) -> int | None:
    """A parameter count: ``110000000``, ``110M``, ``1.5B``; empty means unknown."""
    text = text.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMbBgGtT]?)", text)
    if not match:
        raise ValueError(f"'{text[:40]}' is not a parameter count (e.g. 110M, 1.5B, 22700000)")
    value = round(float(match[1]) * PARAM_UNITS[match[2].lower()])
    if not 0 < value < 10**15:
        raise ValueError("out of range")
    return value


def check_zip(data: bytes, settings: Settings) -> bytes | None:
    """The same validator as ``gluebench validate``: every problem, or the parsed
    predictions (packed)."""
    suite = hosted_suite(settings.suite)
    if suite is not None:  # a suite's zip: checked here, parsed by the worker
        check_suite_zip(data, suite, settings.split, read_gold_ids(settings.gold_ids))
        return None
    if not data:
        raise Invalid(["file: required (the submission zip)"])
    check = inspect_submission(data, split=settings.split, label="upload")
    if check.problems:
        raise Invalid(check.problems)
    return pack(check.predictions)


def create(db: Database, user: User, meta: Metadata, data: bytes, settings: Settings
           ) -> Submission:
    """Record a checked upload and queue its scoring, if the user's quotas allow one more
    (checked before the zip, and again in the transaction that records it: two uploads at
    once cannot both take the last place)."""
    with db.read() as session:  # a user over a quota is refused before the zip costs CPU
        quotas.check(session, user.id, settings, time.time())
    packed = check_zip(data, settings)  # outside the transaction: it is the slow part
    now = time.time()
    with db.write() as session:
        quotas.lock_user(session, user.id)
        quotas.check(session, user.id, settings, now)
        sub = Submission(user_id=user.id, name=meta.name, description=meta.description,
                         url=meta.url, params=meta.params, public=meta.public, hidden=False,
                         state="queued", split=settings.split, created_at=now, zip_data=data,
                         zip_size=len(data), predictions=packed, score_count=0)
        session.add(sub)
        session.flush()
        session.add(Job(submission_id=sub.id, state="queued", attempts=0, created_at=now))
    return sub


def can_see(sub: Submission, viewer: User | None) -> bool:
    """Public, scored and not hidden: everyone; otherwise its owner and the admins."""
    if viewer is not None and (viewer.is_admin or viewer.id == sub.user_id):
        return True
    return sub.public and not sub.hidden and sub.state == "scored"


def find(session: Session, sub_id: int) -> Submission | None:
    """The submission ``sub_id``, or None (also for an id no row can have: beyond 32 bits)."""
    return session.get(Submission, sub_id) if 1 <= sub_id <= MAX_ID else None


def get_visible(session: Session, sub_id: int, viewer: User | None) -> Submission:
    sub = find(session, sub_id)
    if sub is None or not can_see(sub, viewer):
        raise NotFound(f"no submission {sub_id}")
    return sub


def get_own(session: Session, sub_id: int, viewer: User) -> Submission:
    """A submission its owner (or an admin) asks about: state, predictions."""
    sub = find(session, sub_id)
    if sub is None or not (viewer.is_admin or viewer.id == sub.user_id):
        raise NotFound(f"no submission {sub_id}")
    return sub


def queue_position(session: Session, sub: Submission) -> int | None:
    """1 for the next job to be scored (or being scored); None once finished."""
    if sub.state not in ("queued", "running"):
        return None
    job_id = session.scalar(select(Job.id).where(Job.submission_id == sub.id))
    ahead = session.scalar(select(func.count()).select_from(Job).where(
        Job.state.in_(("queued", "running")), Job.id < job_id))
    return int(ahead) + 1


def status(session: Session, sub: Submission, *, owner_view: bool) -> dict:
    """The API view of a submission; state, queue and error only for its owner and admins."""
    user = session.get(User, sub.user_id)
    out = {"id": sub.id, "name": sub.name, "user": user.name if user else None,
           "description": sub.description, "url": sub.url, "params": sub.params,
           "public": sub.public, "split": sub.split, "created_at": sub.created_at,
           "scored_at": sub.scored_at, "flag": sub.flag_reason, "results": sub.results}
    if owner_view:
        out |= {"state": sub.state, "queue_position": queue_position(session, sub),
                "error": sub.error, "hidden": sub.hidden, "zip_bytes": sub.zip_size}
    return out


def list_own(session: Session, viewer: User) -> list[dict]:
    subs = session.scalars(select(Submission).where(Submission.user_id == viewer.id)
                           .order_by(Submission.id)).all()
    return [status(session, s, owner_view=True) | {"results": None} for s in subs]
