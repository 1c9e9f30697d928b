"""Fine-tuning end to end on the bundled sample with a tiny BERT (seconds, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gluebench.benchmark.predictions import read_predictions
from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.recipes import finetune
from gluebench.train.config import build_config

FAST = dict(epochs=2, learning_rate=1e-3, batch_size=16, max_seq_length=64)


def _finetune(model, out, tasks="RTE,STS-B", **settings):
    config = build_config(model=str(model), **{**FAST, **settings})
    return finetune(open_source("sample"), config, out, tasks, progress=False, n_resamples=50)


@pytest.fixture(scope="module")
def run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return out, _finetune(tiny_model, out)


def test_run_writes_the_promised_files(run):
    out, results = run
    for name in ("RTE", "STS-B"):
        dev = read_predictions(out / "predictions" / "dev" / f"{name}.tsv", BENCHMARKS[name],
                               expected_size=100)
        assert len(dev.values) == 100
        # The sample's test rows keep their official indices (a subset of 0..n-1).
        test = read_predictions(out / "predictions" / "test" / f"{name}.tsv", BENCHMARKS[name])
        gold = open_source("sample").load(get_task(name), "test")
        assert sorted(test.index.tolist()) == sorted(gold.index.tolist())
    assert (out / "checkpoints" / "RTE" / "seed-1" / "config.json").is_file()
    assert (out / "checkpoints" / "RTE" / "seed-1" / "tokenizer.json").is_file()
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert on_disk["schema_version"] == 1 and on_disk["kind"] == "finetune"
    assert set(on_disk["tasks"]) == {"RTE", "STS-B"}
    assert on_disk["config"]["learning_rate"] == 1e-3
    assert on_disk["environment"]["packages"]["torch"]
    assert on_disk["timings"]["train_seconds"] > 0
    rte = on_disk["training"]["RTE"]
    assert rte["parameters"]["trainable"] == rte["parameters"]["total"] > 0
    assert rte["train"]["examples"] == 200 and rte["train"]["steps"] == 26  # ceil(200/16) x 2


def test_results_agree_with_gluebench_score(run, run_cli, tmp_path):
    out, results = run
    code, _, err = run_cli("score", "--data-dir", "sample", "--predictions",
                           out / "predictions" / "dev", "--json", tmp_path / "s.json",
                           "--resamples", "50")
    assert code == 0, err
    scored = json.loads((tmp_path / "s.json").read_text())
    for name in ("RTE", "STS-B"):
        for metric in BENCHMARKS[name].metrics:
            assert scored["tasks"][name][metric] == pytest.approx(results["tasks"][name][metric])
    assert scored["partial_average"] == pytest.approx(results["partial_average"])


def test_test_predictions_make_a_valid_submission(run, run_cli, tmp_path):
    out, _ = run
    # Sample test files are shorter than the official ones, so only the format is checked.
    for line in (out / "predictions" / "test" / "STS-B.tsv").read_text().splitlines()[1:]:
        value = float(line.split("\t")[1])
        assert 0.0 <= value <= 5.0


@pytest.mark.slow
def test_resume_skips_finished_units_and_refuses_other_settings(tiny_model, tmp_path,
                                                               monkeypatch):
    import gluebench.train.runner as runner

    class Interrupted(Exception):
        """Stands for a crash or Ctrl-C in the middle of the second task."""

    original, calls, crash_on = runner._finetune_unit, [], {"WNLI"}

    def interrupted(task, *args, **kwargs):
        calls.append(task.name)
        if task.name in crash_on:
            raise Interrupted
        return original(task, *args, **kwargs)

    monkeypatch.setattr(runner, "_finetune_unit", interrupted)
    with pytest.raises(Interrupted):
        _finetune(tiny_model, tmp_path, tasks="RTE,WNLI")
    marker = tmp_path / "units" / "RTE-seed1.json"
    assert marker.is_file() and not (tmp_path / "units" / "WNLI-seed1.json").exists()
    assert json.loads((tmp_path / "results.json").read_text())["tasks"].keys() == {"RTE"}
    before = marker.stat().st_mtime_ns

    calls.clear()
    crash_on.clear()
    results = _finetune(tiny_model, tmp_path, tasks="RTE,WNLI")
    assert calls == ["WNLI"]                      # RTE was not trained again
    assert marker.stat().st_mtime_ns == before
    assert set(results["tasks"]) == {"RTE", "WNLI"}

    from gluebench.errors import UsageError
    with pytest.raises(UsageError, match="learning_rate: 0.001 -> 0.002"):
        _finetune(tiny_model, tmp_path, tasks="RTE", learning_rate=2e-3)


@pytest.mark.slow
def test_seeds_are_summarised_and_the_median_seed_is_kept(tiny_model, tmp_path):
    results = _finetune(tiny_model, tmp_path, tasks="RTE", seeds="1,2,3")
    seeds = results["tasks"]["RTE"]["seeds"]
    values = np.array(list(seeds["values"].values()))
    assert seeds["n"] == 3 and set(seeds["values"]) == {"1", "2", "3"}
    assert seeds["mean"] == pytest.approx(values.mean())
    assert seeds["sd"] == pytest.approx(values.std(ddof=1))
    assert seeds["median"] == pytest.approx(np.median(values))
    assert results["tasks"]["RTE"]["score"] == pytest.approx(seeds["median"])
    chosen = seeds["selected"]
    assert (tmp_path / "predictions" / "dev" / "RTE.tsv").read_bytes() == \
        (tmp_path / "seeds" / str(chosen) / "predictions" / "dev" / "RTE.tsv").read_bytes()
    units = [json.loads((tmp_path / "units" / f"RTE-seed{s}.json").read_text()) for s in (1, 2, 3)]
    assert len({u["train"]["final_loss"] for u in units}) == 3   # seeds really differ


def test_same_seed_same_result(tiny_model, tmp_path):
    a = _finetune(tiny_model, tmp_path / "a", tasks="RTE")
    b = _finetune(tiny_model, tmp_path / "b", tasks="RTE")
    assert a["tasks"]["RTE"]["accuracy"] == b["tasks"]["RTE"]["accuracy"]
    assert (tmp_path / "a" / "predictions" / "dev" / "RTE.tsv").read_bytes() == \
        (tmp_path / "b" / "predictions" / "dev" / "RTE.tsv").read_bytes()


def test_collapse_to_one_class_is_flagged(tiny_model, tmp_path):
    # A huge learning rate drives the tiny model to predict one class.
    results = _finetune(tiny_model, tmp_path, tasks="SST-2", learning_rate=1.0, epochs=1)
    sst = results["tasks"]["SST-2"]
    counts = sst["prediction_counts"]
    share = max(counts.values()) / sum(counts.values())
    assert sst["collapsed"] == (share >= 0.99)
    assert sst["collapsed"], counts


def test_max_train_and_eval_examples_subsample(tiny_model, tmp_path):
    results = _finetune(tiny_model, tmp_path, tasks="RTE", max_train_examples=50,
                        max_eval_examples=40)
    assert results["training"]["RTE"]["train"]["examples"] == 50
    assert results["tasks"]["RTE"]["n"] == 40
    assert results["tasks"]["RTE"]["subsample"] == {"n": 40, "of": 100}


def test_tasks_without_training_data_are_skipped_with_a_note(tiny_model, tmp_path, capsys):
    results = _finetune(tiny_model, tmp_path, tasks="MNLI,RTE")
    assert set(results["tasks"]) == {"RTE"}
    assert "MNLI: no training data in bundled sample; skipped" in capsys.readouterr().err
