"""``gluebench run --suite fewglue``: the plan (one method per task by its shape, from the
method table), the run on the real FewGLUE training and SuperGLUE val files, the table with
the majority reference row, results.json with the suite record, and report.html. Scores are
checked against hand counts of FewGLUE's training labels and scikit-learn."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli import main
from gluebench.suiterun import suite_plan
from gluebench.suiterun.baseline_units import SuiteBaselineUnits
from gluebench.suiterun.suite_plan import MethodSpec, task_shape
from tests.conftest import superglue_val_copy

TASKS = ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC")
VOCAB = {"BoolQ": ["false", "true"], "WiC": ["false", "true"], "WSC": ["false", "true"],
         "COPA": ["0", "1"], "MultiRC": ["0", "1"], "RTE": ["entailment", "not_entailment"],
         "CB": ["entailment", "contradiction", "neutral"]}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """SuperGLUE val copies and FewGLUE's training files (ReCoRD: train only, as here)."""
    real, root = superglue_val_copy(tmp_path_factory)
    for task in (*TASKS, "ReCoRD"):
        (root / "fewglue" / task).mkdir(parents=True)
        shutil.copyfile(real / "fewglue" / task / "train.jsonl",
                        root / "fewglue" / task / "train.jsonl")
    return root


def labels(path: Path, task: str) -> list[str]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if task == "MultiRC":
        rows = [a for r in rows for q in r["passage"]["questions"] for a in q["answers"]]
    return [("true" if r["label"] else "false") if isinstance(r["label"], bool)
            else str(r["label"]) for r in rows]


def expected_scores(data: Path, task: str) -> dict[str, float]:
    """The majority class of FewGLUE train (ties: first listed), scored by scikit-learn."""
    counts = Counter(labels(data / "fewglue" / task / "train.jsonl", task))
    majority = max(VOCAB[task], key=lambda t: (counts[t], -VOCAB[task].index(t)))
    gold = [VOCAB[task].index(t) for t in labels(data / "superglue" / task / "val.jsonl", task)]
    pred = [VOCAB[task].index(majority)] * len(gold)
    if task == "MultiRC":
        return {"f1a": f1_score(gold, pred, zero_division=0.0)}
    out = {"accuracy": accuracy_score(gold, pred)}
    if task == "CB":
        out["f1_macro"] = f1_score(gold, pred, average="macro")
    return out


@pytest.fixture(scope="module", autouse=True)
def baseline_only():
    """These tests check the run's plumbing with the baseline as the only method (the table's
    last row); which method the default table plans is tested in test_suite_run_methods.py."""
    saved = list(suite_plan.METHODS)
    suite_plan.METHODS[:] = [m for m in saved if m.name == "majority"]
    yield
    suite_plan.METHODS[:] = saved


@pytest.fixture(scope="module")
def job(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "fewglue-run"
    code = main(["run", "--suite", "fewglue", "--data-dir", str(data), "-o", str(out),
                 "--resamples", "200"])
    assert code == 0
    return out


def test_task_shapes_come_from_the_definitions():
    shapes = {n: task_shape(t) for n, t in load_suite("superglue").tasks.items()}
    assert shapes == {"BoolQ": "classification", "CB": "classification",
                      "COPA": "multiple_choice", "MultiRC": "multi_answer",
                      "ReCoRD": "entity_choice", "RTE": "classification", "WiC": "spans",
                      "WSC": "spans", "AX-b": "classification", "AX-g": "classification"}
    assert task_shape(load_suite("glue").task("STS-B")) == "regression"


@pytest.mark.slow
@pytest.mark.real_data
def test_run_prints_its_plan_table_and_report(data, tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, stderr = run(capsys, "run", "--suite", "fewglue", "--data-dir", data, "-o",
                               out, "--resamples", 50)
    assert code == 0, stderr
    plan = stderr[stderr.index("plan: FewGLUE"):]
    for task, shape in [("BoolQ", "classification"), ("COPA", "multiple_choice"),
                        ("MultiRC", "multi_answer"), ("WiC", "spans"), ("WSC", "spans")]:
        assert f"  {task} ({shape}) -> majority, scored on {task}: no other method supports " \
               f"{shape} tasks on the cpu yet" in plan
    assert "ReCoRD (entity_choice): not run: no dev file (superglue/ReCoRD/val.jsonl)" in plan
    assert "│ majority" in stdout and "partial average" in stdout  # the reference row
    assert "RTE (classification) -> majority, scored on RTE, AX-b, AX-g" in plan
    assert stdout.strip().endswith(f"report: {out / 'report.html'}")


@pytest.mark.real_data
def test_results_match_hand_counts_and_scikit_learn(data, job):
    results = json.loads((job / "results.json").read_text("utf-8"))
    suite = load_suite("fewglue")
    assert results["suite"]["name"] == "fewglue" and results["suite"]["sha256"] == suite.sha256
    assert [p["task"] for p in results["plan"]] == [*TASKS[:4], "ReCoRD", *TASKS[4:]]
    for task in TASKS:
        for metric, value in expected_scores(data, task).items():
            assert results["tasks"][task][metric] == pytest.approx(value, abs=1e-12), task
    scores = [results["tasks"][t]["score"] for t in TASKS]
    assert results["fewglue_score"] is None  # ReCoRD has no val file here
    assert results["partial_average"] == pytest.approx(np.mean(scores), abs=1e-12)
    assert results["tasks_missing"] == ["ReCoRD"]
    majority = json.loads((job / "baselines/majority.json").read_text("utf-8"))
    assert majority["tasks"]["CB"]["f1_macro"] == results["tasks"]["CB"]["f1_macro"]
    names = sorted(p.name for p in (job / "predictions" / "dev").iterdir())
    assert names == sorted(f"{t}.jsonl" for t in (*TASKS, "AX-b", "AX-g"))
    assert "categories" in results["tasks"]["AX-b"]  # the report's AX-b table


@pytest.mark.real_data
def test_report_html_has_the_suite_tables(job):
    html = (job / "report.html").read_text("utf-8")
    for section in ("leaderboard", "tasks", "diagnostics"):
        assert f'<section id="{section}">' in html
    assert "FewGLUE<span" in html or "FewGLUE score" in html.replace("<br>", " ")
    assert "majority baseline" in html and "paragraph (83)" in html
    assert "<script" not in html


@pytest.mark.real_data
def test_a_registered_method_takes_the_shapes_it_supports(data, tmp_path, capsys,
                                                          monkeypatch):
    """A method plugs in as one row of the table; here the constant baseline for span tasks."""
    constant = partial(SuiteBaselineUnits.of, kind="constant", label="true")
    monkeypatch.setattr(suite_plan, "METHODS", list(suite_plan.METHODS))
    suite_plan.register_method(MethodSpec("always-true", frozenset({"spans"}),
                                          frozenset({"cpu", "cuda"}), "says true", constant))
    out = tmp_path / "r"
    code, _, stderr = run(capsys, "run", "--suite", "fewglue", "--data-dir", data, "-o", out,
                          "--tasks", "WiC,RTE", "--resamples", 20)
    assert code == 0, stderr
    assert "WiC (spans) -> always-true" in stderr and "RTE (classification) -> majority" in stderr
    assert "BoolQ" not in stderr.split("plan:")[1].split("always-true: says true")[0]
    results = json.loads((out / "results.json").read_text("utf-8"))
    gold = labels(data / "superglue/WiC/val.jsonl", "WiC")
    assert results["tasks"]["WiC"]["accuracy"] == pytest.approx(gold.count("true") / len(gold))
    assert results["model"] == {"WiC": "always-true", "RTE": "majority"}


def test_nothing_to_run_is_one_error_line_and_no_files(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run(capsys, "run", "--suite", "fewglue", "--data-dir", empty, "-o",
                          tmp_path / "out")
    assert code == 2
    assert stderr.startswith("error: nothing to run for FewGLUE") and "no training file" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.real_data
def test_a_bad_val_file_fails_before_any_file_is_written(data, tmp_path, capsys):
    bad = tmp_path / "data"
    shutil.copytree(data, bad)
    path = bad / "superglue/WSC/val.jsonl"
    lines = path.read_text("utf-8").splitlines()
    row = json.loads(lines[5])
    row["label"] = "maybe"
    lines[5] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, stderr = run(capsys, "run", "--suite", "fewglue", "--data-dir", bad, "-o",
                          tmp_path / "out")
    assert code == 2
    error = stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "WSC/val.jsonl" in error and "line 6" in error
    assert "'maybe'" in error and "expected one of: false, true" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.real_data
def test_a_second_run_resumes_its_finished_units(data, job, capsys):
    before = json.loads((job / "results.json").read_text("utf-8"))
    code, _, stderr = run(capsys, "run", "--suite", "fewglue", "--data-dir", data, "-o", job,
                          "--resamples", 200)
    assert code == 0, stderr
    for task in TASKS:
        assert f"{task} seed 0: already done, skipped (resume)" in stderr
    after = json.loads((job / "results.json").read_text("utf-8"))
    assert after["tasks"] == before["tasks"]
    header = json.loads((job / "run.json").read_text("utf-8"))
    assert header["suite"] == "fewglue" and header["config"]["plan"] == before["plan"]
