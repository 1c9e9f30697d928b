"""The command line as a user meets it: the main job, help, baselines, exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from gluebench.baselines import predict
from gluebench.benchmark.sources import sample_source
from gluebench.benchmark.tasks import BENCHMARKS, TASKS


def test_module_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "gluebench", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0
    for command in ("tasks", "score", "compare", "submission", "validate", "baseline", "run"):
        assert command in proc.stdout


@pytest.mark.parametrize("argv", [["score"], ["scor"], ["score", "--predictions", "p",
                                                       "--resamples", "0"]])
def test_usage_error_is_one_line_and_exits_2(run_cli, argv):
    code, _, err = run_cli(*argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: gluebench")


@pytest.mark.slow
def test_run_on_the_bundled_sample(tmp_path, run_cli, monkeypatch, tiny_model):
    """The main job's wiring (a tiny model keeps it fast; the real default is timed by hand)."""
    monkeypatch.delenv("GLUE_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")            # the hub is not tried
    code, out, err = run_cli("run", "-o", tmp_path, "--model", tiny_model, "--method", "full",
                             "--max-train-examples", "32", "--epochs", "1", "--resamples", "20",
                             "--no-progress")
    assert code == 0, err
    assert "data: bundled sample (no --data-dir, no $GLUE_DIR, and the hub is unreachable)" in err
    assert "plan: CPU: full fine-tuning, 1 epochs at learning rate 0.0003, seeded training " \
           "subsamples of up to 32 examples per task" in err
    assert "MNLI: no training data in bundled sample; skipped" in err
    assert "majority baseline" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["data_source"] == "bundled sample"
    assert set(results["tasks"]) == {"CoLA", "SST-2", "MRPC", "STS-B", "RTE", "WNLI"}
    assert results["config"]["splits"] == ["dev"]                   # run predicts dev only
    assert not (tmp_path / "predictions" / "test").exists()


def test_run_prefers_glue_dir(tmp_path, run_cli, monkeypatch, tiny_model, glue_dir):
    monkeypatch.setenv("GLUE_DIR", str(glue_dir))
    code, _, err = run_cli("run", "-o", tmp_path, "--model", tiny_model, "--tasks", "WNLI",
                           "--method", "full", "--max-train-examples", "16", "--epochs", "1",
                           "--resamples", "20", "--no-progress")
    assert code == 0, err
    assert f"data: {glue_dir} ($GLUE_DIR)" in err


def test_baselines_are_seeded_and_in_range():
    src = sample_source()
    for name in ("RTE", "STS-B", "MNLI-m"):
        b = BENCHMARKS[name]
        task = TASKS[b.task]
        ex = src.load(task, b.dev)
        r1 = predict("random", b, task, ex, src, seed=1)
        assert np.array_equal(r1, predict("random", b, task, ex, src, seed=1))
        assert not np.array_equal(r1, predict("random", b, task, ex, src, seed=2))
        const = predict("constant", b, task, ex, src)
        assert len(set(const.tolist())) == 1
        if task.is_regression:
            assert ((r1 >= 0) & (r1 <= 5)).all()
        else:
            assert set(r1.tolist()) <= set(range(len(task.labels)))


@pytest.mark.parametrize("kind", ["majority", "constant", "random"])
def test_baseline_writes_submission_format_files(kind, glue_dir, tmp_path, run_cli):
    code, out, err = run_cli("baseline", kind, "--data-dir", glue_dir, "--split", "test",
                             "--tasks", "CoLA,RTE,STS-B,AX", "-o", tmp_path)
    assert code == 0, err
    rte = (tmp_path / "RTE.tsv").read_text().splitlines()
    assert rte[0] == "index\tprediction" and len(rte) == 3001
    assert [r.split("\t")[0] for r in rte[1:4]] == ["0", "1", "2"]
    assert {r.split("\t")[1] for r in rte[1:]} <= {"entailment", "not_entailment"}
    assert len((tmp_path / "AX.tsv").read_text().splitlines()) == 1105


def test_constant_baseline_takes_a_label(glue_dir, tmp_path, run_cli):
    run_cli("baseline", "constant", "--label", "not_entailment", "--data-dir", glue_dir,
            "--tasks", "RTE", "-o", tmp_path)
    rows = (tmp_path / "RTE.tsv").read_text().splitlines()[1:]
    assert {r.split("\t")[1] for r in rows} == {"not_entailment"}
