"""The server's database layer without a web server: migrations (an old database keeps its
rows), quotas' retry times, parameter counts, the predictions blob, the board version."""

from __future__ import annotations

import time
from importlib import resources

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from gluebench.benchmark.predictions import Predictions
from gluebench.server import quotas
from gluebench.server.accounts import add_user, authenticate
from gluebench.server.db import Database, Submission, board_version, migrate
from gluebench.server.errors import TooMany, Unauthorized
from gluebench.server.packing import pack, unpack
from gluebench.server.settings import Settings
from gluebench.server.submissions import parse_params

from .server_support import BACKENDS, Backend


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    backend = Backend(request.param, tmp_path)
    yield backend
    backend.drop()


def _alembic(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location",
                           str(resources.files("gluebench.server") / "migrations"))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_an_old_database_is_migrated_with_its_rows(backend):
    db = Database(backend.url)
    _alembic(db, "0001")
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO users (name, token_hash, is_admin, disabled, created_at) "
                       "VALUES ('old', :h, false, false, 0)"), {"h": "0" * 64})
        c.execute(text(
            "INSERT INTO submissions (user_id, name, description, url, public, hidden, state, "
            "split, created_at, zip_data, zip_size, score_count) VALUES "
            "(1, 'old entry', '', '', true, false, 'failed', 'dev', 0, :z, 0, 0)"), {"z": b""})
    migrate(db)  # 0001 -> head
    migrate(db)  # and again: nothing to do
    with db.read() as s:
        sub = s.get(Submission, 1)
        assert sub.name == "old entry" and sub.predictions is None and sub.updated_at == 0
    db.dispose()


def test_tokens_are_kept_as_hashes_only(backend):
    db = backend.database()
    with db.write() as s:
        token = add_user(s, "alice")
    with db.engine.connect() as c:
        stored = c.execute(text("SELECT token_hash FROM users")).scalar()
    assert token not in stored and len(stored) == 64
    with db.read() as s:
        assert authenticate(s, token).name == "alice"
        with pytest.raises(Unauthorized):
            authenticate(s, token[:-1] + ("A" if token[-1] != "A" else "B"))
    db.dispose()


def test_quota_retry_time_is_when_the_oldest_counted_one_ages_out(backend):
    db = backend.database()
    with db.write() as s:
        add_user(s, "bob")
    now = time.time()
    with db.write() as s:
        for age in (3 * 3600, 1 * 3600):  # 3 h and 1 h ago
            s.add(Submission(user_id=1, name="x", description="", url="", public=False,
                             hidden=False, state="scored", split="dev", created_at=now - age,
                             zip_data=b"", zip_size=0, score_count=1))
    with db.write() as s, pytest.raises(TooMany) as err:
        quotas.check(s, 1, Settings(db_url=db.url), now)
    assert err.value.retry_after == pytest.approx(21 * 3600, abs=2)
    with db.read() as s:
        before = board_version(s)
    with db.write() as s:
        s.get(Submission, 1).hidden = True
    with db.read() as s:
        assert board_version(s) != before  # the web process's cache sees the change
    db.dispose()


def test_parameter_counts_and_packed_predictions():
    assert parse_params("110M") == 110_000_000 and parse_params("1.5B") == 1_500_000_000
    assert parse_params("22,700,000") == 22_700_000 and parse_params("") is None
    for bad in ("lots", "-5", "1e9", "0"):
        with pytest.raises(ValueError):
            parse_params(bad)
    preds = {"RTE": Predictions("x", np.arange(3), np.array([0, 1, 1])),
             "STS-B": Predictions("y", np.arange(2), np.array([0.5, 4.25]))}
    back = unpack(pack(preds))
    for name, p in preds.items():
        assert np.array_equal(back[name].index, p.index)
        assert np.array_equal(back[name].values, p.values)
        assert back[name].values.dtype == p.values.dtype
