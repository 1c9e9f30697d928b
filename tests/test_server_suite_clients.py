"""A suite's leaderboard over real HTTP: uploads checked against the host's gold files, and
the client commands (``leaderboard --server``, ``submit --wait``) on a SuperGLUE board.

* ``serve --suite FILE --data-dir D``: the web process checks an upload's ids against the
  ids of D's gold files (read by ``serve``, ids only: the web process holds no labels), as
  ``validate --data-dir`` does, not only against the official sizes. The user's suite here
  numbers its 4 dev rows 10, 11, 12, 20: a zip with ids 0..3 fits the official size and is
  refused; the one with the file's ids is accepted and scored.
* The client takes the board's columns and aggregate from the server's answer.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from gluebench.cli import main
from gluebench.server.settings import Settings

from .server_support import TEST_RESAMPLES, Backend, LiveServer, make_user, submit, wait_state
from .test_server_suite import data, superglue_zip  # noqa: F401  (module fixtures)

pytestmark = [pytest.mark.real_data, pytest.mark.slow]   # live servers over real HTTP

TOY_IDS = (10, 11, 12, 20)
TOY_LABELS = ("true", "false", "true", "true")
TOY_SUITE = """
[suite]
name = "toy"
title = "Toy"
folder = "toy"

[aggregate]
name = "toy_score"
groups = ["Yes"]

[submission]
format = "jsonl"
file = "{entry}.jsonl"

[tasks.Yes]
input_fields = ["text"]
labels = ["false", "true"]
read = { format = "jsonl", inputs = ["text"], label = "label", index = "idx" }

[tasks.Yes.files]
dev = { path = "Yes/val.jsonl", size = 4 }
test = { path = "Yes/test.jsonl", size = 4, label = false }

[entries.Yes]
metrics = ["accuracy"]
group = "Yes"
"""


def toy_zip(ids, labels) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Yes.jsonl", "".join(json.dumps({"idx": i, "label": v}) + "\n"
                                         for i, v in zip(ids, labels, strict=True)))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def toy_board(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    (root / "toy" / "Yes").mkdir(parents=True)
    (root / "toy" / "Yes" / "val.jsonl").write_text("".join(
        json.dumps({"idx": i, "text": f"sentence {i}", "label": v}) + "\n"
        for i, v in zip(TOY_IDS, TOY_LABELS, strict=True)))
    suite = root / "toy.toml"
    suite.write_text(TOY_SUITE)
    db = Backend("sqlite", root).database()
    token = make_user(db, "alice")
    settings = Settings(db_url=db.url, split="dev", n_resamples=TEST_RESAMPLES,
                        suite=str(suite), per_day=20, per_month=20)
    server = LiveServer(settings, root, log=root / "server.log").start()
    yield server, token
    server.stop()
    db.dispose()


def test_upload_ids_are_checked_against_the_hosts_gold_file(toy_board):
    server, token = toy_board
    with server.client(token) as alice:
        by_size = submit(alice, toy_zip(range(4), TOY_LABELS), "official-size ids")
        right = submit(alice, toy_zip(TOY_IDS, ("true",) * 4), "the file's ids")
        assert right.status_code == 202, right.text
        done = wait_state(alice, right.json()["id"], timeout=120)
    assert by_size.status_code == 400, by_size.text
    problems = " ".join(by_size.json()["problems"])
    assert "Yes.jsonl" in problems and "idx" in problems, problems
    assert done["state"] == "scored", done
    assert done["results"]["toy_score"] == pytest.approx(75.0)


@pytest.fixture(scope="module")
def superglue_board(tmp_path_factory, data):  # noqa: F811
    tmp = tmp_path_factory.mktemp("board-superglue")
    db = Backend("sqlite", tmp).database()
    token = make_user(db, "alice")
    settings = Settings(db_url=db.url, split="dev", n_resamples=TEST_RESAMPLES,
                        suite="superglue", per_day=20, per_month=20)
    server = LiveServer(settings, data, log=tmp / "server.log").start()
    yield server, token
    server.stop()
    db.dispose()


def test_submit_wait_and_leaderboard_on_a_superglue_board(superglue_board, superglue_zip,  # noqa: F811
                                                           capsys, monkeypatch):
    server, token = superglue_board
    monkeypatch.setenv("COLUMNS", "250")
    code = main(["submit", str(superglue_zip), "--server", server.url, "--token", token,
                 "--name", "flips", "--public", "--wait"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "SuperGLUE dev scores" in out
    for name in ("BoolQ", "MultiRC", "ReCoRD", "AX-b", "AX-g"):
        assert name in out
    assert "f1a" in out and "em" in out          # MultiRC's and ReCoRD's metrics

    with server.client(token) as alice:
        board = alice.get("/api/leaderboard").json()
    assert board["aggregate"] == "superglue_score" and board["title"] == "SuperGLUE"
    score = board["rows"][0]["superglue_score"]
    assert score is not None

    assert main(["leaderboard", "--server", server.url, "--token", token]) == 0
    out = capsys.readouterr().out
    assert f"{score:.1f}" in out and "flips" in out
    for name in board["entries"]:
        assert name in out
    assert "not the SuperGLUE score" not in out
    assert "AX-b, AX-g: reported beside the score" not in out  # the answer has no groups


def test_a_suite_board_is_checked_against_its_own_columns():
    """Rows name the board's entries (not GLUE's) with finite metric values."""
    from pydantic import ValidationError

    from gluebench.server.client import Board

    row = {"rank": 1, "model": "m", "user": "u", "x_score": 50.0,
           "tasks": {"A": {"score": 50.0, "accuracy": 0.5}}}
    answer = {"split": "dev", "suite": {"name": "x", "sha256": "0" * 64}, "title": "X",
              "aggregate": "x_score", "entries": ["A"], "metrics": {"A": ["accuracy"]},
              "rows": [row]}
    assert Board.model_validate(answer).metrics == {"A": ["accuracy"]}
    for bad, message in [
        ({**row, "tasks": {"CoLA": {"score": 1.0, "mcc": 0.1}}}, "not an entry of this board"),
        ({**row, "tasks": {"A": {"score": 1.0, "accuracy": "high"}}}, "finite number"),
        ({**row, "x_score": "top"}, "x_score: expected a finite number"),
    ]:
        with pytest.raises(ValidationError, match=message):
            Board.model_validate({**answer, "rows": [bad]})
    with pytest.raises(ValidationError, match="metric names"):
        Board.model_validate({**answer, "metrics": {"A": ["[bold]x"]}})
