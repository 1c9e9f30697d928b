"""The leaderboard as data: visible rows, sorted and filtered, with ties; JSON and CSV."""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.server.db import Submission, Tie, User, board_version

ENTRIES = tuple(BENCHMARKS)  # CoLA ... WNLI, AX: one column each
COLUMNS = ("rank", "model", "user", "score", *ENTRIES, "params", "date")
DEFAULT_ORDER = {"model": "asc", "user": "asc", "rank": "asc", "params": "asc"}


@dataclass(frozen=True)
class BoardSpec:
    """What a board shows: its title, entry columns and the results key of its score
    (GLUE's below; another suite's from ``suite_host.suite_spec``)."""

    title: str = "GLUE"
    entries: tuple[str, ...] = ENTRIES
    aggregate: str = "glue_score"
    subs: dict[str, str] | None = None   # column sub-headings; None: GLUE's metric labels
    submit_files: str = "the 11 prediction files"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("rank", "model", "user", "score", *self.entries, "params", "date")


GLUE = BoardSpec()


@dataclass(frozen=True)
class Query:
    """What a viewer asks of the board: sort column and order, filters, page."""

    sort: str = "score"
    order: str = "desc"
    q: str = ""            # text in model name or description
    user: str = ""         # submitter name
    max_params: int | None = None
    flagged: str = "any"   # any / hide / only
    page: int = 1

    def checked(self, columns: tuple[str, ...] = COLUMNS) -> Query:
        sort = self.sort if self.sort in columns else "score"
        order = self.order if self.order in ("asc", "desc") else "desc"
        flagged = self.flagged if self.flagged in ("any", "hide", "only") else "any"
        return Query(sort, order, self.q[:100], self.user[:64], self.max_params, flagged,
                     max(1, self.page))


def visible_rows(session: Session, viewer: User | None, spec: BoardSpec = GLUE) -> list[dict]:
    """Every scored entry ``viewer`` may see, ranked by score, with tie marks."""
    query = (select(Submission.id, Submission.name, Submission.description, Submission.url,
                    Submission.params, Submission.public, Submission.hidden,
                    Submission.flag_reason, Submission.created_at, Submission.score,
                    Submission.summary, Submission.user_id, User.name)
             .join(User, User.id == Submission.user_id)
             .where(Submission.state == "scored"))
    if viewer is None:
        query = query.where(Submission.public, Submission.hidden.is_(False))
    elif not viewer.is_admin:
        query = query.where(or_((Submission.public & Submission.hidden.is_(False)),
                                Submission.user_id == viewer.id))
    rows = [_row(r, spec.aggregate) for r in session.execute(query)]
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["id"]))
    _rank(rows, _ties(session, rows))
    return rows


def _row(r, aggregate: str = "glue_score") -> dict:
    summary = r.summary or {}
    return {"id": r.id, "model": r.name, "description": r.description, "url": r.url,
            "params": r.params, "public": r.public, "hidden": r.hidden, "flag": r.flag_reason,
            "date": r.created_at, "score": r.score, "user": r[-1],
            "partial": summary.get(aggregate) is None,
            "tasks": summary.get("tasks", {}), "not_scored": summary.get("not_scored", []),
            "tasks_missing": summary.get("tasks_missing", [])}


def _ties(session: Session, rows: list[dict]) -> dict[tuple[int, int], bool]:
    pairs = list(zip((r["id"] for r in rows), (r["id"] for r in rows[1:]), strict=False))
    if not pairs:
        return {}
    ids = [r["id"] for r in rows]
    found = session.scalars(select(Tie).where(Tie.above_id.in_(ids))).all()
    return {(t.above_id, t.below_id): t.tied for t in found}


def _rank(rows: list[dict], ties: dict) -> None:
    """Rank 1, 2, ...; an entry tied with the one above shares its rank (marked ``tied``)."""
    for i, row in enumerate(rows):
        above = rows[i - 1] if i else None
        row["tied_above"] = bool(above and ties.get((above["id"], row["id"])))
        row["rank"] = above["rank"] if row["tied_above"] else i + 1
        if above and row["tied_above"]:
            above["tied_below"] = True
        row.setdefault("tied_below", False)


class BoardCache:
    """Ranked rows per kind of viewer, recomputed only when the board has changed (any
    submission's ``updated_at``, or a new tie comparison). One per web process."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, session: Session, viewer: User | None, spec: BoardSpec = GLUE) -> list[dict]:
        return self.memo(("rows", *self.key(session, viewer)),
                         lambda: visible_rows(session, viewer, spec))

    @staticmethod
    def key(session: Session, viewer: User | None) -> tuple:
        """(board version, kind of viewer): what a cached answer depends on."""
        who = None if viewer is None else "admin" if viewer.is_admin else viewer.id
        return board_version(session), who

    def memo(self, key: tuple, compute):
        """``compute()`` once per ``key`` (keys include the board version)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def select_rows(rows: list[dict], query: Query, spec: BoardSpec = GLUE) -> list[dict]:
    """Filter and sort (ranks stay those of the default order)."""
    q = query.checked(spec.columns)
    text = q.q.lower()
    out = [r for r in rows
           if (not text or text in r["model"].lower() or text in r["description"].lower())
           and (not q.user or r["user"] == q.user)
           and (q.max_params is None or (r["params"] is not None and r["params"] <= q.max_params))
           and (q.flagged == "any" or (q.flagged == "only") == bool(r["flag"]))]
    missing = [r for r in out if sort_key(r, q.sort, spec.entries) is None]
    present = sorted((r for r in out if sort_key(r, q.sort, spec.entries) is not None),
                     key=lambda r: sort_key(r, q.sort, spec.entries), reverse=q.order == "desc")
    return present + missing  # entries without a value last, either way


def sort_key(row: dict, column: str, entries: tuple[str, ...] = ENTRIES):
    if column in entries:
        return (row["tasks"].get(column) or {}).get("score")
    value = row.get(column)
    return value.lower() if isinstance(value, str) else value


def page(rows: list[dict], number: int, size: int) -> list[dict]:
    return rows[(number - 1) * size: number * size]


def api_row(row: dict, aggregate: str = "glue_score") -> dict:
    """A row as ``GET /api/leaderboard`` returns it (the shape ``report.tables`` reads)."""
    keep = ("rank", "id", "model", "user", "description", "url", "params", "date", "public",
            "hidden", "flag", "tied_above", "tied_below", "not_scored", "tasks_missing")
    partial = row["partial"]
    return {k: row[k] for k in keep} | {
        aggregate: None if partial else row["score"],
        "partial_average": row["score"] if partial else None,
        "tasks": row["tasks"]}


def to_csv(rows: list[dict], entries: tuple[str, ...] = ENTRIES) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "tied_with_above", "model", "user", "score", "partial", *entries,
                     "params", "date", "url", "flag"])
    for r in rows:
        scores = [(r["tasks"].get(e) or {}).get("score") for e in entries]
        writer.writerow([r["rank"], int(r["tied_above"]), _cell(r["model"]), _cell(r["user"]),
                         _num(r["score"]), int(r["partial"]), *map(_num, scores),
                         r["params"] or "", f"{r['date']:.0f}", _cell(r["url"]),
                         _cell(r["flag"] or "")])
    return buffer.getvalue()


def _num(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _cell(text: str) -> str:
    """No spreadsheet formulas from user text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
