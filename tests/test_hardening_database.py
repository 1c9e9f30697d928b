"""The leaderboard's --db (issue 22, item 8): a garbage, truncated or foreign SQLite file, a
newer migration, a missing folder, a directory, an unreachable PostgreSQL, ``:memory:`` are
each one `error:` line naming the --db and what to do, before anything is created; a
database deleted or made unwritable while serving is reported by /healthz (503, the reason)
and new submissions are refused instead of being saved into a file nobody will read."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .server_support import REPO, child_env, free_port, wait_ready


def one_error(err: str, *words: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def leaderboard_db(tmp_path_factory) -> Path:
    """A real leaderboard database with one user, made by the CLI."""
    from gluebench.cli import main

    path = tmp_path_factory.mktemp("db") / "leaderboard.db"
    assert main(["server", "add-user", "alice", "--db", str(path)]) == 0
    return path


def _sqlite(path: Path, *statements: str) -> Path:
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()
    return path


def _bad_databases(tmp: Path, good: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (--db, words the error line must hold)."""
    garbage = tmp / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    truncated = tmp / "truncated.db"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    stub = tmp / "stub.db"
    stub.write_bytes(good.read_bytes()[:40])
    newer = tmp / "newer.db"
    shutil.copy(good, newer)  # the CLI closed it: no -wal file is left beside it
    _sqlite(newer, "UPDATE alembic_version SET version_num = '0999_from_the_future'")
    foreign = _sqlite(tmp / "notes.db", "CREATE TABLE notes (id INTEGER, body TEXT)")
    clash = _sqlite(tmp / "clash.db", "CREATE TABLE users (id INTEGER, email TEXT)")
    pg_port = free_port()  # nothing listens there
    return {
        "garbage": (str(garbage), ("not a SQLite database",)),
        "truncated": (str(truncated), ("truncated", "backup")),
        "a stub": (str(stub), ("truncated",)),
        "a newer migration": (str(newer), ("0999_from_the_future", "newer gluebench")),
        "another application's": (str(foreign), ("notes", "not a gluebench")),
        "a clashing table": (str(clash), ("users", "not a gluebench")),
        "a missing folder": (str(tmp / "no" / "such" / "x.db"), ("does not exist", "mkdir")),
        "a directory": (str(tmp), ("is a directory",)),
        ":memory:": (":memory:", ("in-memory", "file path")),
        "sqlite://": ("sqlite://", ("in-memory",)),
        "sqlite:///:memory:": ("sqlite:///:memory:", ("in-memory",)),
        "an unreachable PostgreSQL": (f"postgresql://gluebench:s3cret@127.0.0.1:{pg_port}/lb",
                                      ("PostgreSQL", "running", f"127.0.0.1:{pg_port}")),
        "an unsupported URL": ("mysql://root@localhost/lb", ("unsupported",)),
        "a device": ("/dev/zero", ("not a regular file",)),
    }


BAD = ["garbage", "truncated", "a stub", "a newer migration", "another application's",
       "a clashing table", "a missing folder", "a directory", ":memory:", "sqlite://",
       "sqlite:///:memory:", "an unreachable PostgreSQL", "an unsupported URL", "a device"]


@pytest.mark.parametrize("what", BAD)
def test_a_bad_db_is_one_line_naming_it(what, tmp_path, leaderboard_db, run_cli):
    db, words = _bad_databases(tmp_path, leaderboard_db)[what]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    shown = db.split("@")[-1] if "@" in db else db
    for command in (["server", "users"], ["server", "add-user", "bob"],
                    ["serve", "--data-dir", "sample", "--workers", "0",
                     "--port", str(free_port())]):
        code, _, err = run_cli(*command, "--db", db)
        assert code == 2, (what, command, err)
        line = one_error(err, "--db", shown, *words)
        assert "s3cret" not in line  # a password is never printed
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing created, migrated or changed
    assert not (Path.cwd() / ":memory:").exists()


def _serve(db: Path, port: int, log, unprivileged: bool) -> subprocess.Popen:
    """`gluebench serve` as a real process; ``unprivileged``: root without its override of
    file permissions, so a file made read-only is read-only to the server."""
    command = [sys.executable, "-m", "gluebench", "serve", "--data-dir", "sample", "--db",
               str(db), "--split", "dev", "--port", str(port), "--workers", "1"]
    if unprivileged and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.fail("root without setpriv cannot drop its file-permission override")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    env = {**child_env(), "PYTHONUNBUFFERED": "1"}   # the log is read while it serves
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}", 60, proc)
    return proc


def _health(url: str) -> httpx.Response:
    return httpx.get(url + "/healthz", timeout=30)


def _until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def _wait_for_log(path, text: str, timeout: float = 30.0) -> None:
    """The worker notices between two idle polls; wait for it rather than race it."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.slow
def test_healthz_reports_a_database_deleted_or_made_unwritable_while_serving(
        tmp_path, run_cli):
    folder = tmp_path / "lb"
    folder.mkdir()
    db = folder / "leaderboard.db"
    code, token, _ = run_cli("server", "add-user", "alice", "--db", str(db))
    assert code == 0
    token = token.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    upload = {"files": {"file": ("s.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip")},
              "data": {"name": "model"}, "headers": auth}
    proc = _serve(db, port, open(tmp_path / "serve.log", "ab"), unprivileged=True)
    try:
        assert _health(url).json() == {"ok": True, "split": "dev"}

        # Deleted (moved away) while serving: connections still open would write into a
        # file that is gone.
        db.rename(tmp_path / "moved.db")
        gone = _health(url)
        assert gone.status_code == 503 and not gone.json()["ok"]
        assert str(db) in gone.json()["error"] and "deleted" in gone.json()["error"]
        refused = httpx.post(url + "/api/submissions", timeout=30, **upload)
        assert refused.status_code == 503 and "deleted" in refused.json()["error"]
        _wait_for_log(tmp_path / "serve.log", "waiting: the database file")  # worker polls
        (tmp_path / "moved.db").rename(db)
        assert _health(url).status_code == 200

        # Made read-only while serving.
        db.chmod(0o444)
        try:
            unwritable = _health(url)
            assert unwritable.status_code == 503 and "not writable" in unwritable.json()["error"]
            refused = httpx.post(url + "/api/submissions", timeout=30, **upload)
            assert refused.status_code == 503
        finally:
            db.chmod(0o644)
        assert _health(url).status_code == 200
        # and back: the same upload reaches the zip check (400, not 503)
        assert httpx.post(url + "/api/submissions", timeout=30, **upload).status_code == 400
    finally:
        proc.terminate()
        proc.wait(30)
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "waiting: the database file" in log  # the worker scored nothing meanwhile
