"""FastAPI dependencies: settings, database sessions, the current user (token or cookie)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gluebench.server.accounts import authenticate
from gluebench.server.db import Database, User
from gluebench.server.errors import Forbidden, TooMany, Unauthorized
from gluebench.server.security import FailureLimiter
from gluebench.server.settings import Settings

COOKIE = "gluebench_token"


def settings(request: Request) -> Settings:
    return request.app.state.settings


def database(request: Request) -> Database:
    return request.app.state.db


def session(db: Database = Depends(database)) -> Iterator[Session]:
    with db.read() as s:
        yield s


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _token(request: Request, *, cookie: bool) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("expected 'Authorization: Bearer TOKEN'")
        return token.strip()
    return request.cookies.get(COOKIE) if cookie else None


def _check(request: Request, token: str) -> User:
    """The token's user, from a short session of its own (a request holds one connection
    at a time, so a burst of uploads cannot exhaust the pool).

    A valid token always works: the limit on failed checks is kept per address, and only
    turns that address's *wrong* tokens into 429s, so a client guessing tokens from behind
    the same address (a NAT, a proxy) cannot lock the real users out.
    """
    try:
        with request.app.state.db.read() as s:
            return authenticate(s, token)
    except Unauthorized:
        refuse_failed_attempt(request)
        raise


def refuse_failed_attempt(request: Request) -> None:
    """Count a wrong token against its address: 429 (with Retry-After) over the limit."""
    limiter: FailureLimiter = request.app.state.limiter
    client = _client(request)
    wait = limiter.retry_after(client)
    limiter.record(client)
    if wait is not None:
        raise TooMany("too many failed token checks from this address; wait", wait)


def api_user(request: Request) -> User:
    """The user of an API call: a valid ``Authorization: Bearer`` token, else 401."""
    token = _token(request, cookie=False)
    if token is None:
        raise Unauthorized("missing token: send 'Authorization: Bearer TOKEN'")
    return _check(request, token)


def admin_user(user: User = Depends(api_user)) -> User:
    if not user.is_admin:
        raise Forbidden("admins only")
    return user


def viewer(request: Request) -> User | None:
    """Who is looking at a page or the public API: a token (header, or the login cookie on
    pages) when given — a wrong one is still a 401 — else nobody."""
    token = _token(request, cookie=True)
    if token is None:
        return None
    if "authorization" in request.headers:
        return _check(request, token)
    try:  # a stale login cookie is a visitor, not an error page
        return _check(request, token)
    except Unauthorized:
        return None
