"""The leaderboard server over real HTTP: submit and score, validation, quotas, and the
security of every endpoint. One server per database backend (SQLite; PostgreSQL when
GLUEBENCH_TEST_POSTGRES is set), started once for this module."""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select

from gluebench.benchmark.scoring import score_predictions
from gluebench.benchmark.sources import open_source
from gluebench.server.db import Submission
from gluebench.server.settings import MiB, Settings

from .server_support import (
    BACKENDS,
    TEST_RESAMPLES,
    Backend,
    LiveServer,
    build_zip,
    make_user,
    submit,
    wait_state,
)
from .test_properties_parsers import small_zip

MAX_UPLOAD = 2 * MiB


@pytest.fixture(scope="module")
def zips(tmp_path_factory, glue_dir):
    folder = tmp_path_factory.mktemp("zips")
    return {"majority": build_zip(folder, "majority", 0, glue_dir),
            "random1": build_zip(folder, "random", 1, glue_dir),
            "random2": build_zip(folder, "random", 2, glue_dir)}


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory, glue_dir):
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    backend = Backend(request.param, tmp)
    db = backend.database()
    tokens = {name: make_user(db, name) for name in
              ("alice", "bob", "carol", "dave", "erin", "frank", "gina")}
    tokens["root"] = make_user(db, "root", admin=True)
    settings = Settings(db_url=db.url, split="dev", n_resamples=TEST_RESAMPLES,
                        max_upload_bytes=MAX_UPLOAD, auth_failures=5, auth_window_s=1.5)
    server = LiveServer(settings, glue_dir, workers=1, log=tmp / "server.log").start()
    yield server, db, tokens
    server.stop()
    db.dispose()
    backend.drop()


def count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Submission))


def test_submission_is_scored_as_gluebench_score_scores_it(live, zips, glue_dir):
    server, db, tokens = live
    with server.client(tokens["alice"]) as alice:
        accepted = submit(alice, zips["random1"].read_bytes(), "alice-random", public="true",
                          params="110M", url="https://example.org/paper")
        assert accepted.status_code == 202, accepted.text
        first = accepted.json()
        assert first["state"] == "queued" and first["queue_position"] >= 1
        done = wait_state(alice, first["id"])
    assert done["state"] == "scored", done
    expected = score_predictions(open_source(glue_dir), zips["random1"].with_suffix(""),
                                 split="dev", n_resamples=TEST_RESAMPLES)
    got = done["results"]
    assert set(got["tasks"]) == set(expected["tasks"])  # every entry the host has labels for
    assert sorted(got["not_scored"]) == ["MNLI-mm", "QQP"]  # no dev labels on this host
    for name, want in expected["tasks"].items():
        assert got["tasks"][name]["score"] == pytest.approx(want["score"], abs=1e-12)
        # one approx per interval: pytest >= 9.2 refuses a dict of lists in one approx
        assert got["tasks"][name]["ci"].keys() == want["ci"].keys(), name
        for metric, interval in want["ci"].items():
            assert got["tasks"][name]["ci"][metric] == pytest.approx(interval, abs=1e-12), \
                (name, metric)
    assert got["partial_average"] == pytest.approx(expected["partial_average"])
    assert done["queue_position"] is None and done["params"] == 110_000_000


def test_every_problem_is_listed_and_nothing_recorded(live, zips):
    server, db, tokens = live
    broken = io.BytesIO()
    with zipfile.ZipFile(zips["majority"]) as src, zipfile.ZipFile(broken, "w") as out:
        for item in src.infolist():
            if item.filename == "RTE.tsv":
                continue  # missing file
            data = src.read(item)
            if item.filename == "CoLA.tsv":
                data = data.replace(b"\n5\t", b"\n5\tmaybe\t", 1)  # a bad row
            out.writestr(item.filename, data)
    before = count(db)
    with server.client(tokens["bob"]) as bob:
        response = submit(bob, broken.getvalue(), "broken")
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any("RTE.tsv" in p for p in problems) and any("CoLA.tsv" in p for p in problems)
    assert count(db) == before


def test_hostile_uploads_are_4xx_and_write_nothing(live, zips):
    server, db, tokens = live
    with zipfile.ZipFile(zips["majority"]) as zf:
        good = {n: zf.read(n) for n in zf.namelist()}
    bomb = small_zip(good | {"CoLA.tsv": b"index\tprediction\n" + b"0" * (64 * MiB)})
    slip = small_zip(good | {"../CoLA.tsv": good["CoLA.tsv"]})
    absolute = small_zip(good | {"/etc/cron.d/x": b"x"})
    assert len(bomb) < MAX_UPLOAD  # it is the unpacked size that is hostile
    before = count(db)
    with server.client(tokens["carol"]) as carol:
        for payload in (bomb, slip, absolute, b"not a zip", b""):
            response = submit(carol, payload, "hostile")
            assert response.status_code == 400, response.text
        oversize = submit(carol, b"\0" * (MAX_UPLOAD + 1), "big")
        assert oversize.status_code == 413
        headers = {"content-type": "multipart/form-data; boundary=xyz"}
        malformed = carol.post("/api/submissions", content=b"--xyz\r\ngarbage", headers=headers)
        assert malformed.status_code == 400
        no_boundary = carol.post("/api/submissions", content=b"{}",
                                 headers={"content-type": "application/json"})
        assert no_boundary.status_code == 400
        twice = carol.post("/api/submissions", data={"name": "x"}, files=[
            ("file", ("a.zip", b"1")), ("file", ("b.zip", b"2"))])
        assert twice.status_code == 400
    assert count(db) == before


def test_quotas_hold_and_failed_submissions_do_not_count(live, zips):
    server, db, tokens = live
    _insert_failed(db, "dave", 2)  # two failed submissions today: they must not count
    with server.client(tokens["dave"]) as dave:
        data = zips["majority"].read_bytes()
        assert submit(dave, data, "one").status_code == 202
        assert submit(dave, data, "two").status_code == 202
        third = submit(dave, data, "three")
        # over the quota, an upload is refused before its zip costs any checking
        unread = submit(dave, b"not a zip at all", "four")
    assert third.status_code == 429
    assert unread.status_code == 429, unread.text
    assert int(third.headers["Retry-After"]) > 3600  # a day's quota: about 24 hours
    assert "2 submissions in 24 hours" in third.json()["error"]


def _insert_failed(db, user: str, n: int) -> None:
    from gluebench.server.accounts import get_user

    with db.write() as s:
        uid = get_user(s, user).id
        for _ in range(n):
            s.add(Submission(user_id=uid, name="failed", description="", url="", public=False,
                             hidden=False, state="failed", error="x", split="dev",
                             created_at=time.time(), zip_data=b"", zip_size=0, score_count=0))


def test_concurrent_quota_is_checked_in_the_same_transaction(live):
    """Three queued or running at once: the fourth is refused (library call, real database)."""
    from gluebench.server import quotas
    from gluebench.server.accounts import get_user
    from gluebench.server.errors import TooMany

    server, db, _ = live
    with db.write() as s:
        uid = get_user(s, "gina").id
        for _ in range(3):
            s.add(Submission(user_id=uid, name="q", description="", url="", public=False,
                             hidden=False, state="queued", split="dev", created_at=0.0,
                             zip_data=b"", zip_size=0, score_count=0))
    settings = replace(server.settings, per_day=100, per_month=100)
    with pytest.raises(TooMany, match="3 of your submissions are queued"), db.write() as s:
        quotas.lock_user(s, uid)
        quotas.check(s, uid, settings, time.time())
    with db.write() as s:  # leave no queued rows behind for the worker
        for sub in s.scalars(select(Submission).where(Submission.user_id == uid)):
            sub.state = "failed"


def test_private_entries_and_predictions_are_their_owners(live, zips):
    server, db, tokens = live
    with server.client(tokens["erin"]) as erin:
        private = submit(erin, zips["random2"].read_bytes(), "erin-private").json()
        public = submit(erin, zips["majority"].read_bytes(), "erin-public",
                        public="true").json()
        wait_state(erin, private["id"])
        wait_state(erin, public["id"])
        own = erin.get(f"/api/submissions/{private['id']}/predictions")
        assert own.status_code == 200 and own.content == zips["random2"].read_bytes()
        assert "erin-private" in erin.get("/").text
    anonymous, bob = server.client(), server.client(tokens["bob"])
    root = server.client(tokens["root"])
    for who in (anonymous, bob):
        assert who.get(f"/api/submissions/{private['id']}").status_code == 404
        assert who.get(f"/entry/{private['id']}").status_code == 404
        assert "erin-private" not in who.get("/").text
        assert "erin-private" not in who.get("/api/leaderboard").text
        assert "erin-private" not in who.get("/api/leaderboard?format=csv").text
    # a public entry's scores are public; its predictions never are
    assert anonymous.get(f"/api/submissions/{public['id']}").status_code == 200
    assert "state" not in bob.get(f"/api/submissions/{public['id']}").json()
    assert anonymous.get(f"/api/submissions/{public['id']}/predictions").status_code == 401
    assert bob.get(f"/api/submissions/{public['id']}/predictions").status_code == 404
    assert root.get(f"/api/submissions/{private['id']}/predictions").status_code == 200
    assert "erin-private" in root.get("/api/leaderboard").text
    assert bob.get("/api/submissions").json()["submissions"] == []


def test_admin_endpoints_are_for_admins(live):
    server, _, tokens = live
    endpoints = [("GET", "/api/admin/users", None),
                 ("POST", "/api/admin/users/bob/disabled", {"disabled": False}),
                 ("POST", "/api/admin/submissions/1/hidden", {"hidden": False}),
                 ("POST", "/api/admin/submissions/1/flag", {"reason": "x"}),
                 ("DELETE", "/api/admin/submissions/1/flag", None)]
    anonymous, bob, root = (server.client(), server.client(tokens["bob"]),
                            server.client(tokens["root"]))
    for method, path, body in endpoints:
        assert anonymous.request(method, path, json=body).status_code == 401, path
        assert bob.request(method, path, json=body).status_code == 403, path
        assert root.request(method, path, json=body).status_code == 200, path
    assert anonymous.post("/api/submissions", files={"file": b"x"}).status_code == 401
    wrong = server.client("gb_not-a-token").get("/api/submissions")
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    basic = anonymous.get("/api/submissions", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401


def test_flag_hide_disable_and_user_text_is_escaped(live, zips):
    server, _, tokens = live
    script = "<script>alert('x')</script>"
    with server.client(tokens["frank"]) as frank:
        bad_url = submit(frank, zips["majority"].read_bytes(), "m", url="javascript:alert(1)")
        assert bad_url.status_code == 400 and "url" in bad_url.json()["problems"][0]
        sub = submit(frank, zips["majority"].read_bytes(), f"{script} model", public="true",
                     description=f'<img src=x onerror="alert(1)"> {script}').json()
        wait_state(frank, sub["id"])
    root, anonymous = server.client(tokens["root"]), server.client()
    reason = f"suspected test contamination {script}"
    assert root.post(f"/api/admin/submissions/{sub['id']}/flag",
                     json={"reason": reason}).status_code == 200
    for page in (anonymous.get("/"), anonymous.get(f"/entry/{sub['id']}")):
        assert page.status_code == 200
        assert script not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; model" in page.text
        assert "suspected test contamination &lt;script&gt;" in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    root.post(f"/api/admin/submissions/{sub['id']}/hidden", json={"hidden": True})
    assert anonymous.get(f"/entry/{sub['id']}").status_code == 404
    assert server.client(tokens["frank"]).get(f"/entry/{sub['id']}").status_code == 200
    root.post("/api/admin/users/frank/disabled", json={"disabled": True})
    assert server.client(tokens["frank"]).get("/api/submissions").status_code == 403


def test_results_give_no_per_example_feedback(live):
    server, _, tokens = live
    rows = server.client(tokens["root"]).get("/api/leaderboard").json()["rows"]
    assert rows
    for row in rows:
        body = server.client(tokens["root"]).get(f"/api/submissions/{row['id']}").json()
        text = json.dumps(body)
        assert len(text) < 20_000  # aggregates only: a per-example list would be far longer
        _no_long_numeric_lists(body)


def _no_long_numeric_lists(value) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _no_long_numeric_lists(v)
    elif isinstance(value, list):
        numbers = [v for v in value if isinstance(v, (int, float))]
        assert len(numbers) <= 2  # a CI; never a row per example
        for v in value:
            _no_long_numeric_lists(v)


@pytest.mark.slow
def test_failed_token_checks_are_rate_limited(live):
    server, _, tokens = live
    # From another loopback address, so this client's failures are its own.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.url, transport=transport) as client:
        bad = {"Authorization": "Bearer gb_wrong"}
        codes = [client.get("/api/submissions", headers=bad).status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        good = {"Authorization": f"Bearer {tokens['bob']}"}
        # Issue 22: a valid token always works, whatever wrong ones came from its address;
        # only the wrong ones are held back (this assertion was: a valid token gets 429).
        assert client.get("/api/submissions", headers=good).status_code == 200
        locked = client.get("/api/submissions", headers=bad)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
        time.sleep(server.settings.auth_window_s + 0.2)
        assert client.get("/api/submissions", headers=good).status_code == 200


def test_ties_leaderboard_json_csv_and_cli(live, zips, run_cli):
    server, _, tokens = live
    same = zips["random1"].read_bytes()  # alice's entry: the same predictions cannot be told apart
    with server.client(tokens["carol"]) as carol:
        sub = submit(carol, same, "carol-copy", public="true").json()
        wait_state(carol, sub["id"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = server.client().get("/api/leaderboard").json()["rows"]
        names = [r["model"] for r in rows]
        i = names.index("carol-copy")
        j = names.index("alice-random")
        if rows[max(i, j)]["tied_above"]:
            break
        time.sleep(0.3)
    assert abs(i - j) == 1 and rows[max(i, j)]["tied_above"]
    assert rows[i]["rank"] == rows[j]["rank"]
    scores = [r["partial_average"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    by_rte = server.client().get("/api/leaderboard?sort=RTE&order=asc").json()["rows"]
    rte = [r["tasks"]["RTE"]["score"] for r in by_rte]
    assert rte == sorted(rte)
    csv = server.client().get("/api/leaderboard", headers={"Accept": "text/csv"}).text
    assert csv.splitlines()[0].startswith("rank,tied_with_above,model")
    assert len(csv.splitlines()) == len(rows) + 1
    code, out, _ = run_cli("leaderboard", "--server", server.url, "--json")
    assert code == 0 and [r["model"] for r in json.loads(out)["rows"]] == names
    code, out, _ = run_cli("leaderboard", "--server", server.url)
    assert code == 0 and "carol-copy" in out and "RTE" in out


def test_web_process_is_never_given_the_data(live, glue_dir):
    server, _, _ = live
    log = server.log.read_text()
    web_pid = int(log.split("web pid ")[1].split(",")[0])
    data = str(glue_dir.resolve()).encode()
    cmdline = open(f"/proc/{web_pid}/cmdline", "rb").read()
    environ = open(f"/proc/{web_pid}/environ", "rb").read()
    assert b"uvicorn" in cmdline and data not in cmdline and data not in environ
    import os

    open_files = [os.readlink(f"/proc/{web_pid}/fd/{fd}") for fd in os.listdir(
        f"/proc/{web_pid}/fd")]
    assert not [f for f in open_files if f.startswith(str(glue_dir.resolve()))]
    maps = open(f"/proc/{web_pid}/maps", "rb").read()
    assert data not in maps


def test_non_loopback_bind_is_refused_before_anything(run_cli, tmp_path, glue_dir):
    db = tmp_path / "never.db"
    code, _, err = run_cli("serve", "--data-dir", glue_dir, "--db", db, "--host", "0.0.0.0")
    assert code == 2 and "--public" in err and not db.exists()


def test_a_job_that_cannot_be_scored_fails_and_says_why(live):
    """A stored submission whose zip no longer passes the checks (e.g. a stricter validator
    after an upgrade): the worker marks it failed with the reason; it does not count."""
    from gluebench.server.accounts import get_user
    from gluebench.server.db import Job

    server, db, tokens = live
    with db.write() as s:
        sub = Submission(user_id=get_user(s, "gina").id, name="stale", description="", url="",
                         public=False, hidden=False, state="queued", split="dev",
                         created_at=time.time(), zip_data=b"not a zip", zip_size=9,
                         score_count=0)
        s.add(sub)
        s.flush()
        s.add(Job(submission_id=sub.id, state="queued", attempts=0, created_at=time.time()))
    with server.client(tokens["gina"]) as gina:
        done = wait_state(gina, sub.id)
    assert done["state"] == "failed" and done["error"].startswith("invalid submission:")
    assert "not a zip" in done["error"] and done["results"] is None


def test_filters(live):
    server, _, _ = live
    everyone = server.client().get("/api/leaderboard").json()["rows"]
    carol = server.client().get("/api/leaderboard?user=carol").json()["rows"]
    assert carol and {r["user"] for r in carol} == {"carol"}
    text = server.client().get("/api/leaderboard?q=RANDOM").json()["rows"]
    assert {r["model"] for r in text} == {r["model"] for r in everyone
                                          if "random" in r["model"].lower()}
    small = server.client().get("/api/leaderboard?max_params=200M").json()["rows"]
    assert [r["model"] for r in small] == ["alice-random"]  # the only one that gave params
    flagged = server.client().get("/api/leaderboard?flagged=only").json()["rows"]
    assert all(r["flag"] for r in flagged)
    page = server.client().get("/?user=carol&sort=model")
    assert page.status_code == 200 and "carol-copy" in page.text


def test_the_cli_client_reads_what_the_real_server_answers(live, zips, run_cli):
    """`submit --wait` and `leaderboard` against the real server (not a fake shape): the
    client's answer schema accepts every field the server sends (``bootstrap.method`` is a
    string), and prints the scores."""
    server, _, tokens = live
    code, out, err = run_cli("submit", "--server", server.url, "--token", tokens["gina"],
                             "--name", "gina-majority", "--public", "--wait",
                             zips["majority"])
    assert code == 0, err
    assert "dev scores" in out and "RTE" in out
    code, out, err = run_cli("leaderboard", "--server", server.url, "--json")
    assert code == 0, err
    assert any(row["model"] == "gina-majority" for row in json.loads(out)["rows"])
