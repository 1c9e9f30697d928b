"""``--report-to``: a tiny real fine-tuning run reports to TensorBoard, MLflow and W&B (offline,
under the run directory), and each tool's own reader finds the loss and learning rate of every
step, the dev scores, the config and the run's results; bad or missing trackers are one line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from gluebench.formats.atomic import read_json
from tests.sweep_support import write_spec

STEPS = 3     # 96 training examples, batch 32, one epoch


@pytest.fixture(scope="module")
def tracked_run(tiny_model, tmp_path_factory):
    from gluebench.cli import main

    out = tmp_path_factory.mktemp("tracked") / "run"
    code = main(["finetune", "--model", str(tiny_model), "--data-dir", "sample", "--tasks", "RTE",
                 "--epochs", "1", "--batch-size", "32", "--max-seq-length", "64",
                 "--max-train-examples", "96", "--max-eval-examples", "40", "--splits", "dev",
                 "--resamples", "20", "--no-progress", "-o", str(out),
                 "--report-to", "tensorboard,mlflow,wandb"])
    assert code == 0
    return out


def _expected_learning_rates(unit: dict, config: dict) -> list[float]:
    """The learning rate each step used, from transformers' own scheduler."""
    import torch
    from transformers import get_scheduler

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=unit["learning_rate"])
    sched = get_scheduler(config["schedule"], opt, num_training_steps=STEPS,
                          num_warmup_steps=int(config["warmup_ratio"] * STEPS))
    out = []
    for _ in range(STEPS):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


@pytest.mark.slow
def test_tensorboard_events_hold_steps_scores_and_results(tracked_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    results = read_json(tracked_run / "results.json")
    unit = read_json(tracked_run / "units" / "RTE-seed1.json")
    events = EventAccumulator(str(tracked_run / "tensorboard" / "RTE-seed1")).Reload()
    assert {"train/loss", "train/learning_rate", "train/epoch",
            "dev/RTE/accuracy"} <= set(events.Tags()["scalars"])
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert loss[-1].value == pytest.approx(unit["train"]["final_loss"], rel=1e-6)
    lrs = [e.value for e in events.Scalars("train/learning_rate")]
    assert lrs == pytest.approx(_expected_learning_rates(unit, results["config"]), rel=1e-6)
    assert events.Scalars("dev/RTE/accuracy")[-1].value == pytest.approx(
        results["tasks"]["RTE"]["accuracy"])
    assert "config/text_summary" in events.Tags()["tensors"]     # the resolved config
    summary = EventAccumulator(str(tracked_run / "tensorboard" / "results")).Reload()
    assert summary.Scalars("partial_average")[-1].value == pytest.approx(
        results["partial_average"])


@pytest.mark.slow
def test_mlflow_store_holds_the_same(tracked_run):
    from mlflow.tracking import MlflowClient

    results = read_json(tracked_run / "results.json")
    unit = read_json(tracked_run / "units" / "RTE-seed1.json")
    client = MlflowClient(tracking_uri=f"sqlite:///{tracked_run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(tracked_run.name)
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"RTE-seed1", "results"}
    run = runs["RTE-seed1"]
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in history) == [1, 2, 3]
    lrs = sorted(client.get_metric_history(run.info.run_id, "train/learning_rate"),
                 key=lambda m: m.step)
    assert [m.value for m in lrs] == pytest.approx(
        _expected_learning_rates(unit, results["config"]), rel=1e-9)
    assert run.data.metrics["dev/RTE/accuracy"] == pytest.approx(
        results["tasks"]["RTE"]["accuracy"])
    assert run.data.params["batch_size"] == "32" and run.data.params["seed"] == "1"
    assert run.info.status == "FINISHED"
    assert runs["results"].data.metrics["partial_average"] == pytest.approx(
        results["partial_average"])


@pytest.mark.slow
def test_wandb_offline_log_holds_the_same(tracked_run):
    """Read with wandb's own reader of its transaction log (`wandb leet inspect --json`)."""
    results = read_json(tracked_run / "results.json")
    logs = sorted(Path(tracked_run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 2           # RTE-seed1, then the results
    records = _wandb_records(logs[0])
    run = next(r["run"] for r in records if r["type"] == "run")
    assert run["display_name"] == "RTE-seed1" and run["run_group"] == tracked_run.name
    assert run["config"]["update"]["batch_size"] == 32
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert [h["_step"] for h in history] == [1, 2, 3]
    assert all(math.isfinite(h["train/loss"]) for h in history)
    summary = {}
    for r in records:
        if r["type"] == "summary":
            summary.update(r["summary"]["update"])
    assert summary["dev/RTE/accuracy"] == pytest.approx(results["tasks"]["RTE"]["accuracy"])


def _wandb_records(path: Path) -> list[dict]:
    wandb = Path(sys.executable).with_name("wandb")
    out = subprocess.run([str(wandb), "leet", "inspect", "--json", str(path)],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_unknown_tracker_is_one_line(run_cli, tmp_path, tiny_model):
    code, _, err = run_cli("finetune", "--model", tiny_model, "--data-dir", "sample", "-o",
                           tmp_path / "run", "--report-to", "tensorboard,comet")
    assert code == 2 and err.count("\n") == 1 and "unknown tracker 'comet'" in err
    assert not (tmp_path / "run").exists()


def test_missing_tool_names_its_extra(run_cli, tmp_path, tiny_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)     # as if not installed
    for command in (["finetune", "--model", tiny_model, "--data-dir", "sample"],
                    ["sweep", tmp_path / "spec.toml"],
                    ["study", "layer-drop", "--data-dir", "sample", "--tasks", "RTE"]):
        code, _, err = run_cli(*command, "-o", tmp_path / "run", "--report-to", "wandb")
        assert code == 2 and err.count("\n") == 1
        assert "pip install 'gluebench[wandb]'" in err
    assert not (tmp_path / "run").exists()


def test_where_a_trial_reports_is_not_part_of_its_key():
    from gluebench.sweep.trials import make_trial
    from gluebench.train.config import build_config

    plain = build_config(model="m").to_dict()
    reported = build_config(model="m", report_to="tensorboard").to_dict()
    assert reported["report_to"] == ["tensorboard"]
    a = make_trial("RTE", "m", "full", 1, {}, plain, {"train": "x"})
    b = make_trial("RTE", "m", "full", 1, {}, reported, {"train": "x"})
    assert a.key == b.key and a.config_id == b.config_id


def test_probe_refuses_report_to(run_cli, tmp_path):
    code, _, err = run_cli("finetune", "--method", "probe", "--data-dir", "sample", "--tasks",
                           "RTE", "-o", tmp_path / "run", "--report-to", "tensorboard")
    assert code == 2 and err.count("\n") == 1 and "--method probe" in err
    assert not (tmp_path / "run").exists()


def test_report_to_values():
    from gluebench.errors import UsageError
    from gluebench.tracking.base import parse_report_to

    assert parse_report_to("none") == () and parse_report_to(None) == ()
    assert parse_report_to("TensorBoard, mlflow,tensorboard") == ("tensorboard", "mlflow")
    with pytest.raises(UsageError, match="cannot be combined"):
        parse_report_to("none,wandb")


@pytest.mark.slow
def test_sweep_trials_report_their_own_curves(tiny_model, run_cli, tmp_path):
    """--report-to on a sweep reaches every trial: each trial's run has its own events, and
    its first step ran at that trial's learning rate (no warm-up at 2 steps)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    spec = write_spec(tmp_path / "spec.toml", tiny_model, tasks=("RTE",))
    code, _, err = run_cli("sweep", spec, "--data-dir", "sample", "-o", tmp_path / "sweep",
                           "--report-to", "tensorboard", "--no-progress")
    assert code == 0, err
    first_lr = {}
    for trial in (tmp_path / "sweep" / "trials").iterdir():
        config = read_json(trial / "results.json")["config"]
        events = EventAccumulator(str(trial / "tensorboard" / "RTE-seed1")).Reload()
        first_lr[config["learning_rate"]] = events.Scalars("train/learning_rate")[0].value
        assert config["report_to"] == ["tensorboard"]
    assert sorted(first_lr) == [1e-4, 1e-3]
    assert all(v == pytest.approx(lr, rel=1e-6) for lr, v in first_lr.items())


def test_a_run_resumes_with_another_report_to(tiny_model, run_cli, tmp_path):
    args = ["finetune", "--model", tiny_model, "--data-dir", "sample", "--tasks", "RTE",
            "--epochs", "1", "--batch-size", "16", "--max-seq-length", "64",
            "--max-train-examples", "32", "--max-eval-examples", "32", "--splits", "dev",
            "--resamples", "20", "--no-progress", "-o", tmp_path / "run"]
    assert run_cli(*args)[0] == 0
    before = read_json(tmp_path / "run" / "units" / "RTE-seed1.json")
    code, _, err = run_cli(*args, "--report-to", "tensorboard")
    assert code == 0, err                                  # resumed: nothing retrained
    assert read_json(tmp_path / "run" / "units" / "RTE-seed1.json") == before
    assert (tmp_path / "run" / "tensorboard" / "results").is_dir()
