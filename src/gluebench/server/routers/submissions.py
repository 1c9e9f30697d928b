"""``/api/submissions``: upload a zip, follow its state, fetch its predictions (owner only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from gluebench.server import health, submissions
from gluebench.server.db import Database, User
from gluebench.server.deps import api_user, database, session, settings, viewer
from gluebench.server.errors import Invalid, Unavailable
from gluebench.server.settings import Settings
from gluebench.server.uploads import read_multipart

router = APIRouter(prefix="/api/submissions", tags=["submissions"])


@router.post("", status_code=202, summary="Upload a submission zip (multipart)")
async def create(request: Request, user: User = Depends(api_user),
                 db: Database = Depends(database), config: Settings = Depends(settings)):
    """Fields: ``file`` (the zip), ``name``, ``description``, ``url``, ``params``, ``public``.

    400 lists every problem with the zip or the fields; 413 over the size cap; 429 over a
    quota, with ``Retry-After``. Accepted submissions are queued for scoring (202).
    """
    unusable = await run_in_threadpool(health.problem, db)
    if unusable is not None:  # never accept a submission into a deleted or read-only file
        raise Unavailable(f"the leaderboard cannot take submissions now: {unusable}")
    upload = await read_multipart(request, config.max_upload_bytes)
    extra_files = sorted(set(upload.files) - {"file"})
    if extra_files:
        raise Invalid([f"unexpected file field '{extra_files[0][:40]}'"])
    meta = submissions.parse_metadata(upload.fields)
    # Checking the zip is CPU work: off the event loop, so other requests are served meanwhile.
    sub = await run_in_threadpool(submissions.create, db, user, meta,
                                  upload.files.get("file", b""), config)
    with db.read() as s:
        return submissions.status(s, sub, owner_view=True)


@router.get("", summary="Your submissions")
def mine(user: User = Depends(api_user), s: Session = Depends(session)):
    return {"submissions": submissions.list_own(s, user)}


@router.get("/{sub_id}", summary="A submission: state, queue position, scores")
def get(sub_id: int, who: User | None = Depends(viewer), s: Session = Depends(session)):
    """Owners and admins see state, queue position and errors; others only public entries."""
    sub = submissions.get_visible(s, sub_id, who)
    owner_view = who is not None and (who.is_admin or who.id == sub.user_id)
    return JSONResponse(submissions.status(s, sub, owner_view=owner_view))


@router.get("/{sub_id}/predictions", summary="The uploaded zip (its owner and admins only)")
def predictions(sub_id: int, user: User = Depends(api_user), s: Session = Depends(session)):
    sub = submissions.get_own(s, sub_id, user)
    return Response(sub.zip_data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="submission-{sub.id}.zip"'})
