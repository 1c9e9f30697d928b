"""A leaderboard hosting SuperGLUE (``serve --suite superglue``) over real HTTP, beside a
GLUE board: two processes, two databases (marked ``real_data``: the real SuperGLUE val
files, and GLUE's dev files for the GLUE board).

The SuperGLUE submission is built by ``gluebench submission --suite superglue`` from
val-shaped predictions; the host's ReCoRD val file (not in the shared data) is written
here in the official layout at its official size (10,000 queries), because the web
process checks uploads against the official sizes, as for GLUE.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from gluebench.cli import main
from gluebench.server.db import Tie
from gluebench.server.settings import Settings

from .server_support import (
    TEST_RESAMPLES,
    Backend,
    LiveServer,
    build_zip,
    free_port,
    make_user,
    submit,
    wait_state,
)
from .test_suite_cli import TASKS, write_predictions
from .test_suite_submission import REAL_FILES, _real

RECORD_SIZE = 10_000  # the official size of ReCoRD's val file
RECORD_PASSAGE = {"text": "Lionel Messi scored twice for Barcelona.\n@highlight\nMessi stars",
                  "entities": [{"start": 0, "end": 11}, {"start": 30, "end": 38},
                               {"start": 52, "end": 56}]}
RECORD_ANSWERS = [{"start": 0, "end": 11, "text": "Lionel Messi"},
                  {"start": 52, "end": 56, "text": "Messi"}]
pytestmark = [pytest.mark.real_data, pytest.mark.slow]   # live servers over real HTTP


def cli(*argv) -> int:
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The real SuperGLUE val files, and an official-size ReCoRD val file."""
    real = _real()
    root = tmp_path_factory.mktemp("data")
    for task in TASKS:
        for rel in REAL_FILES.get(task, [f"{task}/val.jsonl"]):
            (root / "superglue" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real / "superglue" / rel, root / "superglue" / rel)
    lines = [{"source": "fixture", "passage": RECORD_PASSAGE, "idx": i,
              "qas": [{"query": f"@placeholder scored two goals ({i})",
                       "answers": RECORD_ANSWERS, "idx": i}]} for i in range(RECORD_SIZE)]
    (root / "superglue" / "ReCoRD").mkdir()
    (root / "superglue" / "ReCoRD" / "val.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines))
    return root


def superglue_predictions(folder: Path, data: Path, kind: str, seed: int) -> Path:
    write_predictions(folder, data, kind, seed)
    (folder / "ReCoRD.jsonl").write_text("".join(
        json.dumps({"idx": i, "label": ("Lionel Messi", "Messi", "Barcelona")[i % 3]}) + "\n"
        for i in range(RECORD_SIZE)))
    return folder


@pytest.fixture(scope="module")
def superglue_zip(tmp_path_factory, data) -> Path:
    folder = tmp_path_factory.mktemp("sg")
    superglue_predictions(folder / "pred", data, "flips", 3)
    out = folder / "superglue.zip"
    assert cli("submission", "--suite", "superglue", folder / "pred", "--split", "dev",
               "-o", out) == 0
    return out


@pytest.fixture(scope="module")
def boards(tmp_path_factory, data, glue_dir):
    """A GLUE and a SuperGLUE board side by side: two processes, two SQLite databases."""
    servers, dbs = {}, {}
    for name, data_dir in (("glue", glue_dir), ("superglue", data)):
        tmp = tmp_path_factory.mktemp(f"board-{name}")
        db = Backend("sqlite", tmp).database()
        dbs[name] = db
        token = make_user(db, "alice")
        settings = Settings(db_url=db.url, split="dev", n_resamples=TEST_RESAMPLES, suite=name,
                            per_day=20, per_month=20, concurrent=5)
        servers[name] = (LiveServer(settings, data_dir, log=tmp / "server.log").start(), token)
    yield servers, dbs
    for server, _ in servers.values():
        server.stop()
    for db in dbs.values():
        db.dispose()


def _unzip(zip_path: Path, folder: Path) -> Path:
    folder.mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    return folder


def test_superglue_submission_row_equals_gluebench_score(boards, superglue_zip, data, tmp_path):
    server, token = boards[0]["superglue"]
    with server.client(token) as alice:
        accepted = submit(alice, superglue_zip.read_bytes(), "flips-3", public="true")
        assert accepted.status_code == 202, accepted.text
        done = wait_state(alice, accepted.json()["id"], timeout=180)
        assert done["state"] == "scored", done
        board = alice.get("/api/leaderboard").json()
        page = alice.get("/").text
        entry_page = alice.get(f"/entry/{done['id']}").text
    scores = tmp_path / "scores.json"
    assert cli("score", "--suite", "superglue", "--split", "dev", "--predictions",
               _unzip(superglue_zip, tmp_path / "unzipped"), "--data-dir", data,
               "--resamples", TEST_RESAMPLES, "--json", scores) == 0
    expected = json.loads(scores.read_text())
    got = done["results"]
    # Stored with the suite's name and content hash; CIs from the suite's resampling units.
    assert got["suite"] == expected["suite"]
    assert got["suite"]["name"] == "superglue" and len(got["suite"]["sha256"]) == 64
    assert got["superglue_score"] == expected["superglue_score"] is not None
    assert got["tasks"] == expected["tasks"]
    assert got["tasks"]["MultiRC"]["resample"] == expected["tasks"]["MultiRC"]["resample"]
    # The board: the suite's columns, its aggregate, AX-b and AX-g beside it.
    assert board["entries"] == ["BoolQ", "CB", "COPA", "MultiRC", "ReCoRD", "RTE", "WiC",
                                "WSC", "AX-b", "AX-g"]
    assert board["suite"] == {"name": "superglue", "sha256": expected["suite"]["sha256"]}
    row = board["rows"][0]
    assert row["superglue_score"] == expected["superglue_score"]
    assert row["partial_average"] is None and "glue_score" not in row
    for name, result in expected["tasks"].items():
        assert row["tasks"][name] == {k: v for k, v in result.items() if k != "ci"}
    assert "SuperGLUE leaderboard" in page and "GLUE leaderboard" not in page.replace(
        "SuperGLUE leaderboard", "")
    assert f"{expected['superglue_score']:.1f}" in page
    assert "gluebench submission --suite superglue" in page
    assert "AX-g" in entry_page and "SuperGLUE score" in entry_page


def test_bad_superglue_zip_is_a_4xx_listing_the_problems(boards, superglue_zip):
    server, token = boards[0]["superglue"]
    with zipfile.ZipFile(superglue_zip) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    del files["CB.jsonl"]
    files["BoolQ.jsonl"] = files["BoolQ.jsonl"].replace(b'"true"', b'"maybe"', 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    with server.client(token) as alice:
        bad = submit(alice, buffer.getvalue(), "bad")
        not_zip = submit(alice, b"not a zip", "bad")
        mine = alice.get("/api/submissions").json()["submissions"]
    assert bad.status_code == 400, bad.text
    problems = bad.json()["problems"]
    assert any("missing CB.jsonl" in p for p in problems), problems
    assert any("BoolQ.jsonl" in p and "maybe" in p for p in problems), problems
    assert not_zip.status_code == 400 and not_zip.json()["problems"]
    assert all(s["name"] != "bad" for s in mine)  # nothing recorded


def test_html_escapes_user_text_on_a_suite_board(boards, superglue_zip):
    server, token = boards[0]["superglue"]
    name = '<script>alert("x")</script>'
    with server.client(token) as alice:
        accepted = submit(alice, superglue_zip.read_bytes(), name, public="true",
                          description="<img src=x onerror=alert(1)>")
        assert accepted.status_code == 202, accepted.text
        sub_id = accepted.json()["id"]
        assert wait_state(alice, sub_id, timeout=180)["state"] == "scored"
        pages = [alice.get("/").text, alice.get(f"/entry/{sub_id}").text]
    for page in pages:
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page


def test_glue_and_superglue_boards_side_by_side(boards, glue_dir, superglue_zip, tmp_path):
    glue, glue_token = boards[0]["glue"]
    superglue, sg_token = boards[0]["superglue"]
    glue_zip = build_zip(tmp_path, "majority", 0, glue_dir)
    with glue.client(glue_token) as g, superglue.client(sg_token) as s:
        assert submit(g, superglue_zip.read_bytes(), "wrong board").status_code == 400
        assert submit(s, glue_zip.read_bytes(), "wrong board").status_code == 400
        ok_glue = submit(g, glue_zip.read_bytes(), "glue-majority", public="true")
        ok_sg = submit(s, superglue_zip.read_bytes(), "sg-flips", public="true")
        assert ok_glue.status_code == 202 and ok_sg.status_code == 202
        assert wait_state(g, ok_glue.json()["id"], timeout=180)["state"] == "scored"
        assert wait_state(s, ok_sg.json()["id"], timeout=180)["state"] == "scored"
        glue_board, sg_board = g.get("/api/leaderboard").json(), s.get("/api/leaderboard").json()
    assert "suite" not in glue_board and glue_board["entries"][0] == "CoLA"
    assert [r["model"] for r in glue_board["rows"]] == ["glue-majority"]
    glue_row = glue_board["rows"][0]
    assert "glue_score" in glue_row and "superglue_score" not in glue_row
    assert (glue_row["glue_score"] or glue_row["partial_average"]) is not None
    assert "sg-flips" in [r["model"] for r in sg_board["rows"]]
    assert "glue-majority" not in [r["model"] for r in sg_board["rows"]]


def test_serve_with_a_bad_suite_is_one_error_line_before_the_database(tmp_path, capsys,
                                                                      glue_dir):
    db = tmp_path / "board.db"
    code = cli("serve", "--suite", "nosuchsuite", "--db", db, "--data-dir", glue_dir,
               "--port", free_port())
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:") and "unknown suite 'nosuchsuite'" in err
    assert len(err.strip().splitlines()) == 1
    assert not db.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n')
    code = cli("serve", "--suite", bad, "--db", db, "--data-dir", glue_dir, "--port", free_port())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "bad.toml" in err and "missing key" in err
    assert not db.exists()


def test_suite_board_ties_come_from_the_suite_score(boards, data, superglue_zip, tmp_path):
    """Two copies of one zip are tied (difference 0); a gold system is not tied with them,
    and its recorded difference is the SuperGLUE-score difference of the two rows."""
    server, token = boards[0]["superglue"]
    db = boards[1]["superglue"]
    superglue_predictions(tmp_path / "gold", data, "gold", 0)
    gold_zip = tmp_path / "gold.zip"
    assert cli("submission", "--suite", "superglue", tmp_path / "gold", "--split", "dev",
               "-o", gold_zip) == 0
    with server.client(token) as alice:
        ids = []
        for name, body in (("copy-a", superglue_zip), ("copy-b", superglue_zip),
                           ("gold", gold_zip)):
            accepted = submit(alice, body.read_bytes(), name, public="true")
            assert accepted.status_code == 202, accepted.text
            ids.append(accepted.json()["id"])
        for sub_id in ids:
            assert wait_state(alice, sub_id, timeout=180)["state"] == "scored"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = alice.get("/api/leaderboard").json()["rows"]
            with db.read() as s:
                known = {(t.above_id, t.below_id): t for t in s.scalars(select(Tie))}
                pairs = list(zip((r["id"] for r in rows), (r["id"] for r in rows[1:]),
                                 strict=False))
                if all(p in known for p in pairs):
                    ties = {p: (known[p].diff, known[p].ci_low, known[p].ci_high) for p in pairs}
                    break
            time.sleep(0.5)
        else:
            raise TimeoutError("ties not computed")
        rows = alice.get("/api/leaderboard").json()["rows"]
    assert rows[0]["model"] == "gold" and not rows[0]["tied_below"]
    below = rows[1]
    diff, low, high = ties[(rows[0]["id"], below["id"])]
    assert diff == pytest.approx(rows[0]["superglue_score"] - below["superglue_score"],
                                 abs=1e-9)
    assert low > 0  # gold is separable from a system with flipped labels
    same = [p for p in ties if {p[0], p[1]} == set(ids[:2])]
    assert same and ties[same[0]] == (0.0, 0.0, 0.0)
    by_id = {r["id"]: r for r in rows}
    above, tied = by_id[same[0][0]], by_id[same[0][1]]
    assert tied["tied_above"] and tied["rank"] == above["rank"]
