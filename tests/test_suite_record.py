"""A run's ``results.json`` records the suite it was scored under (issue 21): its name and
the sha256 of the suite file's bytes, for every method that writes a run directory. Runs
written before the field existed still read: ``report`` and ``compare`` take them as they are."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import gluebench
from gluebench.runs.integrity import write_signed_json
from tests.test_units import _methods

GLUE_TOML = Path(gluebench.__file__).parent / "benchmark" / "suites" / "glue.toml"


def _glue_record() -> dict:
    # the hash of the shipped file's bytes, computed here without the suite loader
    return {"name": "glue", "sha256": hashlib.sha256(GLUE_TOML.read_bytes()).hexdigest()}


@pytest.fixture(params=[pytest.param(m, marks=pytest.mark.slow)
                        for m in ("finetune", "evaluate", "probe", "prompt")] + ["baseline"])
def method_run(request, tmp_path) -> Path:
    out = tmp_path / request.param
    _methods(request)[request.param][1](out)
    return out


def test_results_json_records_the_glue_suite(method_run):
    written = json.loads((method_run / "results.json").read_text())
    assert written["suite"] == _glue_record()
    # the field sits beside the run's kind; everything the run wrote before is still there
    keys = list(written)
    assert keys[keys.index("kind") + 1] == "suite"


def test_the_returned_results_match_the_file(tmp_path, request):
    out = tmp_path / "run"
    returned = _methods(request)["baseline"][1](out)
    on_disk = json.loads((out / "results.json").read_text())
    assert returned["suite"] == on_disk["suite"] == _glue_record()


@pytest.fixture
def old_run(tmp_path, request) -> Path:
    """A baseline run as written before results.json recorded its suite (re-signed without
    the field, as that version wrote it)."""
    out = tmp_path / "old"
    _methods(request)["baseline"][1](out)
    doc = json.loads((out / "results.json").read_text())
    doc.pop("suite", None)
    write_signed_json(out / "results.json", doc)
    return out


@pytest.mark.slow
def test_report_reads_runs_with_and_without_the_suite(old_run, tmp_path, request, run_cli):
    new = tmp_path / "new"
    _methods(request)["baseline"][1](new)
    report = tmp_path / "report.md"
    code, _, err = run_cli("report", old_run, new, "-o", report)
    assert code == 0, err
    text = report.read_text()
    assert "old" in text and "new" in text


def test_compare_reads_a_run_without_the_suite(old_run, tmp_path, request, run_cli):
    new = tmp_path / "new"
    _methods(request)["baseline"][1](new)
    code, out, err = run_cli("compare", old_run, new, "--data-dir", "sample")
    assert code == 0, err
    assert "RTE" in out
