"""Evaluating already fine-tuned models, the MNLI model's AX predictions, and CLI errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from gluebench.benchmark.sources import DirectorySource, open_source
from gluebench.recipes import finetune
from gluebench.train.config import build_config

from .conftest import FIXTURES, REPO

FAST = dict(epochs=2, learning_rate=1e-3, batch_size=16, max_seq_length=64)


@pytest.fixture(scope="module")
def rte_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("rte-run")
    config = build_config(model=str(tiny_model), **FAST)
    finetune(open_source("sample"), config, out, "RTE", progress=False, n_resamples=20)
    return out


def _relabelled_copy(checkpoint, folder, order, names):
    """The same classifier with its output rows reordered and id2label saying so."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    with torch.no_grad():
        model.classifier.weight.copy_(model.classifier.weight[order])
        model.classifier.bias.copy_(model.classifier.bias[order])
    model.config.id2label = dict(enumerate(names))
    model.config.label2id = {n: i for i, n in enumerate(names)}
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(checkpoint / name, folder / name)
    return folder


@pytest.mark.slow
def test_evaluate_reproduces_the_runs_predictions(rte_run, tmp_path, run_cli):
    code, _, err = run_cli("evaluate", "--model", rte_run, "--tasks", "RTE", "--data-dir",
                           "sample", "-o", tmp_path / "eval", "--resamples", "20",
                           "--no-progress")
    assert code == 0, err
    for split in ("dev", "test"):
        assert (tmp_path / "eval" / "predictions" / split / "RTE.tsv").read_bytes() == \
            (rte_run / "predictions" / split / "RTE.tsv").read_bytes()
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["kind"] == "evaluate" and "RTE" in results["tasks"]


@pytest.mark.slow
def test_labels_are_matched_by_name_not_position(rte_run, tmp_path, run_cli):
    checkpoint = rte_run / "checkpoints" / "RTE" / "seed-1"
    swapped = _relabelled_copy(checkpoint, tmp_path / "swapped", [1, 0],
                               ["not_entailment", "entailment"])
    code, _, err = run_cli("evaluate", "--model", swapped, "--tasks", "RTE", "--data-dir",
                           "sample", "-o", tmp_path / "eval", "--splits", "dev",
                           "--resamples", "20", "--no-progress")
    assert code == 0, err
    assert (tmp_path / "eval" / "predictions" / "dev" / "RTE.tsv").read_bytes() == \
        (rte_run / "predictions" / "dev" / "RTE.tsv").read_bytes()
    # The saved probabilities are put back in our label order too (calibration reads them).
    ours = np.load(rte_run / "outputs" / "RTE.npz")["outputs"]
    theirs = np.load(tmp_path / "eval" / "outputs" / "RTE.npz")["outputs"]
    assert np.allclose(ours, theirs, atol=1e-3)  # float noise of another batch layout


def test_generic_labels_need_a_label_map(rte_run, tmp_path, run_cli):
    checkpoint = rte_run / "checkpoints" / "RTE" / "seed-1"
    generic = _relabelled_copy(checkpoint, tmp_path / "generic", [1, 0], ["LABEL_0", "LABEL_1"])
    args = ["evaluate", "--model", generic, "--tasks", "RTE", "--data-dir", "sample",
            "--splits", "dev", "--resamples", "20", "--no-progress"]
    code, _, err = run_cli(*args, "-o", tmp_path / "refused")
    assert code == 2 and err.count("\n") == 1
    assert "labels are generic" in err and "--label-map" in err
    code, _, err = run_cli(*args, "-o", tmp_path / "mapped",
                           "--label-map", "LABEL_0=not_entailment,LABEL_1=entailment")
    assert code == 0, err
    assert (tmp_path / "mapped" / "predictions" / "dev" / "RTE.tsv").read_bytes() == \
        (rte_run / "predictions" / "dev" / "RTE.tsv").read_bytes()


def test_the_mnli_model_also_predicts_ax(tiny_model, tmp_path):
    data = tmp_path / "glue"
    shutil.copytree(FIXTURES / "official_formats" / "MNLI", data / "MNLI")
    shutil.copytree(REPO / "src" / "gluebench" / "sample_data" / "glue" / "diagnostic",
                    data / "diagnostic")
    config = build_config(model=str(tiny_model), **FAST)
    results = finetune(DirectorySource(data, check_sizes=False), config, tmp_path / "run",
                       "MNLI", progress=False, n_resamples=20)
    assert set(results["tasks"]) == {"MNLI-m", "MNLI-mm", "AX"}
    assert "categories" in results["tasks"]["AX"]          # the diagnostic analysis
    preds = tmp_path / "run" / "predictions"
    for name, rows in [("MNLI-m", 4), ("MNLI-mm", 5), ("AX", 300)]:
        lines = (preds / "test" / f"{name}.tsv").read_text().splitlines()
        assert len(lines) == rows + 1
        assert {ln.split("\t")[1] for ln in lines[1:]} <= {"entailment", "neutral",
                                                            "contradiction"}


@pytest.mark.parametrize("args, message", [
    (["finetune", "--model", "./no/such/model"], "model './no/such/model' not found"),
    (["finetune", "--tasks", "RTEE"], "Unknown task 'RTEE'. Did you mean 'RTE'?"),
    (["finetune", "--method", "adapters"], "bad value 'adapters' for 'method'"),
    (["finetune", "--epochs", "-1"], "'epochs' must be in (0, 10000)"),
    (["evaluate"], "evaluate needs --model"),
    (["evaluate", "--model", "RTE=./x"], "no --model for CoLA, SST-2,"),
    (["finetune", "--tasks", "RTE", "--device", "cuda"], "--device cuda: no CUDA GPU is visible"),
])
def test_bad_input_is_one_line(tmp_path, run_cli, args, message):
    code, out, err = run_cli(*args, "--data-dir", "sample", "-o", tmp_path / "run",
                             "--no-progress")
    assert code == 2
    assert err.count("\n") == 1 and message in err, err


def test_a_model_without_weights_is_one_line(tmp_path, run_cli):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert", "hidden_size": 32}')
    code, _, err = run_cli("finetune", "--model", broken, "--tasks", "RTE", "--data-dir",
                           "sample", "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {broken}: no model weights")


def test_a_model_that_cannot_be_loaded_is_one_error_line(tiny_model, tmp_path, run_cli):
    broken = tmp_path / "corrupt"
    shutil.copytree(tiny_model, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    code, _, err = run_cli("finetune", "--model", broken, "--tasks", "RTE", "--data-dir",
                           "sample", "-o", tmp_path / "run", "--no-progress")
    assert code == 2 and "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: cannot load model '{broken}'")
    assert err.splitlines()[-1] == errors[0]


@pytest.mark.slow
def test_embedded_default_model_end_to_end(tmp_path, run_cli):
    """No --model: the pip-installed all-MiniLM-L6-v2, offline."""
    code, out, err = run_cli("finetune", "--tasks", "SST-2", "--data-dir", "sample",
                             "--max-train-examples", "32", "--epochs", "1", "--splits", "dev",
                             "-o", tmp_path / "run", "--resamples", "20", "--no-progress")
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "all-MiniLM-L6-v2 (embedded" in results["model"]
    assert results["training"]["SST-2"]["parameters"]["total"] == pytest.approx(22.7e6, rel=0.01)
    assert results["training"]["SST-2"]["learning_rate"] == pytest.approx(1e-4)
    assert "SST-2" in out and np.isfinite(results["tasks"]["SST-2"]["accuracy"])


def test_an_evaluate_run_of_a_relabelled_model_analyses_like_the_original(rte_run, tmp_path,
                                                                           run_cli):
    """Robustness and profiling load the evaluated model with its label permutation."""
    from gluebench.benchmark.scoring import evaluation_examples
    from gluebench.benchmark.tasks import BENCHMARKS
    from gluebench.robustness.suite import perturbed
    from gluebench.run_models import RunModels

    swapped = _relabelled_copy(rte_run / "checkpoints" / "RTE" / "seed-1", tmp_path / "swapped",
                               [1, 0], ["not_entailment", "entailment"])
    code, _, err = run_cli("evaluate", "--model", swapped, "--tasks", "RTE", "--data-dir",
                           "sample", "-o", tmp_path / "eval", "--splits", "dev",
                           "--resamples", "20", "--no-progress")
    assert code == 0, err
    examples = evaluation_examples(open_source("sample"), BENCHMARKS["RTE"], "dev")
    examples = perturbed(examples, "typo_swap", 0)
    original = RunModels(rte_run, device="cpu").predictor("RTE").predict(examples)
    evaluated = RunModels(tmp_path / "eval", device="cpu").predictor("RTE")
    assert evaluated.checkpoint == str(swapped)
    assert evaluated.permutation.tolist() == [1, 0]
    again = evaluated.predict(examples)
    assert np.array_equal(again.values, original.values)
    assert np.allclose(again.outputs, original.outputs, atol=1e-4)
