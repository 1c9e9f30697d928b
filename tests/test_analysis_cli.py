"""The analysis commands as a user runs them: profile and report on a tiny fine-tuned run."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser

import pytest


@pytest.fixture(scope="module")
def analysed(tiny_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("analysed") / "tiny"
    shutil.copytree(tiny_run, work)
    return work


@pytest.mark.slow
def test_profile_of_a_run(analysed, run_cli, tmp_path):
    code, out, err = run_cli("profile", analysed, "--task", "RTE", "--data-dir", "sample",
                             "--max-examples", "24", "--repeats", "5", "--int8",
                             "--json", tmp_path / "p.json", "--no-progress")
    assert code == 0, err
    doc = json.loads((analysed / "analysis" / "profile.json").read_text())
    assert doc == json.loads((tmp_path / "p.json").read_text())
    results = json.loads((analysed / "results.json").read_text())
    assert doc["task"] == "RTE" and doc["examples"] == 24
    assert doc["parameters"]["trainable"] == results["training"]["RTE"]["parameters"][
        "trainable"]
    assert [v["name"] for v in doc["variants"]][:2] == ["fp32", "int8-dynamic"]
    assert doc["latency_ms"]["p50"] <= doc["latency_ms"]["p95"]
    assert "int8-dynamic" in out


def test_profile_bad_input(analysed, run_cli):
    code, _, err = run_cli("profile", analysed, "--task", "CoLA", "--data-dir", "sample")
    assert code == 2 and err.count("\n") == 1 and "no fine-tuned CoLA model" in err
    code, _, err = run_cli("profile", analysed, "--device", "cuda")
    import torch

    if not torch.cuda.is_available():
        assert code == 2 and err.count("\n") == 1 and "no CUDA GPU" in err


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value and value.startswith(("http:", "https:", "//")):
                self.external.append((tag, value))


@pytest.mark.slow
def test_report_html_and_markdown(analysed, run_cli, tmp_path):
    code, _, err = run_cli("calibration", analysed)
    assert code == 0, err
    html, md = tmp_path / "report.html", tmp_path / "report.md"
    code, out, err = run_cli("report", analysed, analysed, "-o", html, "-o", md)
    assert code == 0, err
    text = html.read_text()
    checker = _Checker()
    checker.feed(text)
    assert checker.external == [] and "<svg" in text
    quality = json.loads((analysed / "analysis" / "quality.json").read_text())
    ece = quality["entries"]["SST-2"]["calibration"]["ece"]
    assert f"{ece:.3f}" in text
    results = json.loads((analysed / "results.json").read_text())
    assert f"{results['tasks']['RTE']['score']:.1f}" in md.read_text()


@pytest.mark.slow
def test_report_screenshot(analysed, run_cli, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    import numpy as np
    from PIL import Image

    html, png = tmp_path / "r.html", tmp_path / "r.png"
    code, _, err = run_cli("report", analysed, "-o", html, "--screenshot", png)
    assert code == 0, err
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape[1] == 1280 and pixels.std() > 10


def test_report_bad_input(tmp_path, run_cli):
    code, _, err = run_cli("report", tmp_path / "missing", "-o", tmp_path / "r.html")
    assert code == 2 and err.count("\n") == 1 and "not a gluebench run directory" in err


@pytest.mark.parametrize("args", [
    ("calibration", "RUN", "--bins", "0"),
    ("robustness", "RUN", "--max-examples", "0"),
    ("profile", "RUN", "--repeats", "-3"),
    ("power",),
])
def test_bad_flags_are_one_line(analysed, run_cli, args):
    code, _, err = run_cli(*[str(analysed) if a == "RUN" else a for a in args])
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:")
