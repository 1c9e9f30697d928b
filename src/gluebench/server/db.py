"""The database: tables (SQLAlchemy), the engine for SQLite or PostgreSQL, sessions, migrations.

The schema is managed by the Alembic migrations in ``migrations/`` (run by ``migrate``).
SQLite runs in WAL mode with a busy timeout; a write session starts with ``BEGIN
IMMEDIATE`` there, so a read-check-write (a quota, a job claim) holds the write lock from
its first read. PostgreSQL gets the same guarantee from ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gluebench.errors import UsageError
from gluebench.formats.fields import escape

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10  # an unreachable PostgreSQL is reported after this, not minutes
POOL_SIZE = 10  # connections kept per process (and as many more under a burst)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex, never the token
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    params: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)   # by an admin
    flag_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)     # queued/running/scored/failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    split: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[float] = mapped_column(Float, index=True)
    scored_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The blobs (up to 32 MiB) load only when read: status polls and listings never need them.
    zip_data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    zip_size: Mapped[int] = mapped_column(Integer)
    predictions: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True,
                                                      deferred=True)  # packing
    results: Mapped[dict | None] = mapped_column(JSON, nullable=True)   # gluebench score JSON
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)   # per-entry scores
    score: Mapped[float | None] = mapped_column(Float, nullable=True)   # GLUE / partial average
    score_count: Mapped[int] = mapped_column(Integer, default=0)        # results writes: 0 or 1
    # Any change the leaderboard shows moves this forward: the web process caches by it.
    updated_at: Mapped[float] = mapped_column(Float, default=time.time, onupdate=time.time,
                                              index=True)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)     # queued/running/done/failed
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Tie(Base):
    """A paired bootstrap of the GLUE-score difference between two entries (above - below)."""

    __tablename__ = "ties"
    above_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    below_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    diff: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: not comparable
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    computed_at: Mapped[float] = mapped_column(Float)

    @property
    def tied(self) -> bool:
        return self.ci_low is not None and self.ci_low <= 0.0 <= self.ci_high


def board_version(session: Session) -> tuple:
    """Changes whenever anything the leaderboard shows changes (a cheap, indexed query)."""
    version = tuple(session.execute(select(func.max(Submission.updated_at),
                                           func.count(Submission.id))).one())
    return version + (session.scalar(select(func.count()).select_from(Tie)),)


def database_url(db: str) -> str:
    """``--db`` as a SQLAlchemy URL: a file path is SQLite; ``postgresql://`` uses psycopg."""
    if db.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + db.split("://", 1)[1]
    elif "://" not in db:
        url = "" if db == ":memory:" else f"sqlite:///{Path(db).expanduser().resolve()}"
    elif db.startswith(("sqlite://", "postgresql+psycopg://")):
        url = db
    else:
        raise UsageError(f"--db {shown_url(db)}: unsupported database URL; use a SQLite file "
                         "path or postgresql://USER@HOST/DB")
    try:
        parsed = make_url(url) if url else None
    except Exception:  # noqa: BLE001 - SQLAlchemy's ArgumentError, or ValueError for a port
        raise UsageError(f"--db {shown_url(db)}: not a database URL; use a SQLite file path or "
                         "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB") from None
    if parsed is None or (parsed.get_backend_name() == "sqlite" and _in_memory(parsed)):
        raise UsageError(f"--db {shown_url(db)}: an in-memory database cannot be shared by "
                         "the web process and the workers, and is lost on exit; give a file "
                         "path, e.g. --db leaderboard.db")
    return url


def _in_memory(parsed) -> bool:
    """An in-memory SQLite database lives in one connection of one process."""
    name = parsed.database or ""
    return (name in ("", ":memory:") or name.startswith("file::memory:")
            or parsed.query.get("mode") == "memory")


def shown_url(db: str) -> str:
    """``--db`` for a message: at most 200 characters, escaped, with any password hidden."""
    try:
        parsed = make_url(db) if "://" in db else None
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: nothing to hide in it
        parsed = None
    if parsed is not None and parsed.password:
        db = parsed.render_as_string(hide_password=True)
    return escape(db)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL)."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


class Database:
    """An engine and two kinds of sessions: ``read()`` and ``write()`` (one transaction each).

    ``create=False`` (the web process, the workers): a SQLite file is opened, never made;
    if it is deleted while serving, connections fail instead of starting an empty one.
    """

    def __init__(self, db: str, *, create: bool = True):
        self.url = database_url(db)
        self.path = sqlite_path(self.url)
        self.is_sqlite = self.path is not None
        if self.is_sqlite:
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False},
                                        pool_size=POOL_SIZE, max_overflow=POOL_SIZE)
            _sqlite_pragmas(self.engine, None if create else self.path)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=POOL_SIZE,
                                        max_overflow=POOL_SIZE,
                                        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
        self.identity = file_identity(self.path) if self.is_sqlite else None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(sqlite_begin="IMMEDIATE"),
                                   expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction, committed at the end (rolled back on an exception)."""
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, or None when there is none: a replaced file differs."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _sqlite_pragmas(engine: Engine, existing: Path | None) -> None:
    """WAL, a busy timeout, foreign keys; with ``existing``, open that file read-write
    only (SQLite's ``mode=rw``): a missing file is an error, not a new empty database."""
    if existing is not None:
        @event.listens_for(engine, "do_connect")
        def open_existing(_dialect, _record, cargs, cparams):
            cargs[:] = [f"file:{quote(str(existing))}?mode=rw"]
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}")


def alembic_config():
    """Alembic's configuration for our migrations (``migrations/``)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location",
                           str(resources.files("gluebench.server") / "migrations"))
    return config


def migrate(database: Database) -> None:
    """Bring the schema up to the newest Alembic revision (idempotent)."""
    from alembic import command

    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
