"""`run --suite`'s default method table: the probe on a CPU, fine-tuning on a GPU, the majority
baseline where neither can learn a task (FewGLUE's WSC: 32 training rows, all "true"), and a
real run of each method through `run --suite` (a tiny model stands in for the GPU's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli import main
from gluebench.suiterun import suite_plan
from gluebench.suiterun.suite_plan import make_suite_plan
from gluebench.train.config import build_config
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def data() -> Path:
    for root in suite_data_roots():
        if (root / "fewglue" / "WSC" / "train.jsonl").is_file() and \
                (root / "superglue" / "CB" / "val.jsonl").is_file():
            return root
    real_data_missing("FewGLUE and SuperGLUE data not found")


def _plan(data, device):
    return make_suite_plan(load_suite("fewglue"), data, device,
                           config_for=lambda m: build_config(None, **dict(m.settings)))


def test_a_cpu_probes_every_task_it_can_learn_and_says_why_not_the_others(data):
    plan = {t.task: t for t in _plan(data, "cpu").tasks}
    for task in ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC"):
        assert plan[task].method == "probe", plan[task]
    assert plan["WSC"].method == "majority"
    assert "probe: WSC train" in plan["WSC"].why and "all 32 training examples are 'true'" \
        in plan["WSC"].why
    assert plan["ReCoRD"].method is None and "no dev file" in plan["ReCoRD"].why
    assert plan["RTE"].entries == ("RTE", "AX-b", "AX-g")


def test_a_gpu_fine_tunes_every_shape(data):
    plan = {t.task: t for t in _plan(data, "cuda").tasks}
    for task in ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC"):
        assert plan[task].method == "finetune", plan[task]


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_the_probe_runs_in_run_suite(data, tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, stderr = _run(capsys, "run", "--suite", "fewglue", "--data-dir", data,
                                "--tasks", "CB,COPA", "-o", out, "--resamples", 50)
    assert code == 0, stderr
    assert "CB (classification) -> probe" in stderr and "COPA (multiple_choice) -> probe" in stderr
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == {"CB": "probe", "COPA": "probe"}
    assert results["config"]["methods"]["probe"]["method"] == "probe"
    assert set(results["tasks"]) == {"CB", "COPA"} and (out / "report.html").is_file()
    assert "majority" in stdout     # the reference row
    # the probe's predictions, scored by the scorer, are the run's numbers
    assert _run(capsys, "score", "--suite", "fewglue", "--data-dir", data, "--predictions",
                out / "predictions" / "dev", "--resamples", 50, "--json",
                tmp_path / "s.json")[0] == 0
    scored = json.loads((tmp_path / "s.json").read_text())["tasks"]
    for name in ("CB", "COPA"):
        assert scored[name]["score"] == pytest.approx(results["tasks"][name]["score"], abs=1e-12)


@pytest.mark.slow
def test_fine_tuning_runs_in_run_suite_where_a_gpu_would(data, tmp_path, capsys, monkeypatch,
                                                         tiny_model):
    monkeypatch.setattr(suite_plan, "METHODS", [
        m if m.name != "finetune" else suite_plan.MethodSpec(
            m.name, m.shapes, frozenset({"cpu"}), m.why, m.units,
            settings=(*m.settings, ("epochs", 1), ("max_seq_length", 32),
                      ("seeds", (1,))))
        for m in suite_plan.METHODS])
    out = tmp_path / "r"
    code, _, stderr = _run(capsys, "run", "--suite", "fewglue", "--data-dir", data,
                           "--tasks", "CB", "--model", tiny_model, "-o", out,
                           "--resamples", 50)
    assert code == 0, stderr
    assert "CB (classification) -> finetune" in stderr
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == {"CB": "finetune"}
    assert results["tasks"]["CB"]["n"] == 56
    assert (out / "checkpoints" / "CB" / "seed-1").is_dir()
