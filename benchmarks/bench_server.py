"""The leaderboard server under load, and the time to score one full-size submission.

1. Scoring: a full-size test submission (all 11 files at the official test sizes, QQP's
   390,965 rows included; random predictions) scored against SYNTHETIC test labels in the
   official layout, written to a temp dir (``TASK/test_labels.tsv``; the real public AX
   labels and categories are copied in). QQP's test labels are not available anywhere, so
   the labels of the hidden tasks are random: the time is what matters, not the score.
   Timed in process (cold: the worker's first job, gold labels read; warm: gold cached)
   and end to end through a running server (upload -> scored, from the API's times).
2. Load: 1,000 scored submissions (100 users x 10) in a SQLite database; ``gluebench
   serve`` on loopback; locust headless, bounded in users and time: the leaderboard page
   at a visitor's pace (latency), then every endpoint as fast as locust can (throughput).

    python benchmarks/bench_server.py --data-dir ../shared/data/glue
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np

from gluebench.benchmark.gold_labels import labels_path
from gluebench.benchmark.predictions import predictions_text
from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.server.accounts import add_user
from gluebench.server.db import Database, Job, Submission, Tie, User, migrate
from gluebench.server.grading import Gold, headline, parse, score, summary
from gluebench.server.packing import pack, unpack

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = '''
import random
from locust import HttpUser, between, constant, task

N = {n}

class Visitor(HttpUser):
    wait_time = {wait}

    @task(4)
    def page(self):
        self.client.get("/", name="GET /")

    @task(2)
    def sorted_page(self):
        self.client.get("/?sort=RTE&order=asc&page=2", name="GET /?sort=RTE&page=2")

    @task(2)
    def api(self):
        self.client.get("/api/leaderboard", name="GET /api/leaderboard")

    @task(1)
    def entry(self):
        self.client.get(f"/entry/{{random.randint(1, N)}}", name="GET /entry/ID")

    @task(1)
    def status(self):
        self.client.get(f"/api/submissions/{{random.randint(1, N)}}",
                        name="GET /api/submissions/ID")
'''


def synthetic_gold(data_dir: Path, out: Path, seed: int = 0) -> None:
    """Random test labels for every entry at its official size, plus the real AX file."""
    rng = np.random.default_rng(seed)
    for name, b in BENCHMARKS.items():
        if name == "AX":
            continue
        task, n = get_task(b.task), get_task(b.task).files[b.test].size
        values = rng.uniform(0, 5, n) if task.is_regression else rng.integers(
            0, len(task.labels), n)
        text = predictions_text(task, np.arange(n), values).replace("prediction", "label", 1)
        path = out / labels_path(b)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (out / "diagnostic").mkdir(exist_ok=True)
    shutil.copy(data_dir / "diagnostic" / "diagnostic-full.tsv", out / "diagnostic")


def full_submission(seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for b in BENCHMARKS.values():
            task, n = get_task(b.task), get_task(b.task).files[b.test].size
            values = rng.uniform(0, 5, n) if task.is_regression else rng.integers(
                0, len(task.labels), n)
            zf.writestr(b.submission_file, predictions_text(task, np.arange(n), values))
    return buffer.getvalue()


def time_scoring(gold_dir: Path, data: bytes) -> dict:
    """Upload check (the web process: ``inspect_submission``) and scoring (a worker, from the
    predictions stored at upload), each the best of 3; and reading the gold labels once."""
    start = time.perf_counter()
    gold = Gold(open_source(gold_dir), "test")
    gold.preload()
    load_s = time.perf_counter() - start
    check, score_s = [], []
    for _ in range(3):
        start = time.perf_counter()
        predictions = unpack(pack(parse(data, "test")))
        check.append(time.perf_counter() - start)
        start = time.perf_counter()
        results = score(predictions, gold, n_resamples=1000)
        score_s.append(time.perf_counter() - start)
    assert sorted(results["tasks"]) == sorted(BENCHMARKS), results["not_scored"]
    return {"gold_load_s": load_s, "check_s": min(check), "score_s": min(score_s),
            "results": results}


def fill_database(db: Database, results: dict, n: int, users: int) -> None:
    """``n`` scored submissions with jittered scores (their zips are not stored)."""
    rng = random.Random(0)
    with db.write() as s:
        for u in range(users):
            add_user(s, f"user{u:03d}")
        s.flush()
        user_ids = [u.id for u in s.query(User).all()]
        now = time.time()
        for i in range(n):
            jittered = json.loads(json.dumps(results))
            for task in jittered["tasks"].values():
                task["score"] = max(-100.0, min(100.0, task["score"] + rng.gauss(0, 8)))
            digest = summary(jittered)
            sub = Submission(user_id=user_ids[i % users], name=f"model-{i:04d} <b>x</b>",
                             description="a synthetic entry for the benchmark", url="",
                             params=rng.randint(10**6, 10**9), public=True, hidden=False,
                             state="scored", split="test", created_at=now - i * 60,
                             scored_at=now - i * 60 + 5, zip_data=b"", zip_size=0,
                             results=jittered, summary=digest, score=headline(digest),
                             score_count=1)
            s.add(sub)
        s.flush()
        subs = sorted(s.query(Submission).all(), key=lambda x: (-x.score, x.id))
        for sub in subs:
            s.add(Job(submission_id=sub.id, state="done", attempts=1, created_at=sub.created_at,
                      finished_at=sub.scored_at))
        for above, below in zip(subs, subs[1:], strict=False):  # as if all were compared
            diff = above.score - below.score
            s.add(Tie(above_id=above.id, below_id=below.id, diff=diff, ci_low=diff - 0.5,
                      ci_high=diff + 0.5, computed_at=now))


def start_server(db_url: str, gold_dir: Path, port: int, workers: int, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "gluebench", "serve", "--data-dir", str(gold_dir),
               "--db", db_url, "--port", str(port), "--workers", str(workers),
               "--per-day", "100", "--per-month", "1000"]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    raise TimeoutError("server did not start")


def end_to_end(url: str, token: str, data: bytes) -> list[float]:
    """Upload -> scored, twice (the first job also reads the gold labels)."""
    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=120) as client:
        for i in range(2):
            sub = client.post("/api/submissions", data={"name": f"full-{i}"},
                              files={"file": ("s.zip", data)}).json()
            while (body := client.get(f"/api/submissions/{sub['id']}").json())["state"] in (
                    "queued", "running"):
                time.sleep(0.05)
            assert body["state"] == "scored", body
            out.append(body["scored_at"] - body["created_at"])
    return out


def sequential(url: str, paths: list[str], repeats: int = 200) -> dict:
    """One client, one request at a time: latency without queueing."""
    out = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            client.get(path)  # warm the cache
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append(1000 * (time.perf_counter() - start))
            out[path] = {"p50_ms": float(np.percentile(times, 50)),
                         "p95_ms": float(np.percentile(times, 95))}
    return out


def locust(url: str, n: int, users: int, seconds: int, wait: str, tmp: Path, tag: str) -> dict:
    file = tmp / "locustfile.py"
    file.write_text(LOCUSTFILE.format(n=n, wait=wait))
    prefix = tmp / tag
    subprocess.run([sys.executable, "-m", "locust", "-f", str(file), "--headless",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url,
                    "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                   stdout=subprocess.DEVNULL)  # exit 1 on any failed request: counted below
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    return {r["Name"]: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                        "p50_ms": float(r["50%"]), "p95_ms": float(r["95%"]),
                        "rps": float(r["Requests/s"])} for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data/glue")
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--users", type=int, default=20, help="locust users")
    ap.add_argument("--seconds", type=int, default=30, help="each locust phase")
    ap.add_argument("--out", default="benchmarks/results/cpu-server.json")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gluebench-bench-server-"))
    gold_dir = tmp / "gold"
    synthetic_gold(Path(args.data_dir), gold_dir)
    data = full_submission()
    scoring = time_scoring(gold_dir, data)
    print(f"full submission ({len(data) / 1e6:.1f} MB zip): upload check "
          f"{scoring['check_s']:.2f} s, scoring {scoring['score_s']:.2f} s "
          f"(gold labels read once per worker: {scoring['gold_load_s']:.2f} s)")

    db = Database(str(tmp / "bench.db"))
    migrate(db)
    fill_database(db, scoring["results"], args.submissions, users=100)
    with db.write() as s:
        token = add_user(s, "bencher")
    db.dispose()
    port = 8700 + os.getpid() % 200
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "serve.log", "ab")
    proc = start_server(str(tmp / "bench.db"), gold_dir, port, 1, log)
    try:
        e2e = end_to_end(url, token, data)
        print(f"end to end (upload -> scored): {e2e[0]:.2f} s, {e2e[1]:.2f} s")
        one_by_one = sequential(url, ["/", "/api/leaderboard", "/entry/1"])
        # the two uploads above are private: visitors ask for the 1,000 public entries
        n = args.submissions + 2
        visitors = locust(url, args.submissions, 10, args.seconds, "between(0.5, 1.5)", tmp,
                          "visitors")
        flat_out = locust(url, args.submissions, args.users, args.seconds, "constant(0)", tmp,
                          "throughput")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    report = {"submissions_in_db": n, "full_submission_zip_bytes": len(data),
              "in_process_s": {k: scoring[k] for k in ("check_s", "score_s", "gold_load_s")},
              "score_end_to_end_s": e2e, "one_client": one_by_one,
              "visitors_10_users": visitors,
              f"throughput_{args.users}_users": flat_out, "seconds_per_phase": args.seconds,
              "cpu": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    for path, r in one_by_one.items():
        print(f"one client {path:20s} p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms")
    for phase in ("visitors_10_users", f"throughput_{args.users}_users"):
        print(phase)
        for name, r in report[phase].items():
            print(f"  {name:32s} {r['requests']:6d} req  {r['failures']:3d} fail  "
                  f"p50 {r['p50_ms']:6.0f} ms  p95 {r['p95_ms']:6.0f} ms  {r['rps']:6.1f}/s")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
