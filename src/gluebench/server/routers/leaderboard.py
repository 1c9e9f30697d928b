"""``/api/leaderboard``: the rows of the page as JSON, or CSV on request."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from gluebench.server import board
from gluebench.server.db import User
from gluebench.server.deps import session, viewer
from gluebench.server.submissions import parse_params

router = APIRouter(prefix="/api", tags=["leaderboard"])


def board_query(request: Request, sort: str = "score", order: str = "", q: str = "",
                user: str = "", max_params: str = "", flagged: str = "any", page: int = 1
                ) -> board.Query:
    """The query parameters the page and the API share (bad values fall back to defaults)."""
    try:
        limit = parse_params(max_params)
    except ValueError:
        limit = None
    order = order or board.DEFAULT_ORDER.get(sort, "desc")
    columns = request.app.state.spec.columns
    return board.Query(sort, order, q, user, limit, flagged, page).checked(columns)


@router.get("/leaderboard", summary="The leaderboard (JSON; ?format=csv for CSV)")
def leaderboard(request: Request, format: str = "json", query: board.Query = Depends(board_query),
                who: User | None = Depends(viewer), s: Session = Depends(session)):
    cache: board.BoardCache = request.app.state.board
    wants_csv = format == "csv" or "text/csv" in request.headers.get("accept", "")
    key = ("api", wants_csv, query, *cache.key(s, who))
    spec = request.app.state.spec
    body = cache.memo(key, lambda: _body(request, cache.rows(s, who, spec), query, wants_csv))
    if wants_csv:
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="leaderboard.csv"'})
    return Response(body, media_type="application/json")


def _body(request: Request, rows: list[dict], query: board.Query, as_csv: bool) -> bytes:
    """The answer, serialised once per board version and query."""
    spec: board.BoardSpec = request.app.state.spec
    rows = board.select_rows(rows, query, spec)
    if as_csv:
        return board.to_csv(rows, spec.entries).encode()
    split = request.app.state.settings.split
    head = {"split": split} if spec is board.GLUE else {
        "split": split, "suite": request.app.state.suite_id, "title": spec.title,
        "aggregate": spec.aggregate, "metrics": {e: spec.subs[e].split("/") for e in spec.entries}}
    return json.dumps({**head, "entries": list(spec.entries), "count": len(rows),
                       "rows": [board.api_row(r, spec.aggregate) for r in rows]}).encode()
