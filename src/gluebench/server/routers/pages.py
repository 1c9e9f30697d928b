"""The HTML pages: the leaderboard, an entry, and a token login (pages work without JS)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.score_tables import METRIC_LABELS, entry_cell, interval, pct
from gluebench.report.collect import RunView
from gluebench.server import board, submissions
from gluebench.server.accounts import authenticate
from gluebench.server.db import User
from gluebench.server.deps import COOKIE, refuse_failed_attempt, session, viewer
from gluebench.server.errors import ServerError, TooMany, Unauthorized
from gluebench.server.routers.leaderboard import board_query

router = APIRouter(include_in_schema=False)


def day(timestamp: float | None) -> str:
    if timestamp is None:
        return "–"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def params(value: int | None) -> str:
    if value is None:
        return "–"
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def columns(spec: board.BoardSpec = board.GLUE) -> list[dict]:
    heads = [{"key": "rank", "label": "Rank", "sub": ""},
             {"key": "model", "label": "Model", "sub": "submitter"},
             {"key": "score", "label": "Score", "sub": spec.title}]
    heads += [{"key": e, "label": e,
               "sub": spec.subs[e] if spec.subs is not None
               else "/".join(METRIC_LABELS[m] for m in BENCHMARKS[e].metrics)}
              for e in spec.entries]
    return heads + [{"key": "params", "label": "Params", "sub": ""},
                    {"key": "date", "label": "Date", "sub": ""}]


def cells(row: dict, spec: board.BoardSpec = board.GLUE) -> list[dict]:
    """The entry cells of a row: text, and why a cell is empty."""
    out = []
    for e in spec.entries:
        result = row["tasks"].get(e)
        if result is None:
            why = ("not scored: this host holds no labels for it" if e in row["not_scored"]
                   else "not submitted")
            out.append({"text": "–", "title": why, "muted": True})
        else:
            text = (entry_cell(result, e) if spec.subs is None
                    else "/".join(pct(result[m]) for m in spec.subs[e].split("/")))
            out.append({"text": text, "title": "", "muted": False})
    return out


def sort_link(request: Request, query: board.Query, key: str) -> str:
    order = "asc" if query.sort == key and query.order == "desc" else "desc"
    if query.sort != key:
        order = board.DEFAULT_ORDER.get(key, "desc")
    return str(request.url.include_query_params(sort=key, order=order, page=1))


@router.get("/", response_class=HTMLResponse)
def leaderboard_page(request: Request, query: board.Query = Depends(board_query),
                     who: User | None = Depends(viewer), s: Session = Depends(session)):
    settings, spec = request.app.state.settings, request.app.state.spec
    rows = board.select_rows(request.app.state.board.rows(s, who, spec), query, spec)
    shown = board.page(rows, query.page, settings.page_size)
    pages = max(1, -(-len(rows) // settings.page_size))
    return request.app.state.templates.TemplateResponse(request, "leaderboard.html", {
        "who": who, "rows": shown,
        "server_url": str(request.base_url).rstrip("/"), "count": len(rows),
        "query": query, "columns": columns(spec), "cells": lambda row: cells(row, spec),
        "day": day, "params": params,
        "sort_link": lambda key: sort_link(request, query, key), "pages": pages,
        "page_link": lambda n: str(request.url.include_query_params(page=n)),
        "by_score": query.sort == "score" and query.order == "desc",
        "any_partial": any(r["partial"] for r in shown)})


@router.get("/entry/{sub_id}", response_class=HTMLResponse)
def entry_page(request: Request, sub_id: int, who: User | None = Depends(viewer),
               s: Session = Depends(session)):
    from gluebench.report.html import render_blocks  # deferred: loads matplotlib

    # deferred: loads matplotlib
    from gluebench.report.sections import ax_section, task_scores_section

    sub = submissions.get_visible(s, sub_id, who)
    owner_view = who is not None and (who.is_admin or who.id == sub.user_id)
    sections = []
    suite = request.app.state.suite
    if sub.results and suite is not None:
        sections.append({"title": f"{suite.title} scores", "html": None,
                         "rows": suite_score_rows(suite, sub.results)})
    elif sub.results:
        run = RunView(sub.name, Path("."), sub.results)
        for section in (task_scores_section([run], False), ax_section([run], False)):
            for block in section.blocks:
                if hasattr(block, "collapsed"):
                    block.collapsed = False  # the entry page shows its tables open
            sections.append({"title": section.title, "html": render_blocks(section.blocks)})
    status = submissions.status(s, sub, owner_view=owner_view)
    return request.app.state.templates.TemplateResponse(request, "entry.html", {
        "who": who, "sub": sub, "status": status, "sections": sections,
        "owner": status.get("user"), "day": day, "params": params,
        "not_scored": (sub.results or {}).get("not_scored", []),
        "headline": (sub.results or {}).get(request.app.state.spec.aggregate),
        "partial": (sub.results or {}).get("partial_average")})


def suite_score_rows(suite, results: dict) -> list[dict]:
    """Every metric of every entry with its CI, as the entry page's table shows them."""
    rows = []
    for name, r in results["tasks"].items():
        unit = r["resample"] + (f" ({r['n_units']})" if "n_units" in r else "")
        for i, m in enumerate(suite.entry(name).metrics):
            rows.append({"entry": name if i == 0 else "", "metric": m, "value": pct(r[m]),
                         "ci": interval(r["ci"].get(m)), "n": r["n"] if i == 0 else "",
                         "unit": unit if i == 0 else "",
                         "score": f"{r['score']:.1f}" if i == 0 else ""})
    return rows


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, who: User | None = Depends(viewer)):
    return request.app.state.templates.TemplateResponse(request, "login.html",
                                                        {"who": who, "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: str = Form(..., max_length=200),
          s: Session = Depends(session)):
    try:
        authenticate(s, token.strip())
    except ServerError as exc:  # a wrong token: counted; a valid one is never refused
        message = exc.message
        if isinstance(exc, Unauthorized):
            try:
                refuse_failed_attempt(request)
            except TooMany:
                message = "too many failed attempts; wait a minute"
        return request.app.state.templates.TemplateResponse(
            request, "login.html", {"who": None, "error": message}, status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=30 * 24 * 3600)
    return response


@router.post("/logout")
def logout():
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
