"""Is ``--db`` a leaderboard database this gluebench can use: before anything starts
(``open_database``), and while serving (``problem``: what ``/healthz`` reports).

Each refusal is one line naming the ``--db`` and what to do: a folder that does not
exist, a file that is not SQLite (or is cut short), another application's database, a
schema newer than this code, a PostgreSQL that does not answer. Nothing is created or
migrated before those checks pass.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from gluebench.errors import UsageError
from gluebench.server.db import (
    Database,
    alembic_config,
    database_url,
    file_identity,
    migrate,
    shown_url,
    sqlite_path,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100
NEW_FILE = "give a leaderboard database, or the name of a new file to start one"


def open_database(db: str) -> Database:
    """``--db`` checked and migrated to the newest schema; UsageError naming it otherwise."""
    url = database_url(db)
    path = sqlite_path(url)
    shown = str(path) if path is not None else shown_url(db)
    if path is not None:
        _check_sqlite_file(path, shown)
        _check_schema(*_sqlite_schema(path, shown), shown)  # read-only: a foreign file is
    database = Database(url)                               # left exactly as it was
    try:
        if path is None:
            _check_schema(*_schema(database), shown)
        migrate(database)
    except SQLAlchemyError as exc:
        database.dispose()
        raise UsageError(f"--db {shown}: {_reason(exc, database.is_sqlite)}") from None
    except BaseException:
        database.dispose()
        raise
    return database


def _sqlite_schema(path: Path, shown: str) -> tuple[set[str], list[str]]:
    """Tables and Alembic revisions of a SQLite file, read without changing it: no pragma
    (our engine would switch the file to WAL), and a read-write connection, which tidies
    away the -wal and -shm files a WAL database gets when it closes (a read-only one
    leaves them behind)."""
    if not path.exists():
        return set(), []
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True)
        try:
            tables = {r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            versions = [r[0] for r in connection.execute(
                "SELECT version_num FROM alembic_version")] if "alembic_version" in tables else []
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise UsageError(f"--db {shown}: {_sqlite_reason(str(exc))}") from None
    return tables, versions


def _schema(database: Database) -> tuple[set[str], list[str]]:
    tables = set(inspect(database.engine).get_table_names())
    if "alembic_version" not in tables:
        return tables, []
    with database.engine.connect() as connection:
        return tables, [r[0] for r in connection.execute(
            text("SELECT version_num FROM alembic_version"))]


def _check_sqlite_file(path: Path, shown: str) -> None:
    """The file (or the folder a new one goes in) before SQLite touches it."""
    where = f"--db {shown}"
    if path.is_dir():
        raise UsageError(f"{where}: is a directory; give a file name, e.g. "
                         f"{path / 'leaderboard.db'}")
    if not path.parent.is_dir():
        raise UsageError(f"{where}: the folder {path.parent} does not exist; create it "
                         f"(mkdir -p {path.parent}) or give another path")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: the folder {path.parent} is not writable (SQLite keeps "
                         "its journal beside the file); fix its permissions or move the file")
    if path.exists() and not path.is_file():
        raise UsageError(f"{where}: not a regular file (a device or a pipe); {NEW_FILE}")
    if not path.exists() or path.stat().st_size == 0:
        return
    _check_header(path, where)
    if not os.access(path, os.R_OK | os.W_OK):
        raise UsageError(f"{where}: not readable and writable by this user; fix its "
                         "permissions or copy it somewhere writable")


def _check_header(path: Path, where: str) -> None:
    """The file starts as SQLite files do, and is as long as its header says."""
    with open(path, "rb") as handle:
        header = handle.read(HEADER_BYTES)
    if not header.startswith(SQLITE_MAGIC):
        raise UsageError(f"{where}: not a SQLite database (garbage, or another kind of "
                         f"file); {NEW_FILE}")
    declared = _declared_size(header)
    if len(header) < HEADER_BYTES or path.stat().st_size < declared:
        raise UsageError(f"{where}: truncated ({path.stat().st_size} bytes of the {declared} "
                         "its header declares); restore it from a backup")


def _declared_size(header: bytes) -> int:
    """The bytes a SQLite file's header says it holds (page size x pages), when it says."""
    if len(header) < HEADER_BYTES:
        return HEADER_BYTES
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[92:96] == header[24:28]  # the page count is current (SQLite >= 3.7)
    return page_size * pages if valid else 0


def _check_schema(tables: set[str], versions: list[str], shown: str) -> None:
    """Refuse another application's database, and a schema newer than this code's."""
    from alembic.script import ScriptDirectory

    where = f"--db {shown}"
    if tables and "alembic_version" not in tables:
        some = ", ".join(sorted(tables)[:5])
        raise UsageError(f"{where}: holds tables ({some}) but is not a gluebench leaderboard "
                         f"database; {NEW_FILE}")
    script = ScriptDirectory.from_config(alembic_config())
    known = {r.revision for r in script.walk_revisions()}
    unknown = [v for v in versions if v not in known]
    if unknown:
        raise UsageError(f"{where}: its schema is at revision '{unknown[0][:40]}', which this "
                         f"gluebench does not know (its newest is {script.get_current_head()}): "
                         "a database of a newer gluebench (upgrade: pip install -U gluebench) "
                         "or of another application (give another --db)")


def _reason(exc: SQLAlchemyError, is_sqlite: bool) -> str:
    """What went wrong opening a database, and what to do, in a phrase."""
    detail = first_line(exc)
    if not is_sqlite:
        return (f"cannot use PostgreSQL ({detail}); is the server running and reachable, and "
                "are the user, password and database name right?")
    return _sqlite_reason(detail)


def _sqlite_reason(detail: str) -> str:
    low = detail.lower()
    if "file is not a database" in low:
        return f"not a SQLite database (garbage, or another kind of file); {NEW_FILE}"
    if "malformed" in low or "disk i/o error" in low:
        return ("damaged (truncated or corrupt); restore it from a backup (`sqlite3 FILE "
                ".recover` may save its rows)")
    if "readonly" in low or "read-only" in low:
        return "read-only; fix its permissions, or give a writable location"
    if "unable to open" in low:
        return "cannot be opened (a missing folder, or no permission); check the path"
    return f"cannot be used ({detail})"


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's statement and links."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return (lines[0] if lines else type(orig).__name__)[:200]


def problem(db: Database) -> str | None:
    """Why the database cannot serve now (for ``/healthz``: 503), or None when it can."""
    if db.is_sqlite:
        found = _file_problem(db.path, db.identity)
        if found is not None:
            return found
    try:
        with db.read() as session:
            session.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError as exc:
        return f"the database cannot be read: {first_line(exc)}"
    return None


def _file_problem(path: Path, identity: tuple[int, int] | None) -> str | None:
    now = file_identity(path)
    if now is None:
        return (f"the database file {path} is gone (deleted or moved while serving): nothing "
                "can be saved; restore it and restart the server")
    if identity is not None and now != identity:
        return (f"the database file {path} was replaced while serving; restart the server "
                "to use the new file")
    for target in (path, path.parent):
        if not os.access(target, os.W_OK):
            return (f"{target} is not writable any more: new submissions and scores cannot "
                    "be saved; fix its permissions (or the disk) and restart the server")
    return None
