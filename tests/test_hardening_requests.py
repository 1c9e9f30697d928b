"""Hostile request input to the leaderboard server, over real HTTP (issue 22, item 8): ids
beyond 32 and 64 bits are 404s, an over-long multipart boundary is a 400, a valid token
works however many wrong ones came from its address, and names (submission names, URLs,
descriptions, flag reasons) with control or bidirectional formatting characters are refused.
Runs on SQLite, and on PostgreSQL when GLUEBENCH_TEST_POSTGRES is set."""

from __future__ import annotations

import httpx
import pytest

from gluebench.server.settings import Settings

from .server_support import BACKENDS, Backend, LiveServer, make_user

BIG_IDS = [2**31, 2**63 - 1, 2**63, 2**64, 10**30]
ZIP = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: a well-formed upload the validator refuses
AUTH_FAILURES = 5


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"requests-{request.param}")
    backend = Backend(request.param, tmp)
    db = backend.database()
    tokens = {"alice": make_user(db, "alice"), "root": make_user(db, "root", admin=True)}
    settings = Settings(db_url=db.url, split="dev", auth_failures=AUTH_FAILURES,
                        auth_window_s=600.0)
    server = LiveServer(settings, "sample", workers=0, log=tmp / "server.log").start()
    yield server, tokens
    server.stop()
    db.dispose()
    backend.drop()


@pytest.mark.parametrize("sub_id", BIG_IDS)
def test_ids_beyond_the_column_are_404(live, sub_id):
    server, tokens = live
    with server.client(tokens["root"]) as root:
        for method, path, body in [
            ("GET", f"/api/submissions/{sub_id}", None),
            ("GET", f"/api/submissions/{sub_id}/predictions", None),
            ("GET", f"/entry/{sub_id}", None),
            ("POST", f"/api/admin/submissions/{sub_id}/hidden", {"hidden": True}),
            ("POST", f"/api/admin/submissions/{sub_id}/flag", {"reason": "copied"}),
            ("DELETE", f"/api/admin/submissions/{sub_id}/flag", None),
        ]:
            answer = root.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)


def _multipart(boundary: str, fields: dict[str, str], zip_bytes: bytes = ZIP) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 'filename="s.zip"\r\nContent-Type: application/zip\r\n\r\n'.encode()
                 + zip_bytes + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize("length", [71, 257, 20_000])
def test_an_over_long_multipart_boundary_is_400(live, length):
    server, tokens = live
    boundary = "b" * length
    with server.client(tokens["alice"]) as alice:
        answer = alice.post("/api/submissions", content=_multipart(boundary, {"name": "m"}),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 400, answer.text
    assert "boundary" in answer.json()["problems"][0]


def test_a_boundary_of_70_characters_still_works(live):
    server, tokens = live
    boundary = "b" * 70
    with server.client(tokens["alice"]) as alice:
        answer = alice.post("/api/submissions", content=_multipart(boundary, {"name": "m"}),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 400  # the zip (empty) is refused, not the request
    assert all("boundary" not in p for p in answer.json()["problems"])


def test_a_valid_token_works_after_wrong_ones_from_its_address(live):
    server, tokens = live
    # Another loopback address, so these failures are this test's own.
    transport = httpx.HTTPTransport(local_address="127.0.0.3")
    with httpx.Client(base_url=server.url, transport=transport, timeout=60) as client:
        wrong = {"Authorization": "Bearer gb_guess"}
        codes = [client.get("/api/submissions", headers=wrong).status_code
                 for _ in range(AUTH_FAILURES + 3)]
        assert codes == [401] * AUTH_FAILURES + [429] * 3  # guessing is still limited
        good = {"Authorization": f"Bearer {tokens['alice']}"}
        assert client.get("/api/submissions", headers=good).status_code == 200
        upload = client.post("/api/submissions", headers=good, data={"name": "m"},
                             files={"file": ("s.zip", ZIP, "application/zip")})
        assert upload.status_code == 400 and "file" in upload.text  # authenticated
        login = client.post("/login", data={"token": tokens["alice"]}, follow_redirects=False)
        assert login.status_code == 303  # the login form too
        assert client.get("/api/submissions", headers=wrong).status_code == 429


BAD_NAMES = {"C1 control": "model\x9b31m", "NEL": "mo\x85del", "RLO": "evil\u202eexe.gpj",
             "LRE": "a\u202ab", "PDF": "a\u202cb", "FSI": "a\u2068b", "PDI": "a\u2069b",
             "RLM": "a\u200fb", "LRM": "a\u200eb", "ALM": "a\u061cb", "ESC": "a\x1b[31mb",
             "line separator": "a\u2028b"}


@pytest.mark.parametrize("what", BAD_NAMES)
def test_names_with_control_or_bidi_characters_are_refused(live, what):
    server, tokens = live
    bad = BAD_NAMES[what]
    with server.client(tokens["alice"]) as alice:
        for fields, field in [({"name": bad}, "name"),
                              ({"name": "m", "url": f"https://example.org/{bad}"}, "url"),
                              ({"name": "m", "description": f"fine\n{bad}"}, "description")]:
            answer = alice.post("/api/submissions", data=fields,
                                files={"file": ("s.zip", ZIP, "application/zip")})
            assert answer.status_code == 400
            problems = answer.json()["problems"]
            assert any(p.startswith(f"{field}: U+") for p in problems), (field, problems)
    with server.client(tokens["root"]) as root:
        flagged = root.post("/api/admin/submissions/1/flag", json={"reason": bad})
        assert flagged.status_code == 400 and "reason: U+" in flagged.text


def test_a_description_keeps_its_newlines_and_tabs(live):
    server, tokens = live
    with server.client(tokens["alice"]) as alice:
        answer = alice.post("/api/submissions", data={"name": "m", "description": "a\n\tb"},
                            files={"file": ("s.zip", ZIP, "application/zip")})
    assert answer.status_code == 400
    assert all(not p.startswith("description") for p in answer.json()["problems"])


def test_cli_flag_reason_with_a_bidi_override_is_one_line(tmp_path, run_cli):
    db = tmp_path / "lb.db"
    assert run_cli("server", "add-user", "root", "--admin", "--db", db)[0] == 0
    code, out, err = run_cli("server", "flag", "1", "--reason", "ok\u202e", "--db", db)
    assert code == 2 and not out
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "reason: U+202E" in errors[0] and "\u202e" not in err
    code, _, err = run_cli("server", "disable-user", "x\u202ey", "--db", db)
    assert code == 2 and "\u202e" not in err and "\\u202e" in err  # echoed escaped
