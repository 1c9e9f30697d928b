"""``gluebench report`` on SuperGLUE and user-suite results: the suite's own tables (entries and
metrics from the definition, the suite score or a labelled partial average, AX-b by category,
AX-g parity, CIs on every metric, the bootstrap unit), escaping of the user's suite file, and
the HTML in headless Chromium. Results come from the real SuperGLUE val files."""

from __future__ import annotations

import json
import re
import shutil
from html import escape
from pathlib import Path

import pytest

from gluebench.benchmark.suite_baselines import suite_baseline
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.suite_scoring import score_suite_predictions
from gluebench.cli import main
from gluebench.console.format import fmt_ci, fmt_score
from tests.conftest import superglue_val_copy

REPO = Path(__file__).resolve().parents[1]
HOSTILE = '<script>window.pwned = 1; alert("x")</script><b>&'
RESAMPLES = 200


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, Path]:
    """Score documents of the majority (all 8 tasks + AX-b, AX-g: the full SuperGLUE score)
    and the random baseline (ReCoRD left out: a partial average) on the real val files."""
    _, root = superglue_val_copy(tmp_path_factory)
    (root / "superglue/ReCoRD").mkdir()
    shutil.copyfile(REPO / "tests/fixtures/superglue/ReCoRD/val.jsonl",
                    root / "superglue/ReCoRD/val.jsonl")
    suite, out = load_suite("superglue"), tmp_path_factory.mktemp("docs")
    paths = {}
    for kind in ("majority", "random"):
        pred = out / kind
        suite_baseline(kind, suite, root, "dev", pred, seed=3)
        if kind == "random":
            (pred / "ReCoRD.jsonl").unlink()
        doc = score_suite_predictions(suite, root, pred, n_resamples=RESAMPLES,
                                      categories=True)
        paths[kind] = out / f"{kind}.json"
        paths[kind].write_text(json.dumps(doc), encoding="utf-8")
    return paths


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def section(doc: str, section_id: str) -> str:
    m = re.search(rf'<section id="{section_id}">(.*?)</section>', doc, re.S)
    assert m, f"no section {section_id}"
    return m.group(1)


def plain(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


@pytest.fixture(scope="module")
def report(docs, tmp_path_factory) -> tuple[str, str]:
    out = tmp_path_factory.mktemp("report")
    code = main(["report", str(docs["majority"]), str(docs["random"]), "-o",
                 str(out / "r.html"), "-o", str(out / "r.md")])
    assert code == 0
    return (out / "r.html").read_text(encoding="utf-8"), (out / "r.md").read_text("utf-8")


@pytest.mark.real_data
def test_leaderboard_has_the_suite_score_and_a_labelled_partial_average(docs, report):
    html, md = report
    board = plain(section(html, "leaderboard"))
    maj, rnd = load(docs["majority"]), load(docs["random"])
    assert maj["superglue_score"] is not None and rnd["superglue_score"] is None
    assert "SuperGLUE score" in board
    assert f" {fmt_score(maj['superglue_score'])} " in board
    assert f"{rnd['partial_average']:.1f}* partial average" in board
    assert "not the SuperGLUE score (missing: ReCoRD)" in board
    assert "AX-b, AX-g: reported beside the SuperGLUE score" in board
    headers = re.findall(r"<th[^>]*>(.*?)</th>", section(html, "leaderboard"))
    entries = [plain(h).split()[0] for h in headers[2:]]
    assert entries == list(load_suite("superglue").entries)  # the suite's order, ReCoRD too
    multirc = re.sub(r"<[^>]+>", "", headers[2 + entries.index("MultiRC")])
    assert multirc == "MultiRCf1a/em_question"  # metrics from the definition
    board_md = md.split("## Leaderboard")[1]
    row = next(line for line in board_md.splitlines() if line.startswith("| **majority** |"))
    assert row.split(" | ")[1] == fmt_score(maj["superglue_score"])


@pytest.mark.real_data
def test_every_metric_has_its_value_ci_and_bootstrap_unit(docs, report):
    html, _ = report
    body = plain(section(html, "tasks"))
    suite = load_suite("superglue")
    for kind in ("majority", "random"):
        doc = load(docs[kind])
        for name, result in doc["tasks"].items():
            for metric in suite.entry(name).metrics:
                shown = f"{fmt_score(100 * result[metric])} {fmt_ci(result['ci'][metric], 100.0)}"
                assert shown in body, (kind, name, metric, shown)
    assert "paragraph (83)" in body and "pair (178)" in body and "query (" in body
    assert "MultiRC: the bootstrap resamples whole paragraphs (83 of them, 4,848 rows)" in body


@pytest.mark.real_data
def test_axb_categories_and_axg_parity_tables(docs, report):
    html, _ = report
    diag = section(html, "diagnostics")
    rnd = load(docs["random"])["tasks"]
    cats = rnd["AX-b"]["categories"]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", diag, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        if cells:
            rows.setdefault(plain(cells[0]).strip().lstrip("·").strip(), plain(tr))
    for name, cat in cats.items():
        cell = f"{fmt_score(100 * cat['mcc'])} {fmt_ci([100 * x for x in cat['ci']])}"
        assert cell in rows[name], (name, cell)
    assert len(cats) > 30 and sum(c["level"] == "coarse" for c in cats.values()) == 4
    axg = plain(diag)
    g = rnd["AX-g"]
    assert f"{fmt_score(100 * g['gender_parity'])} {fmt_ci(g['ci']['gender_parity'], 100.0)}" in axg
    assert f"{fmt_score(100 * g['accuracy'])} {fmt_ci(g['ci']['accuracy'], 100.0)}" in axg
    assert 'data-plot="categories_AX-b"' in diag and "mcc (×100)" in diag


@pytest.mark.real_data
def test_a_hostile_user_suite_title_renders_inert(docs, tmp_path, capsys):
    text = (REPO / "src/gluebench/benchmark/suites/superglue.toml").read_text("utf-8")
    text = text.replace('name = "superglue"', 'name = "mine"').replace(
        'title = "SuperGLUE"', f"title = {json.dumps(HOSTILE)}")
    suite_file = tmp_path / "mine.toml"
    suite_file.write_text(text, encoding="utf-8")
    doc = load(docs["random"])
    doc["suite"] = {"name": "mine", "title": HOSTILE, "sha256": load_suite(suite_file).sha256,
                    "aggregate": "superglue_score"}
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(doc), encoding="utf-8")
    for extra in (["--suite", suite_file], []):   # from the definition, or the document alone
        html_path = tmp_path / "mine.html"
        code, _, err = run(capsys, "report", mine, "-o", html_path, "-o", tmp_path / "m.md",
                           *extra)
        assert code == 0, err
        html = html_path.read_text("utf-8")
        assert "<script" not in html and "<b>&" not in html
        assert escape(HOSTILE, quote=False) in html or escape(HOSTILE) in html
        md = (tmp_path / "m.md").read_text("utf-8")
        assert "<script" not in md
    assert "read off the results" in plain(html)  # the note when no definition was given


@pytest.mark.real_data
def test_runs_of_two_suites_or_a_wrong_definition_are_refused(docs, capsys, tmp_path):
    glue_run = REPO / "tests/fixtures/report/minilm-full"
    code, _, err = run(capsys, "report", glue_run, docs["majority"], "-o", tmp_path / "x.html")
    assert code == 2 and err.startswith("error: ") and "different suites" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "report", docs["majority"], "--suite", "fewglue", "-o",
                       tmp_path / "x.html")
    assert code == 2 and "these results are of suite 'superglue'" in err
    assert not (tmp_path / "x.html").exists()


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install chromium)")
def test_superglue_report_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(report[0], encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(page_file.as_uri())
        ids = page.locator("section").evaluate_all("els => els.map(e => e.id)")
        assert ids == ["runs", "leaderboard", "tasks", "diagnostics", "environment"]
        heads = page.locator("#leaderboard thead th").all_inner_texts()
        assert heads[1].split()[0] == "SuperGLUE" and heads[-1].startswith("AX-g")
        rows = page.locator("#leaderboard tbody tr").all_inner_texts()
        assert len(rows) == 2 and "partial average" in rows[1]
        visible = page.locator("#diagnostics table").first.is_visible()
        assert visible  # the category table is shown, not folded away
        assert page.locator("#diagnostics figure svg").count() == 1
        assert not dialogs
        shot = tmp_path / "superglue.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        browser.close()


@pytest.mark.real_data
def test_results_scored_with_another_definition_say_so(docs, tmp_path, capsys):
    doc = load(docs["majority"])
    doc["suite"]["sha256"] = "0" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run(capsys, "report", other, docs["random"], "-o", tmp_path / "o.md")
    assert code == 0, err
    md = (tmp_path / "o.md").read_text("utf-8")
    sha = load_suite("superglue").sha256[:12]
    assert f"> other: scored with a SuperGLUE definition other than the one this report lays " \
           f"out (sha256 {sha})" in md
    assert "random: scored" not in md


@pytest.mark.real_data
def test_results_without_categories_name_the_flag_that_adds_them(docs, tmp_path, capsys):
    doc = load(docs["random"])
    del doc["tasks"]["AX-b"]["categories"]
    plain_doc = tmp_path / "plain.json"
    plain_doc.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run(capsys, "report", plain_doc, "-o", tmp_path / "p.md")
    assert code == 0, err
    md = (tmp_path / "p.md").read_text("utf-8")
    assert "> plain: no AX-b scores per category in these results — score with `gluebench " \
           "score --suite superglue --categories`" in md
    assert "gender parity" in md  # AX-g's table is still there
