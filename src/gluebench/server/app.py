"""The web application (FastAPI): ``create_app`` is the factory uvicorn runs.

The web process is given the database and the settings, never the data directory: it
checks uploads against the official sizes and shows stored results, and only workers
read gold labels.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from gluebench.about import __version__
from gluebench.server import health
from gluebench.server.board import GLUE, BoardCache, BoardSpec
from gluebench.server.db import Database
from gluebench.server.errors import ServerError, TooMany, Unauthorized, Unavailable
from gluebench.server.routers import admin, leaderboard, pages, submissions
from gluebench.server.security import FailureLimiter
from gluebench.server.settings import Settings
from gluebench.server.suite_host import hosted_suite, suite_spec

# Pages load nothing from elsewhere and run no scripts.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                               "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SERVER_CSS = """
main, header.top .inner { max-width:1440px; }
body { font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",
  "DejaVu Sans",Arial,sans-serif; }
table.board th { white-space:nowrap; }
a.brand { color:inherit; text-decoration:none; }
.who { margin-left:auto; font-size:.85rem; color:var(--muted); }
form.inline { display:inline; } form.inline button { font-size:.8rem; }
.filters { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:end; font-size:.85rem;
  margin:0 0 .75rem; }
.filters input, .filters select { font:inherit; padding:.2rem .35rem; }
table.board th a { color:inherit; text-decoration:none; }
table.board th a:hover { color:var(--accent); text-decoration:underline; }
table.board th.sorted { color:var(--accent); }
table.board td.model a { font-weight:600; color:var(--accent); text-decoration:none; }
.badge { font-size:.68rem; border:1px solid var(--border); border-radius:999px;
  padding:0 .45rem; margin-left:.3rem; color:var(--muted); }
.flag { display:block; color:#b45309; font-size:.75rem; }
tr.flagged td { background:#fffbeb; }
.tie { margin-left:.2rem; color:#b45309; font-weight:700; }
td.empty { text-align:center; color:var(--muted); padding:1.5rem; }
pre { background:#f3f4f6; border:1px solid var(--border); border-radius:6px; padding:.6rem;
  overflow-x:auto; }
.error { color:#b91c1c; }
.pages { margin:.5rem 0; }
"""


def templates(settings: Settings, spec: BoardSpec = GLUE) -> Jinja2Templates:
    from gluebench.report.html import CSS  # deferred: loads matplotlib

    env = jinja2.Environment(loader=jinja2.PackageLoader("gluebench.server", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals |= {"report_css": CSS, "server_css": SERVER_CSS, "version": __version__,
                    "split": settings.split, "board_title": spec.title,
                    "submit_files": spec.submit_files,
                    "submission_command": submission_command(settings, spec)}
    return Jinja2Templates(env=env)


def submission_command(settings: Settings, spec: BoardSpec) -> str:
    """How the page tells submitters to build the zip this board takes."""
    if spec is GLUE:
        return f"gluebench submission --predictions PRED_DIR --split {settings.split}"
    name = settings.suite if "/" not in settings.suite else "SUITE_FILE"
    return f"gluebench submission --suite {name} PRED_DIR --split {settings.split}"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment ``gluebench serve`` sets)."""
    settings = settings or Settings.from_env()
    db = Database(settings.db_url, create=False)  # `serve` made and migrated it

    @asynccontextmanager
    async def lifespan(_app):
        yield
        db.dispose()

    app = FastAPI(title="gluebench leaderboard", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = db
    app.state.limiter = FailureLimiter(settings.auth_failures, settings.auth_window_s)
    suite = hosted_suite(settings.suite)
    app.state.suite = suite
    app.state.spec = GLUE if suite is None else suite_spec(suite)
    app.state.templates = templates(settings, app.state.spec)
    app.state.board = BoardCache()
    app.state.suite_id = None if suite is None else {"name": suite.name, "sha256": suite.sha256}
    for router in (submissions.router, leaderboard.router, admin.router, pages.router):
        app.include_router(router)
    app.add_exception_handler(ServerError, _server_error)
    app.add_exception_handler(OperationalError, _database_error)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        """200 while the database can be read and written; 503 with the reason otherwise."""
        reason = health.problem(db)
        if reason is not None:
            return JSONResponse({"ok": False, "error": reason, "split": settings.split}, 503)
        return {"ok": True, "split": settings.split}

    return app


def _database_error(request: Request, exc: OperationalError):
    """A database that failed mid-request (deleted, locked up, unreachable): 503, not 500."""
    reason = health.problem(request.app.state.db) or health.first_line(exc)
    return _server_error(request, Unavailable(f"the leaderboard's database is unavailable: "
                                              f"{reason}"))


def _server_error(request: Request, exc: ServerError):
    headers = {}
    if isinstance(exc, TooMany):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.message, **exc.extra}, exc.status, headers=headers)
    page = request.app.state.templates.get_template("error.html").render(
        who=None, status=exc.status, message=exc.message)
    return HTMLResponse(page, exc.status, headers=headers)
