"""`gluebench submit` and `leaderboard` against servers that answer wrong things (issue 22,
item 8): a web page, another API's JSON, a body cut short, a redirect, an answer too big,
a bad --server URL. Each is one `error:` line and exit 2. Names the server sends are shown
with rich markup escaped and control and bidi characters replaced.

The servers are real HTTP servers on loopback (http.server in a thread)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from gluebench.server import client as client_module

LEADERBOARD = "/api/leaderboard"
ROW = {"rank": 1, "id": 7, "tied_above": False, "model": "m", "user": "u", "glue_score": 50.0,
       "partial_average": None, "tasks": {"RTE": {"accuracy": 0.5, "score": 50.0, "n": 277}},
       "tasks_missing": []}


def one_error(err: str, *words: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers each path with what the test put in ``answers``: (status, headers, body)."""

    answers: dict[str, tuple[int, dict, bytes]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        status, headers, body = self.answers.get(self.path.split("?")[0],
                                                 (404, {"Content-Type": "text/plain"}, b"no"))
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def wrong_server():
    """A loopback server whose answers each test sets: ``answer(path, status, body, ...)``."""
    handler = type("Handler", (Answers,), {"answers": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()

    def answer(path, status=200, body=b"", content_type="application/json", **headers):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        handler.answers[path] = (status, {"Content-Type": content_type, **headers}, body)

    answer.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield answer
    server.shutdown()
    server.server_close()


WRONG_BOARDS = {
    "a web page": (200, b"<html><body>Welcome to nginx</body></html>", "text/html"),
    "another JSON shape": (200, {"items": [], "total": 0}, "application/json"),
    "a JSON list": (200, [1, 2, 3], "application/json"),
    "rows without ranks": (200, {"split": "dev", "rows": [{"model": "x"}]}, "application/json"),
    "a string for a score": (200, {"split": "dev", "rows": [
        {**ROW, "tasks": {"RTE": {"accuracy": "high", "score": 50.0}}}]}, "application/json"),
    "NaN scores": (200, b'{"split": "dev", "rows": [{"rank": 1, "model": "m", "user": "u", '
                        b'"glue_score": NaN, "tasks": {}}]}', "application/json"),
    "an unknown task": (200, {"split": "dev", "rows": [
        {**ROW, "tasks": {"NOPE": {"score": 1.0}}}]}, "application/json"),
    "JSON cut short": (200, b'{"split": "dev", "rows": [{"rank": 1, "mod', "application/json"),
    "JSON nested 100000 deep": (200, b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "a redirect": (301, b"", "text/html"),
    "a server error page": (502, b"<html>Bad Gateway</html>", "text/html"),
    "an error of another shape": (404, ["not", "a", "dict"], "application/json"),
}


@pytest.mark.parametrize("what", WRONG_BOARDS)
def test_leaderboard_from_a_wrong_server_is_one_line(what, wrong_server, run_cli):
    status, body, kind = WRONG_BOARDS[what]
    wrong_server(LEADERBOARD, status, body, kind, Location="https://elsewhere.example/")
    for extra in ([], ["--json"]):
        code, out, err = run_cli("leaderboard", "--server", wrong_server.url, *extra)
        assert code == 2, (what, out, err)
        one_error(err)


def test_a_body_cut_short_is_one_line(wrong_server, run_cli):
    wrong_server(LEADERBOARD, 200, b'{"split": "dev"', **{"Content-Length": "5000"})
    code, _, err = run_cli("leaderboard", "--server", wrong_server.url)
    assert code == 2
    one_error(err, wrong_server.url)


def test_an_answer_over_the_size_cap_is_refused(wrong_server, run_cli, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 10_000)
    wrong_server(LEADERBOARD, 200, {"split": "dev", "rows": [ROW] * 200})
    code, _, err = run_cli("leaderboard", "--server", wrong_server.url)
    assert code == 2
    one_error(err, "more than 10000 bytes")


@pytest.mark.parametrize("url", ["http://", "https://", "http://[::1", "http://exa mple.com",
                                 "http://localhost:99999", "http://localhost:0", "ftp://host",
                                 "localhost:8000", "http://host/?token=x", "http://h\x9b/"])
def test_a_bad_server_url_is_one_line(url, run_cli, tmp_path):
    code, _, err = run_cli("leaderboard", "--server", url)
    assert code == 2
    one_error(err, "--server")
    (tmp_path / "s.zip").write_bytes(b"PK")
    code, _, err = run_cli("submit", str(tmp_path / "s.zip"), "--server", url, "--token", "t",
                           "--name", "m")
    assert code == 2
    one_error(err, "--server")


@pytest.mark.parametrize("answer", [
    (200, b"<html>upload form</html>", "text/html"),
    (202, {"id": "seven", "state": "queued"}, "application/json"),
    (202, {"id": 7, "state": "exploded", "queue_position": 1}, "application/json"),
    (202, {"accepted": True}, "application/json"),
])
def test_submit_to_a_wrong_server_is_one_line(answer, wrong_server, run_cli, tmp_path):
    zip_path = tmp_path / "submission.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    wrong_server("/api/submissions", *answer)
    code, _, err = run_cli("submit", str(zip_path), "--server", wrong_server.url, "--token", "t",
                           "--name", "model")
    assert code == 2
    one_error(err, wrong_server.url)


def test_submit_wait_with_a_wrong_status_answer_is_one_line(wrong_server, run_cli, tmp_path):
    zip_path = tmp_path / "submission.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    wrong_server("/api/submissions", 202, {"id": 7, "state": "queued", "queue_position": 1})
    wrong_server("/api/submissions/7", 200, {"id": 7, "state": "scored", "results": {
        "split": "dev", "bootstrap": {"confidence": 0.95},
        "tasks": {"RTE": {"accuracy": 0.5, "score": 50.0, "n": 3,
                          "ci": {"accuracy": [0.1]}}}}})
    code, _, err = run_cli("submit", str(zip_path), "--server", wrong_server.url, "--token", "t",
                           "--name", "model", "--wait")
    assert code == 2
    one_error(err, "ci")


def test_names_from_the_server_are_shown_safely(wrong_server, run_cli):
    evil = {**ROW, "model": "[red]evil\u202ename[/red] \x1b[31m\x9b31m", "user": "[/]"}
    wrong_server(LEADERBOARD, 200, {"split": "dev", "rows": [evil]})
    code, out, err = run_cli("leaderboard", "--server", wrong_server.url)
    assert code == 0, err
    assert "[red]evil" in out and "[/]" in out  # shown as typed, not taken for markup
    assert not any(c in out for c in "\u202e\x1b\x9b")  # no bidi override, ESC or CSI
    assert "\ufffd" in out  # each replaced by U+FFFD
    code, out, _ = run_cli("leaderboard", "--server", wrong_server.url, "--json")
    assert code == 0 and out.isascii()  # JSON escapes them: \u202e, \u001b, \u009b
    assert json.loads(out)["rows"][0]["model"] == evil["model"]


def test_a_refusal_from_the_server_is_shown_safely(wrong_server, run_cli, tmp_path):
    zip_path = tmp_path / "submission.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    wrong_server("/api/submissions", 400, {"error": "bad\x1b]0;owned\x07",
                                           "problems": ["x\u202ey"] * 500})
    code, _, err = run_cli("submit", str(zip_path), "--server", wrong_server.url, "--token", "t",
                           "--name", "model")
    assert code == 2
    line = one_error(err, "server answered 400")
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in line
    assert err.count("x\ufffdy") == client_module.MAX_SHOWN_PROBLEMS


@pytest.mark.parametrize("name", ["evil\u202egpj.exe", "c1\x9bcontrol", "isolate\u2066x",
                                  "mark\u200f", "tab\tname"])
def test_submit_refuses_a_name_with_control_or_bidi_characters(name, run_cli, tmp_path,
                                                               wrong_server):
    zip_path = tmp_path / "submission.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    wrong_server("/api/submissions", 202, {"id": 1, "state": "queued", "queue_position": 1})
    code, out, err = run_cli("submit", str(zip_path), "--server", wrong_server.url, "--token",
                             "t", "--name", name)
    assert code == 2 and not out  # refused before anything was sent
    one_error(err, "--name", "U+")
    if name != "tab\tname":  # a description may hold tabs and newlines; a URL may not
        for flag, value in (("--description", f"line one\n{name}"),
                            ("--url", f"https://example.org/{name}")):
            code, out, err = run_cli("submit", str(zip_path), "--server", wrong_server.url,
                                     "--token", "t", "--name", "model", flag, value)
            assert code == 2 and not out
            one_error(err, flag, "U+")
