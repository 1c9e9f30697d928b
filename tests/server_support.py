"""A real leaderboard server for tests: a subprocess on a free loopback port, a database
(SQLite file, or a fresh PostgreSQL database when GLUEBENCH_TEST_POSTGRES names a server),
users, and dev-sized submission zips built from the real data with the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from gluebench.cli import main as cli
from gluebench.server.accounts import add_user
from gluebench.server.db import Database, migrate
from gluebench.server.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PG_ENV = "GLUEBENCH_TEST_POSTGRES"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not os.environ.get(PG_ENV), reason=f"{PG_ENV} not set (.ci/run sets it)"))]
# Small but real: bootstrap CIs and ties on 200 resamples keep a scoring job well under 1 s.
TEST_RESAMPLES = 200
SERVE = ("import json, sys\n"
         "from gluebench.server.serve import serve\n"
         "from gluebench.server.settings import Settings\n"
         "sys.exit(serve(Settings(**json.loads(sys.argv[1])), sys.argv[2], port=int(sys.argv[3]),"
         " workers=int(sys.argv[4])))\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Backend:
    """One database for a test module: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, kind: str, tmp: Path):
        self.kind, self._pg_db = kind, None
        if kind == "sqlite":
            self.url = str(tmp / "leaderboard.db")
            return
        import psycopg

        base = os.environ[PG_ENV]
        self._pg_db = f"gluebench_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._pg_db}"')
        self._base = base
        self.url = base.rsplit("/", 1)[0] + "/" + self._pg_db

    def drop(self) -> None:
        if self._pg_db:
            import psycopg

            with psycopg.connect(self._base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_db}" WITH (FORCE)')

    def database(self) -> Database:
        db = Database(self.url)
        migrate(db)
        return db


def make_user(db: Database, name: str, admin: bool = False) -> str:
    with db.write() as s:
        return add_user(s, name, admin=admin)


class LiveServer:
    """``serve`` (supervisor, uvicorn web process, workers) in a subprocess."""

    def __init__(self, settings: Settings, data_dir: Path, workers: int = 1, log: Path = None):
        self.settings, self.data_dir, self.workers = settings, data_dir, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> LiveServer:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, json.dumps(asdict(self.settings)),
             str(self.data_dir), str(self.port), str(self.workers)],
            env=child_env(), stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        wait_ready(self.url, timeout, self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def wait_ready(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def wait_state(client: httpx.Client, sub_id: int, states=("scored", "failed"),
               timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/submissions/{sub_id}").json()
        if body.get("state") in states:
            return body
        time.sleep(0.2)
    raise TimeoutError(f"submission {sub_id} still {body.get('state')} after {timeout} s")


def build_zip(folder: Path, kind: str, seed: int, glue_dir: Path) -> Path:
    """A dev-sized zip from a baseline's predictions on the real dev data (the CLI's way)."""
    preds, out = folder / f"{kind}-{seed}", folder / f"{kind}-{seed}.zip"
    assert cli(["baseline", kind, "--data-dir", str(glue_dir), "--split", "dev",
                "-o", str(preds), "--seed", str(seed)]) == 0
    assert cli(["submission", "--predictions", str(preds), "--split", "dev",
                "--fill-missing", "-o", str(out)]) == 0
    return out


def submit(client: httpx.Client, zip_bytes: bytes, name: str, **fields) -> httpx.Response:
    data = {"name": name, **{k: str(v) for k, v in fields.items()}}
    return client.post("/api/submissions", data=data,
                       files={"file": ("submission.zip", zip_bytes, "application/zip")})


def noisy_zip(folder: Path, glue_dir: Path, accuracy: float, seed: int) -> Path:
    """A dev-sized zip of a model right on about ``accuracy`` of each dev set: the gold
    labels with the rest changed at random (STS-B: gold plus noise), so entries differ."""
    import numpy as np

    from gluebench.benchmark.predictions import write_predictions
    from gluebench.benchmark.scoring import evaluation_examples
    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.tasks import BENCHMARKS, get_task

    source, rng = open_source(glue_dir), np.random.default_rng(seed)
    preds = folder / f"noisy-{accuracy}-{seed}"
    for b in BENCHMARKS.values():
        task = get_task(b.task)
        if not source.has(task, b.dev):
            continue
        gold = evaluation_examples(source, b, "dev")
        if task.is_regression:
            values = np.clip(gold.labels + rng.normal(0, 4 * (1 - accuracy), len(gold)), 0, 5)
        else:
            wrong = rng.random(len(gold)) > accuracy
            shift = rng.integers(1, len(task.labels), len(gold))
            values = np.where(wrong, (gold.labels + shift) % len(task.labels), gold.labels)
        write_predictions(preds / b.submission_file, task, gold.index, values)
    out = folder / f"{preds.name}.zip"
    assert cli(["submission", "--predictions", str(preds), "--split", "dev",
                "--fill-missing", "-o", str(out)]) == 0
    return out
