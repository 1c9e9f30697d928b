"""The Python API (issue 19, item 1): ``gluebench.evaluate`` / ``gluebench.score`` / ``Results``.

Scores are checked against the CLI's ``score --json`` for the same files and against
scikit-learn on the real dev labels read here with the csv module; the SuperGLUE predictor
against ``gluebench baseline --suite superglue majority``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

import gluebench
from gluebench.benchmark.tasks import get_task
from gluebench.errors import DataError, GlueBenchError, UsageError
from tests.conftest import superglue_val_copy


def _cli_json(run_cli, tmp_path, *args) -> dict:
    out = tmp_path / f"cli-{len(list(tmp_path.iterdir()))}.json"
    code, _, err = run_cli("score", *args, "--json", out)
    assert code == 0, err
    return json.loads(out.read_text())


def _untimed(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "timings"}


class Overlap:
    """A deterministic heuristic: 'entailed' when most hypothesis words are in the premise."""

    def predict(self, task, inputs):
        out = []
        for row in inputs:
            a, b = (set(v.lower().split()) for v in row.values())
            share = len(a & b) / max(1, len(b))
            if task == "STS-B":
                out.append(5.0 * share)
            elif task == "RTE":
                out.append("entailment" if share > 0.7 else "not_entailment")
            else:  # WNLI: 1 = entailment
                out.append("1" if share > 0.7 else "0")
        return out


def test_import_gluebench_stays_light():
    code = ("import sys, gluebench; assert 'numpy' not in sys.modules, 'numpy loaded'; "
            "assert callable(gluebench.evaluate) and callable(gluebench.score); "
            "print(gluebench.Results.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Results"


@pytest.mark.real_data
def test_custom_predictor_on_glue_dev_equals_cli_and_sklearn(glue_dir, run_cli, tmp_path):
    results = gluebench.evaluate(Overlap(), tasks=["RTE", "WNLI", "STS-B"], data_dir=glue_dir,
                                 n_resamples=200)
    assert list(results.tasks) == ["STS-B", "RTE", "WNLI"]
    cli = _cli_json(run_cli, tmp_path, "--data-dir", glue_dir, "--predictions",
                    results.predictions, "--resamples", "200")
    assert _untimed(json.loads(results.to_json())) == _untimed(cli)
    # the accuracy, recomputed here from the raw file and the predictor's own answers
    with open(glue_dir / "RTE" / "dev.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    inputs = [{"sentence1": r["sentence1"], "sentence2": r["sentence2"]} for r in rows]
    expected = accuracy_score([r["label"] for r in rows], Overlap().predict("RTE", inputs))
    assert results.tasks["RTE"]["accuracy"] == pytest.approx(expected, abs=1e-12)
    assert results.tasks["RTE"]["n"] == 277
    low, high = results.tasks["RTE"]["ci"]["accuracy"]
    assert low < expected < high
    assert results.score is None and results.partial_average is not None


@pytest.mark.real_data
def test_score_equals_cli_score_json(glue_dir, run_cli, tmp_path):
    preds = tmp_path / "majority"
    code, _, err = run_cli("baseline", "majority", "--data-dir", glue_dir, "-o", preds,
                           "--tasks", "CoLA,MRPC,RTE")
    assert code == 0, err
    results = gluebench.score(preds, data_dir=glue_dir)
    cli = _cli_json(run_cli, tmp_path, "--data-dir", glue_dir, "--predictions", preds)
    assert _untimed(json.loads(results.to_json())) == _untimed(cli)
    assert set(cli) - set(_untimed(cli)) == {"timings"}
    table = results.table()
    assert [c.header for c in table.columns][:3] == ["Task", "Metric", "Value"]
    assert table.row_count == 4  # CoLA MCC, MRPC F1 + Acc, RTE Acc
    frame = results.to_pandas()
    assert list(frame.index) == ["CoLA", "MRPC", "RTE"]
    assert frame.loc["MRPC", "f1"] == results.tasks["MRPC"]["f1"]
    assert frame.loc["RTE", "accuracy_ci_low"] == results.tasks["RTE"]["ci"]["accuracy"][0]


def test_to_pandas_without_pandas_is_one_line(monkeypatch):
    results = gluebench.evaluate(Overlap(), tasks="RTE", data_dir="sample", n_resamples=20)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match="needs pandas: pip install pandas"):
        results.to_pandas()


@pytest.mark.real_data
def test_superglue_majority_predictor_matches_cli_baseline(tmp_path_factory, run_cli,
                                                           tmp_path):
    _, root = superglue_val_copy(tmp_path_factory)
    suite = gluebench.api.evaluation.load_suite("superglue")

    class Majority:
        """The most frequent val label of the task whose model predicts the entry (AX: RTE's)."""

        def predict(self, task, inputs):
            model = suite.entry(task).model
            labels = suite.task(model).labels
            path = root / "superglue" / model / "val.jsonl"
            raw = [json.loads(line) for line in path.read_text().splitlines()]
            if model == "MultiRC":
                raw = [a for r in raw for q in r["passage"]["questions"] for a in q["answers"]]
            tokens = Counter(str(r["label"]).lower() if labels == ("false", "true")
                             else str(r["label"]) for r in raw)
            best = max(labels, key=lambda lab: (tokens[lab], -labels.index(lab)))
            return [best] * len(inputs)

    results = gluebench.evaluate(Majority(), suite="superglue", data_dir=root, n_resamples=100)
    preds = tmp_path / "baseline"
    code, _, err = run_cli("baseline", "majority", "--suite", "superglue", "--data-dir", root,
                           "-o", preds)
    assert code == 0, err
    cli = _cli_json(run_cli, tmp_path, "--suite", "superglue", "--data-dir", root,
                    "--predictions", preds, "--resamples", "100")
    assert set(results.tasks) == set(cli["tasks"]) == {"BoolQ", "CB", "COPA", "MultiRC", "RTE",
                                                       "WiC", "WSC", "AX-b", "AX-g"}
    for name, scored in cli["tasks"].items():
        assert results.tasks[name] == scored, name
    assert results.score == pytest.approx(cli["superglue_score"])
    assert "superglue" in repr(results).lower()


def test_predictor_inputs_are_strings_for_span_tasks(tmp_path_factory):
    _, root = superglue_val_copy(tmp_path_factory)
    seen = {}

    class Recorder:
        def predict(self, task, inputs):
            seen[task] = inputs[0]
            return ["false"] * len(inputs)

    gluebench.evaluate(Recorder(), suite="superglue", tasks="WiC,WSC", data_dir=root,
                       n_resamples=10)
    assert set(seen["WiC"]) == {"word", "sentence1", "sentence2", "start1", "end1", "start2",
                                "end2"}
    assert all(isinstance(v, str) for row in seen.values() for v in row.values())
    assert seen["WSC"]["span1_index"].isdigit()


@pytest.mark.parametrize("answers, message", [
    (lambda n: ["entailment"] * (n - 1), r"returned 99 predictions for 100 inputs"),
    (lambda n: ["entailment", "entail"] + ["entailment"] * (n - 2),
     r"predict\('RTE', \.\.\.\) row 1: 'entail' is not a RTE label; expected one of: "
     r"entailment, not_entailment"),
    (lambda n: [0] * n, r"row 0: 0 \(int\) is not a RTE label"),
    (lambda n: "entailment", r"returned str; expected a list of 100 predictions"),
])
def test_bad_predictor_output_is_one_line_naming_task_and_row(answers, message):
    class Bad:
        def predict(self, task, inputs):
            return answers(len(inputs))

    with pytest.raises(UsageError, match=message) as caught:
        gluebench.evaluate(Bad(), tasks="RTE", data_dir="sample")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value, message", [
    (float("nan"), r"predict\('STS-B', \.\.\.\) row 3: nan \(float\); expected a finite"),
    (True, r"row 3: True \(bool\); expected a finite number"),
    ("2.5", r"row 3: '2\.5'; expected a finite number"),
])
def test_bad_scores_are_refused(value, message):
    class Bad:
        def predict(self, task, inputs):
            return [1.0, 2.0, 3.0, value] + [0.5] * (len(inputs) - 4)

    with pytest.raises(UsageError, match=message):
        gluebench.evaluate(Bad(), tasks="STS-B", data_dir="sample")


def test_bad_options_raise_the_cli_errors(monkeypatch):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(UsageError, match="Did you mean 'RTE'"):
        gluebench.evaluate(Overlap(), tasks="RTEE", data_dir="sample")
    with pytest.raises(UsageError, match="seeds is for a run directory"):
        gluebench.evaluate(Overlap(), tasks="RTE", data_dir="sample", seeds=[1, 2])
    with pytest.raises(UsageError, match="unknown split 'train'"):
        gluebench.evaluate(Overlap(), split="train", data_dir="sample")
    with pytest.raises(UsageError, match="expected an object with predict"):
        gluebench.evaluate(42, data_dir="sample")
    with pytest.raises(UsageError, match="data_dir is required for suite superglue"):
        gluebench.evaluate(Overlap(), suite="superglue")
    with pytest.raises(DataError, match="predictions folder not found"):
        gluebench.score("/nonexistent/folder", data_dir="sample")
    with pytest.raises(UsageError, match="cannot score split 'test'"):
        gluebench.score("/nonexistent/folder", split="test", data_dir="sample")
    assert issubclass(UsageError, GlueBenchError)


@pytest.mark.real_data
def test_test_predictions_make_a_valid_submission(glue_dir, tmp_path):
    from gluebench.benchmark.submission import validate_submission

    class Constant:
        def predict(self, task, inputs):
            labels = get_task(task).labels
            return [labels[0] if labels else 2.5] * len(inputs)

    results = gluebench.evaluate(Constant(), split="test", data_dir=glue_dir,
                                 tasks="CoLA,RTE,WNLI,STS-B")
    with pytest.raises(UsageError, match="test predictions: their labels are hidden"):
        results.to_json()
    target = results.submission(tmp_path / "glue.zip", fill_missing=True)
    assert validate_submission(target, split="test") == []
    with zipfile.ZipFile(target) as zf:
        rte = zf.read("RTE.tsv").decode().splitlines()
    assert rte[0] == "index\tprediction" and len(rte) == 3001
    assert {line.split("\t")[1] for line in rte[1:]} == {"entailment"}
    dev = gluebench.evaluate(Constant(), tasks="RTE", data_dir="sample", n_resamples=10)
    with pytest.raises(UsageError, match="a submission needs test predictions"):
        dev.submission(tmp_path / "dev.zip")
    assert not (tmp_path / "dev.zip").exists()


@pytest.mark.slow
def test_run_directory_selected_seed_per_seed_and_seed_summary(tiny_run, run_cli, tmp_path):
    results = gluebench.evaluate(tiny_run, data_dir="sample", n_resamples=100)
    cli = _cli_json(run_cli, tmp_path, "--data-dir", "sample", "--predictions",
                    tiny_run / "predictions" / "dev", "--resamples", "100")
    assert _untimed(results.document) == _untimed(cli)
    assert set(results.per_seed) == {"1", "2"}
    for entry in ("SST-2", "RTE", "STS-B"):
        summary = results.seed_summary[entry]
        for metric, cell in summary.items():
            per_seed = [s.tasks[entry][metric] for s in results.per_seed.values()]
            assert cell["mean"] == pytest.approx(np.mean(per_seed), abs=1e-12)
            assert cell["sd"] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-12)
            assert cell["seeds"] == 2
    one = gluebench.evaluate(tiny_run, data_dir="sample", seeds=[1], n_resamples=20)
    assert list(one.per_seed) == ["1"] and one.seed_summary == {}
    with pytest.raises(UsageError, match=r"no dev predictions for seed\(s\) 7; the run has: 1, 2"):
        gluebench.evaluate(tiny_run, data_dir="sample", seeds=[7])


@pytest.mark.slow
def test_text_classification_pipeline_labels_map_by_config_order(tiny_model, run_cli,
                                                                 tmp_path):
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(tiny_model), device="cpu")
    results = gluebench.evaluate(classifier, tasks="RTE,SST-2", data_dir="sample",
                                 n_resamples=20)
    raw = classifier([{"text": "a b", "text_pair": "c"}])
    assert raw[0]["label"].startswith("LABEL_")
    rte = [line.split("\t")[1]
           for line in (results.predictions / "RTE.tsv").read_text().splitlines()[1:]]
    # LABEL_i is the task's i-th official label: RTE 0 = entailment, 1 = not_entailment
    with open(Path(gluebench.api.evaluation.__file__).parents[1] / "sample_data" / "glue" /
              "RTE" / "dev.tsv", encoding="utf-8", newline="") as f:
        pairs = [{"text": r["sentence1"], "text_pair": r["sentence2"]}
                 for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    names = ("entailment", "not_entailment")
    assert rte == [names[int(o["label"].split("_")[1])] for o in classifier(pairs)]
    cli = _cli_json(run_cli, tmp_path, "--data-dir", "sample", "--predictions",
                    results.predictions, "--resamples", "20")
    assert _untimed(results.document) == _untimed(cli)


def test_results_repr_and_path_types(tmp_path):
    results = gluebench.evaluate(Overlap(), tasks="RTE", data_dir=Path(
        gluebench.api.evaluation.__file__).parents[1] / "sample_data" / "glue", n_resamples=10)
    assert repr(results).startswith("Results(GLUE dev: partial_average")
    assert isinstance(results.predictions, Path)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    """A random-baseline run directory on the bundled sample: RTE and CoLA x 3 seeds."""
    from gluebench.baselines import BaselineConfig, run_baseline
    from gluebench.benchmark.sources import open_source

    out = tmp_path_factory.mktemp("baseline-run")
    run_baseline(open_source("sample"), BaselineConfig(kind="random", seeds=(1, 2, 3),
                                                       splits=("dev",)),
                 out, "RTE,CoLA", progress=False, n_resamples=50)
    return out


def test_run_directory_is_scored_as_its_predictions_with_seed_summary(baseline_run, run_cli,
                                                                      tmp_path):
    from gluebench.benchmark.seed_stats import seed_interval

    results = gluebench.evaluate(baseline_run, data_dir="sample", n_resamples=100)
    cli = _cli_json(run_cli, tmp_path, "--data-dir", "sample", "--predictions",
                    baseline_run / "predictions" / "dev", "--resamples", "100")
    assert _untimed(results.document) == _untimed(cli)
    assert list(results.per_seed) == ["1", "2", "3"]
    for name, one in results.per_seed.items():
        alone = _cli_json(run_cli, tmp_path, "--data-dir", "sample", "--predictions",
                          baseline_run / "seeds" / name / "predictions" / "dev",
                          "--resamples", "100")
        assert _untimed(one.document) == _untimed(alone)
    rte = results.seed_summary["RTE"]
    accuracies = [s.tasks["RTE"]["accuracy"] for s in results.per_seed.values()]
    assert rte["accuracy"]["mean"] == pytest.approx(np.mean(accuracies), abs=1e-12)
    assert rte["accuracy"]["sd"] == pytest.approx(np.std(accuracies, ddof=1), abs=1e-12)
    assert rte["accuracy"]["seeds"] == 3 and rte["accuracy"]["n"] == 100
    # the seed-aware interval is seed_stats' own, on the three seeds' aligned predictions
    gold = np.array([int(r.split("\t")[-1] == "not_entailment") for r in (Path(
        gluebench.api.evaluation.__file__).parents[1] / "sample_data" / "glue" / "RTE" /
        "dev.tsv").read_text().splitlines()[1:]])
    preds = np.stack([[int(line.split("\t")[1] == "not_entailment") for line in (
        baseline_run / "seeds" / s / "predictions" / "dev" / "RTE.tsv").read_text()
        .splitlines()[1:]] for s in ("1", "2", "3")])
    expected = seed_interval(["accuracy"], gold, preds, n_resamples=100, seed=0, name="RTE")
    assert rte["accuracy"]["ci"] == pytest.approx(expected["accuracy"]["ci"])
    with pytest.raises(UsageError, match=r"no dev predictions for seed\(s\) 9; the run has: "
                                         r"1, 2, 3"):
        gluebench.evaluate(baseline_run, data_dir="sample", seeds=[9])
    two = gluebench.evaluate(baseline_run, data_dir="sample", seeds=[1, 3], n_resamples=20)
    assert list(two.per_seed) == ["1", "3"] and two.seed_summary["RTE"]["accuracy"]["seeds"] == 2


@pytest.mark.slow
def test_model_folder_is_predicted_by_the_evaluate_command_code(tiny_run):
    checkpoint = tiny_run / "checkpoints" / "RTE" / "seed-1"
    results = gluebench.evaluate(str(checkpoint), tasks="RTE", data_dir="sample",
                                 n_resamples=20)
    # the fine-tuned model predicts what it predicted when its run scored seed 1
    recorded = tiny_run / "seeds" / "1" / "predictions" / "dev" / "RTE.tsv"
    assert (results.predictions / "RTE.tsv").read_text() == recorded.read_text()
    assert list(results.tasks) == ["RTE"]
    with pytest.raises(UsageError, match="seeds is for a run directory"):
        gluebench.evaluate(str(checkpoint), tasks="RTE", data_dir="sample", seeds=[1])
