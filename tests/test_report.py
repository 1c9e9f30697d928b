"""The comparison report: loading runs, HTML, Markdown and the Chromium screenshot."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import UsageError
from gluebench.report import plots
from gluebench.report import screenshot as shot
from gluebench.report.collect import RunView, load_run
from gluebench.report.html import render_html
from gluebench.report.markdown import render_markdown
from gluebench.report.sections import fmt_bytes, fmt_flops, fmt_int, fmt_ms

FIXTURES = Path(__file__).parent / "fixtures" / "report"
RUN_A, RUN_B = FIXTURES / "bert-base-lora", FIXTURES / "minilm-full"
HOSTILE = '<script>alert("x")<b>$x$ & co'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@pytest.fixture(scope="module")
def runs() -> list[RunView]:
    return [load_run(RUN_A), load_run(RUN_B)]


@pytest.fixture(scope="module")
def doc(runs) -> str:
    return render_html(runs)


@pytest.fixture(scope="module")
def markdown(runs) -> str:
    return render_markdown(runs)


def _section(doc: str, section_id: str) -> str:
    m = re.search(rf'<section id="{section_id}">(.*?)</section>', doc, re.S)
    assert m, f"no section {section_id}"
    return m.group(1)


def _plain(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


class _Checker(HTMLParser):
    """Tracks open elements: every non-void element must be closed, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.doctype = 0
        self.html = 0

    def handle_decl(self, decl):
        self.doctype += decl.lower().startswith("doctype")

    def handle_starttag(self, tag, attrs):
        self.html += tag == "html"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


# --------------------------------------------------------------------------- loading


def test_load_run_without_results_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        load_run(tmp_path)
    assert str(info.value) == (f"{tmp_path}: not a gluebench run directory (no results.json); "
                               "run gluebench finetune or evaluate first")


def test_load_run_reads_the_analysis_files_that_exist(runs):
    a, b = runs
    assert (a.name, b.name) == ("bert-base-lora", "minilm-full")
    assert a.robustness["kind"] == "robustness" and a.profile and a.quality
    assert b.robustness is None and b.profile is not None
    assert a.results == json.loads((RUN_A / "results.json").read_text())


# --------------------------------------------------------------------------- HTML


@pytest.mark.slow
def test_html_is_one_self_contained_document(doc):
    assert doc.lstrip().lower().startswith("<!doctype html>")
    assert doc.count("</html>") == 1
    external = re.findall(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", doc, re.I)
    assert external == []
    assert not re.search(r"<script|<link\b|<img\b|<iframe|@import", doc, re.I)
    assert not re.search(r"""url\(\s*['"]?(?!#)""", doc, re.I)  # only url(#clip-id)


def test_html_parses_with_balanced_elements(doc):
    checker = _Checker()
    checker.feed(doc)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    assert (checker.doctype, checker.html) == (1, 1)


def test_html_has_an_svg_for_each_plot(doc):
    plotted = set(re.findall(r'<figure class="plot" data-plot="([^"]+)">\s*<svg\b', doc))
    assert {"task_bars", "ax_heatmap", "advglue", "perturbations", "pareto", "reliability",
            "confusion-SST-2", "confusion-MNLI-m", "seed_spread"} <= plotted
    assert doc.count("<svg") == len(re.findall(r'<figure class="plot"', doc))
    # One colour per run, the same in the legend chips and in the figures.
    bars = re.search(r'data-plot="task_bars">(.*?)</figure>', doc, re.S).group(1).lower()
    for i in range(2):
        assert plots.colour(i).lower() in bars
        assert f"background:{plots.colour(i)}" in doc


def test_sections_appear_in_order(doc):
    ids = re.findall(r'<section id="([^"]+)">', doc)
    assert ids == ["runs", "leaderboard", "tasks", "ax", "robustness", "efficiency", "quality",
                   "statistics", "environment"]
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", doc, re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', nav) == ids


def test_leaderboard_shows_each_runs_scores_and_intervals(doc, runs):
    board = _section(doc, "leaderboard")
    body = board.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == len(runs)
    for row, run in zip(rows, runs, strict=True):
        text = _plain(row)
        assert run.name in text
        results = json.loads((run.path / "results.json").read_text())
        if results["glue_score"] is not None:
            assert f"{results['glue_score']:.1f}" in text
        else:
            assert f"{results['partial_average']:.1f}*" in text
        expected = []
        for entry in BENCHMARKS:
            task = results["tasks"].get(entry)
            if task:
                lo, hi = task["ci"]["score"]
                expected += [f"{task['score']:.1f}", f"[{lo:.1f}, {hi:.1f}]"]
        positions = [text.find(e) for e in expected]
        assert -1 not in positions, [e for e, p in zip(expected, positions, strict=True) if p < 0]
        assert positions == sorted(positions)  # in leaderboard column order
    assert "†" in _plain(rows[0])  # WNLI collapsed in run A
    assert "partial" in _plain(rows[1])


def test_analysis_numbers_and_missing_sections(doc):
    robust = _plain(_section(doc, "robustness"))
    assert "38.4" in robust  # AdvGLUE score of run A
    assert "not measured — run gluebench robustness" in robust  # run B has none
    eff = _plain(_section(doc, "efficiency"))
    assert "109,484,547" in eff and "438.0 MB" in eff and "5.32 GFLOPs" in eff
    assert "18.4 ms" in eff and "1,530 ex/s" in eff and "skipped: onnxruntime" in eff
    stats = _plain(_section(doc, "statistics"))
    assert "RTE dev (n=277) cannot resolve differences below 8.4 points." in stats


def test_hostile_run_name_is_escaped(tmp_path):
    run_dir = tmp_path / HOSTILE
    shutil.copytree(RUN_B, run_dir)
    run = load_run(run_dir)
    assert run.name == HOSTILE
    doc = render_html([run])
    assert "<script" not in doc
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;b&gt;$x$ &amp; co" in doc
    md = render_markdown([run])
    assert "<script" not in md and "&lt;script&gt;" in md


@pytest.mark.slow
def test_runs_without_analysis_or_optional_fields_still_render(tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "results.json").write_text(json.dumps(
        {"tasks": {"RTE": {"accuracy": 0.5, "score": 50.0, "n": 277}}, "glue_score": None,
         "partial_average": 50.0, "partial_average_tasks": ["RTE"]}))
    runs = [load_run(bare), load_run(RUN_A)]
    doc = render_html(runs)
    text = _plain(doc)
    for command in ("robustness", "profile", "calibration"):
        assert "bare: " in text and f"run gluebench {command} {bare}" in text
    assert "no AX entry" in text
    assert "50.0*" in _plain(_section(doc, "leaderboard"))
    assert "## Leaderboard" in render_markdown(runs)


# --------------------------------------------------------------------------- Markdown


def test_markdown_leaderboard_has_one_row_per_run(markdown, runs):
    part = markdown.split("## Leaderboard", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in part.splitlines() if line.startswith("|")]
    cells = [re.split(r"(?<!\\)\|", line)[1:-1] for line in lines]
    entries = {e for r in runs for e in r.tasks}
    assert len(lines) == 2 + len(runs)  # header, alignment, one row per run
    assert {len(c) for c in cells} == {2 + len(entries)}
    for row, run in zip(cells[2:], runs, strict=True):
        assert run.name in row[0]
    assert "<svg" not in markdown
    for title in ("Robustness", "Efficiency", "Calibration & errors", "Statistics"):
        assert f"## {title}" in markdown


def test_number_formats():
    assert fmt_bytes(90_000_000) == "90.0 MB" and fmt_bytes(1.5e9) == "1.5 GB"
    assert fmt_flops(1.1e9) == "1.10 GFLOPs" and fmt_int(22713986) == "22,713,986"
    assert fmt_ms(5.1) == "5.10 ms" and fmt_ms(18.44) == "18.4 ms"


# --------------------------------------------------------------------------- screenshot


def test_screenshot_without_chromium_says_how_to_install(tmp_path, monkeypatch):
    page = tmp_path / "r.html"
    page.write_text("<!DOCTYPE html><title>x</title>")
    monkeypatch.setattr(shot.shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="Chromium not found: apt-get install chromium"):
        shot.screenshot(page, tmp_path / "r.png")


@pytest.mark.skipif(shot.find_chromium() is None,
                    reason="Chromium not installed (apt-get install chromium) - no screenshot")
@pytest.mark.slow
def test_screenshot_of_a_two_run_report(tmp_path, doc):
    from matplotlib.image import imread

    page = tmp_path / "report.html"
    page.write_text(doc, encoding="utf-8")
    png = shot.screenshot(page, tmp_path / "report.png", width=1024)
    assert png.is_file()
    pixels = imread(png)
    assert pixels.shape[1] == 1024
    assert pixels.shape[0] > 2000  # the whole page, not one window of it
    assert pixels[..., :3].std() > 0.05  # not blank
