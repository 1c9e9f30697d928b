"""The leaderboard as a person sees it: Debian's Chromium driven by Playwright, with
JavaScript off (the pages must not need it). Set GLUEBENCH_SCREENSHOTS=1 to refresh
docs/leaderboard.png from this test."""

from __future__ import annotations

import os
import shutil

import pytest

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.server.settings import Settings

from .server_support import REPO, Backend, LiveServer, make_user, noisy_zip, submit, wait_state

pytestmark = pytest.mark.slow   # a real Chromium and a live server: seconds per page

ENTRIES = [  # (user, model, accuracy, seed, params, public)
    ("alice", "MiniLM-L6 fine-tuned", 0.86, 1, "22.7M", True),
    ("bob", "BERT-base reproduction", 0.84, 2, "110M", True),
    ("carol", "BiLSTM + ELMo", 0.72, 3, "94M", True),
    ("dave", "Majority-ish baseline", 0.55, 4, "", True),
    ("alice", "MiniLM-L6 (new recipe)", 0.90, 5, "22.7M", False),
]


@pytest.fixture(scope="module")
def board(tmp_path_factory, glue_dir):
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    backend = Backend("sqlite", tmp)
    db = backend.database()
    tokens = {u: make_user(db, u) for u in ("alice", "bob", "carol", "dave")}
    root = make_user(db, "host", admin=True)
    settings = Settings(db_url=db.url, split="dev", n_resamples=200)
    server = LiveServer(settings, glue_dir, workers=1, log=tmp / "server.log").start()
    ids = {}
    for user, model, accuracy, seed, params, public in ENTRIES:
        data = noisy_zip(tmp, glue_dir, accuracy, seed).read_bytes()
        with server.client(tokens[user]) as client:
            response = submit(client, data, model, params=params, public=str(public).lower(),
                              description=f"{model}: predictions on the GLUE dev sets",
                              url="https://example.org/paper")
            ids[model] = response.json()["id"]
    with server.client(root) as host:
        for sub_id in ids.values():
            assert wait_state(host, sub_id, timeout=90)["state"] == "scored"
        host.post(f"/api/admin/submissions/{ids['BiLSTM + ELMo']}/flag",
                  json={"reason": "trained on dev data (reported by the authors)"})
    yield server, tokens, ids
    server.stop()
    db.dispose()


@pytest.fixture(scope="module")
def page(board):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--no-first-run"])
        context = browser.new_context(java_script_enabled=False,
                                      viewport={"width": 1480, "height": 900})
        yield context.new_page()
        browser.close()


def column(page, index: int) -> list[str]:
    return page.locator(f"table.board tbody tr td:nth-child({index})").all_inner_texts()


def test_a_visitor_sorts_the_board_and_opens_an_entry(board, page, tmp_path):
    server, _, ids = board
    page.goto(server.url + "/")
    assert page.title() == "GLUE leaderboard"
    models = page.locator("table.board td.model > a").all_inner_texts()
    # the public entries, best first; alice's private entry is not shown to visitors
    assert models == ["MiniLM-L6 fine-tuned", "BERT-base reproduction", "BiLSTM + ELMo",
                      "Majority-ish baseline"]
    scores = [float(s.rstrip("*")) for s in column(page, 3)]
    assert scores == sorted(scores, reverse=True)
    flag = page.locator("tr.flagged .flag").inner_text()
    assert "trained on dev data (reported by the authors)" in flag
    assert page.locator("td[title^='not scored']").count() == 2 * len(models)  # QQP, MNLI-mm
    shot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("GLUEBENCH_SCREENSHOTS"):
        shutil.copy(shot, REPO / "docs" / "leaderboard.png")

    headers = page.locator("table.board thead th a").all_inner_texts()
    rte = 4 + list(BENCHMARKS).index("RTE")  # rank, model, score, then the entries
    assert headers[rte - 1].startswith("RTE")
    page.click("th a[data-sort='RTE']")
    assert "sort=RTE" in page.url and "order=desc" in page.url
    values = [float(v) for v in column(page, rte)]
    assert values == sorted(values, reverse=True)
    page.click("th a[data-sort='RTE']")  # again: ascending
    values = [float(v) for v in column(page, rte)]
    assert "order=asc" in page.url and values == sorted(values)

    page.click("text=BERT-base reproduction")
    assert page.url.endswith(f"/entry/{ids['BERT-base reproduction']}")
    assert page.locator("h1").inner_text() == "BERT-base reproduction"
    body = page.locator("main").inner_text()
    assert "Per-task scores" in body and "AX diagnostic" in body
    assert "Lexical Semantics" in body and "Logic" in body  # the AX categories
    assert "Not scored here: QQP, MNLI-mm" in body
    cells = page.locator("section table").first.locator("td").all_inner_texts()
    assert any("[" in c and "]" in c for c in cells)  # CIs beside the metrics


def test_signed_in_owner_sees_the_private_entry(board, page):
    server, tokens, _ = board
    page.goto(server.url + "/login")
    page.fill("input[name=token]", tokens["alice"])
    page.click("button[type=submit]")
    assert page.url.rstrip("/") == server.url
    row = page.locator("tr", has_text="MiniLM-L6 (new recipe)")
    assert row.count() == 1 and "private" in row.inner_text()
    assert "signed in as alice" in page.locator("header").inner_text()
    page.click("text=sign out")
    assert page.locator("tr", has_text="MiniLM-L6 (new recipe)").count() == 0
