"""The leaderboard server under faults, restarts and concurrent load (real processes):
a worker SIGKILLed mid-scoring, the whole server stopped and started, 30 uploads at once.
Each runs on SQLite, and on PostgreSQL when GLUEBENCH_TEST_POSTGRES is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from gluebench.server.db import Job, Submission
from gluebench.server.settings import Settings

from .server_support import (
    BACKENDS,
    REPO,
    Backend,
    LiveServer,
    build_zip,
    child_env,
    free_port,
    make_user,
    submit,
    wait_ready,
    wait_state,
)


@pytest.fixture(scope="module")
def zip_bytes(tmp_path_factory, glue_dir) -> bytes:
    return build_zip(tmp_path_factory.mktemp("zips"), "random", 3, glue_dir).read_bytes()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    backend = Backend(request.param, tmp_path)
    yield backend
    backend.drop()


def _job(db, sub_id: int) -> Job:
    with db.read() as s:
        return s.scalars(select(Job).where(Job.submission_id == sub_id)).one()


def _submission(db, sub_id: int) -> Submission:
    with db.read() as s:
        return s.get(Submission, sub_id)


@pytest.mark.slow
def test_killed_worker_job_is_scored_once_after_its_lease(backend, tmp_path, glue_dir,
                                                          zip_bytes):
    db = backend.database()
    token = make_user(db, "alice")
    lease, pause = 2.0, 2.5  # a worker holds each job >= 2.5 s: time to kill it mid-scoring
    settings = Settings(db_url=db.url, split="dev", n_resamples=100, lease_s=lease,
                        score_pause_s=pause)
    server = LiveServer(settings, glue_dir, workers=1, log=tmp_path / "server.log").start()
    try:
        with server.client(token) as alice:
            sub_id = submit(alice, zip_bytes, "survivor").json()["id"]
            deadline = time.monotonic() + 30
            while _job(db, sub_id).state != "running":
                assert time.monotonic() < deadline, "the job was never claimed"
                time.sleep(0.05)
            first_owner = _job(db, sub_id).lease_owner
            os.kill(int(first_owner.rsplit(":", 1)[1]), signal.SIGKILL)
            killed_at = time.time()
            lease_end = _job(db, sub_id).lease_expires_at  # the dead worker renews it no more
            done = wait_state(alice, sub_id, timeout=60)
    finally:
        server.stop()
    job, sub = _job(db, sub_id), _submission(db, sub_id)
    assert done["state"] == "scored" and sub.score_count == 1  # scored exactly once
    assert job.attempts == 2 and job.lease_owner != first_owner
    assert lease_end > killed_at - 0.1
    # the second worker could claim it only after the lease ran out, then scored it
    assert sub.scored_at >= lease_end + pause
    db.dispose()


def _serve_cli(db: str, glue_dir, port: int, workers: int, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "gluebench", "serve", "--data-dir", str(glue_dir),
               "--db", db, "--split", "dev", "--port", str(port), "--workers", str(workers),
               "--resamples", "100"]
    proc = subprocess.Popen(command, env=child_env(), cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}", 60, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


@pytest.mark.slow
def test_restart_loses_nothing(backend, tmp_path, glue_dir, zip_bytes, run_cli):
    code, token, _ = run_cli("server", "add-user", "alice", "--db", backend.url)
    token = token.strip()
    assert code == 0 and token.startswith("gb_")
    port, log = free_port(), open(tmp_path / "serve.log", "ab")
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    proc = _serve_cli(backend.url, glue_dir, port, workers=0, log=log)  # no worker: it waits
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=60) as alice:
            first = submit(alice, zip_bytes, "before-restart", public="true")
            assert first.status_code == 202 and first.json()["state"] == "queued"
            _stop(proc)
            proc = _serve_cli(backend.url, glue_dir, port, workers=1, log=log)
            done = wait_state(alice, first.json()["id"])  # the same token still works
            assert done["state"] == "scored"  # the queued job survived the restart
            assert done["name"] == "before-restart" and done["public"] is True
            board = alice.get("/api/leaderboard").json()["rows"]
            assert [r["model"] for r in board] == ["before-restart"]
    finally:
        _stop(proc)


@pytest.mark.slow
def test_thirty_uploads_from_ten_users_at_once(backend, tmp_path, glue_dir, zip_bytes):
    db = backend.database()
    tokens = [make_user(db, f"user{i}") for i in range(10)]
    settings = Settings(db_url=db.url, split="dev", n_resamples=100)  # 2 a day, 3 at once
    server = LiveServer(settings, glue_dir, workers=2, log=tmp_path / "server.log").start()

    def upload(args):
        i, token = args
        with server.client(token) as client:
            return i, submit(client, zip_bytes, f"model-{i}", public="true")

    try:
        work = [(i, t) for i, t in enumerate(tokens) for _ in range(3)]
        with ThreadPoolExecutor(max_workers=30) as pool:
            responses = list(pool.map(upload, work))
        codes = {}
        for i, response in responses:
            codes.setdefault(i, []).append(response.status_code)
        assert all(sorted(c) == [202, 202, 429] for c in codes.values()), codes
        accepted = [r.json()["id"] for _, r in responses if r.status_code == 202]
        with server.client(tokens[0]) as client:
            deadline = time.monotonic() + 120
            while True:
                with db.read() as s:
                    states = [s.get(Submission, i).state for i in accepted]
                if all(state == "scored" for state in states):
                    break
                assert time.monotonic() < deadline, states
                time.sleep(0.3)
            board = client.get("/api/leaderboard").json()["rows"]
    finally:
        server.stop()
    with db.read() as s:
        subs = s.scalars(select(Submission)).all()
        jobs = s.scalars(select(Job)).all()
    assert len(subs) == 20 and all(sub.score_count == 1 for sub in subs)  # none twice
    assert all(job.attempts == 1 and job.state == "done" for job in jobs)
    assert len(board) == 20
    db.dispose()
