"""Calibration, error analysis and power: checked against scikit-learn, scipy and simulation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, confusion_matrix

from gluebench.analysis.calibration import (
    brier_score,
    classification_report,
    expected_calibration_error,
    reliability_bins,
)
from gluebench.analysis.power import accuracy_mdd, disagreement, entry_power
from gluebench.analysis.quality import analyze_run, load_outputs
from gluebench.benchmark.predictions import read_predictions
from gluebench.benchmark.tasks import BENCHMARKS


def _probs(rng, n, k):
    logits = rng.normal(size=(n, k)) * 2
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_ece_hand_worked():
    # Both in the (0.8, 0.9] bin at confidence 0.85, one right: |0.5 - 0.85|
    probs = np.array([[0.85, 0.15], [0.15, 0.85]])
    assert expected_calibration_error(np.array([0, 0]), probs) == pytest.approx(0.35)
    # In different bins, (0.8, 0.9] right and (0.7, 0.8] wrong: 0.5 * 0.1 + 0.5 * 0.8
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert expected_calibration_error(np.array([0, 0]), probs) == pytest.approx(0.45)


def test_ece_matches_a_per_example_loop():
    rng = np.random.default_rng(0)
    y, probs = rng.integers(0, 3, 500), _probs(rng, 500, 3)
    conf, correct = probs.max(1), probs.argmax(1) == y
    ece = 0.0
    for b in range(10):
        members = [i for i in range(500) if b / 10 < conf[i] <= (b + 1) / 10]
        if members:
            ece += len(members) / 500 * abs(correct[members].mean() - conf[members].mean())
    assert expected_calibration_error(y, probs) == pytest.approx(ece)
    bins = reliability_bins(y, probs)
    assert sum(b["count"] for b in bins) == 500


def test_calibrated_forecasts_have_small_ece_and_overconfident_large():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 1.0, 20000)
    y = (rng.random(20000) < p).astype(int)            # label 1 with probability p
    probs = np.stack([1 - p, p], axis=1)
    assert expected_calibration_error(y, probs) < 0.02
    sharp = np.stack([1 - np.sqrt(p), np.sqrt(p)], axis=1)
    assert expected_calibration_error(y, sharp) > 0.05


def test_brier_against_scikit_learn():
    rng = np.random.default_rng(2)
    y, probs = rng.integers(0, 2, 300), _probs(rng, 300, 2)
    # scikit-learn scores the positive class only: the two-class sum counts it twice.
    assert brier_score(y, probs) == pytest.approx(2 * brier_score_loss(y, probs[:, 1]))
    y3, probs3 = rng.integers(0, 3, 300), _probs(rng, 300, 3)
    expected = np.mean([sum((probs3[i, k] - (y3[i] == k)) ** 2 for k in range(3))
                        for i in range(300)])
    assert brier_score(y3, probs3) == pytest.approx(expected)


def test_confusion_and_distributions_against_scikit_learn():
    rng = np.random.default_rng(3)
    y, probs = rng.integers(0, 3, 400), _probs(rng, 400, 3)
    report = classification_report(y, probs, ["a", "b", "c"])
    assert report["confusion"] == confusion_matrix(y, probs.argmax(1)).tolist()
    assert report["label_distribution"]["gold"] == {
        k: int((y == i).sum()) for i, k in enumerate("abc")}


def test_mdd_gives_80_percent_power_by_formula_and_by_simulation():
    n, p = 277, 0.70
    mdd = accuracy_mdd(100 * p, n) / 100
    se = np.sqrt(p * (1 - p) / n)
    assert norm.cdf(mdd / (np.sqrt(2) * se) - norm.ppf(0.975)) == pytest.approx(0.8, abs=1e-6)
    rng = np.random.default_rng(4)
    a = rng.binomial(n, p, 20000) / n
    b = rng.binomial(n, p + mdd, 20000) / n
    pooled = np.sqrt(2 * p * (1 - p) / n)
    rejected = np.mean(np.abs(b - a) / pooled > norm.ppf(0.975))
    assert rejected == pytest.approx(0.8, abs=0.04)


def test_rte_dev_cannot_resolve_two_points():
    assert accuracy_mdd(54.5, 277) > 10          # the headline of "little power"
    assert accuracy_mdd(90.0, 9815) < 1.5        # MNLI-m can


def test_entry_power_bootstrap_se_matches_binomial():
    rng = np.random.default_rng(5)
    gold = rng.integers(0, 2, 1000)
    pred = np.where(rng.random(1000) < 0.75, gold, 1 - gold)
    out = entry_power("X", ("accuracy",), gold, pred, seed_disagreement=0.1)
    acc = np.mean(gold == pred)
    assert out["baseline"] == pytest.approx(100 * acc)
    assert out["se"] == pytest.approx(100 * np.sqrt(acc * (1 - acc) / 1000), rel=0.1)
    assert out["mdd_paired"] == pytest.approx(100 * 2.8016 * np.sqrt(0.1 / 1000), rel=1e-3)
    assert out["mdd_paired"] < out["mdd"]


def test_disagreement():
    a, b, c = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), np.array([1, 1, 1, 1])
    assert disagreement([a, b, c]) == pytest.approx(np.mean([0.25, 0.5, 0.25]))
    assert disagreement([a]) is None


@pytest.mark.slow
def test_saved_outputs_agree_with_the_prediction_files(tiny_run):
    for entry in ("SST-2", "RTE", "STS-B"):
        saved = load_outputs(tiny_run / "outputs" / f"{entry}.npz")
        written = read_predictions(tiny_run / "predictions" / "dev" / f"{entry}.tsv",
                                   BENCHMARKS[entry])
        order = np.argsort(written.index)
        assert np.array_equal(saved["index"], written.index[order])
        if entry == "STS-B":
            assert np.allclose(np.clip(saved["outputs"], 0, 5), written.values[order],
                               atol=1e-3)
        else:
            assert np.allclose(saved["outputs"].sum(1), 1, atol=1e-5)
            assert np.array_equal(saved["outputs"].argmax(1), written.values[order])
        for seed in (1, 2):
            assert (tiny_run / "seeds" / str(seed) / "outputs" / f"{entry}.npz").is_file()


@pytest.mark.slow
def test_quality_of_a_run(tiny_run):
    doc = analyze_run(tiny_run, n_resamples=200)
    json.dumps(doc)
    sst = doc["entries"]["SST-2"]
    saved = load_outputs(tiny_run / "outputs" / "SST-2.npz")
    assert sst["calibration"]["ece"] == pytest.approx(
        expected_calibration_error(saved["gold"], saved["outputs"]))
    assert sum(map(sum, sst["confusion"])) == sst["n"] == len(saved["gold"])
    assert "regression" in doc["entries"]["STS-B"]
    power = doc["power"]["entries"]["RTE"]
    results = json.loads((tiny_run / "results.json").read_text())
    assert power["baseline"] == pytest.approx(results["tasks"]["RTE"]["score"])
    assert 0 <= power["seed_disagreement"] <= 1 and power["mdd"] > 0
    assert doc["seeds"]["RTE"]["n"] == 2


def test_calibration_and_power_commands(tiny_run, run_cli, tmp_path):
    code, out, err = run_cli("calibration", tiny_run, "--json", tmp_path / "q.json")
    assert code == 0, err
    assert "ECE" in out and (tiny_run / "analysis" / "quality.json").is_file()
    code, out, err = run_cli("power", tiny_run)
    assert code == 0, err
    assert "cannot resolve differences below" in out
    code, out, err = run_cli("power", "--baseline", "80")
    assert code == 0, err
    assert "RTE dev (n=277)" in out


def test_a_run_without_outputs_is_one_line(tmp_path, run_cli):
    (tmp_path / "results.json").write_text(json.dumps({"tasks": {"RTE": {}}}))
    code, _, err = run_cli("calibration", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "no dev outputs" in err
    code, _, err = run_cli("power", tmp_path / "nope")
    assert code == 2 and "not a gluebench run directory" in err
