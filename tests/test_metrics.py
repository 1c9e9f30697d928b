"""Metrics: hand-worked cases, oracle checks against scikit-learn/scipy on dev sets (synthetic
labels shaped like the real ones, then the real ones), and common properties over every
metric."""

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from gluebench.benchmark import metrics
from gluebench.errors import GlueBenchWarning


def test_hand_worked_cases():
    # tp=1, fp=0, fn=1, tn=2: MCC = (1*2 - 0*1) / sqrt(1*2*3*2) = 2/sqrt(12)
    assert metrics.matthews_corrcoef([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(2 / 12**0.5)
    assert metrics.f1([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(2 / 3)
    assert metrics.accuracy([1, 1, 0, 0], [1, 0, 0, 0]) == 0.75
    assert metrics.pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(0.9933992677987828)
    assert metrics.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert metrics.r3([0, 1, 2], [0, 1, 2]) == 1.0


def test_degenerate_cases_have_defined_values():
    assert metrics.matthews_corrcoef([0, 1, 1, 0], [1, 1, 1, 1]) == 0.0  # constant prediction
    assert metrics.r3([0, 1, 2, 2], [2, 2, 2, 2]) == 0.0
    assert metrics.f1([0, 0, 0], [0, 0, 0]) == 0.0  # no positives anywhere
    with pytest.warns(GlueBenchWarning, match="constant"):
        assert metrics.pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0
    with pytest.warns(GlueBenchWarning, match="gold series is constant"):
        assert metrics.spearman([3.0, 3.0, 3.0], [1.0, 2.0, 3.0]) == 0.0


@pytest.fixture(scope="module")
def dev_sets(dev_gold):
    """(gold, noisy prediction) per task, on synthetic or real dev labels."""
    rng = np.random.default_rng(0)
    out = {}
    for task in ("CoLA", "MRPC", "MNLI", "STS-B"):
        gold = dev_gold(task)
        if gold.dtype.kind == "f":
            pred = np.clip(gold + rng.normal(0, 1.2, len(gold)), 0, 5).round(1)  # with ties
        else:
            k = int(gold.max()) + 1
            pred = np.where(rng.random(len(gold)) < 0.7, gold, rng.integers(0, k, len(gold)))
        out[task] = (gold, pred)
    return out


def test_against_sklearn_and_scipy_on_dev_sets(dev_sets):
    g, p = dev_sets["CoLA"]
    assert metrics.matthews_corrcoef(g, p) == pytest.approx(skm.matthews_corrcoef(g, p), abs=1e-12)
    g, p = dev_sets["MRPC"]
    assert metrics.f1(g, p) == pytest.approx(skm.f1_score(g, p), abs=1e-12)
    assert metrics.accuracy(g, p) == pytest.approx(skm.accuracy_score(g, p), abs=1e-12)
    g, p = dev_sets["MNLI"]
    assert metrics.r3(g, p) == pytest.approx(skm.matthews_corrcoef(g, p), abs=1e-12)
    assert metrics.accuracy(g, p) == pytest.approx(skm.accuracy_score(g, p), abs=1e-12)
    g, p = dev_sets["STS-B"]
    assert metrics.pearson(g, p) == pytest.approx(stats.pearsonr(g, p)[0], abs=1e-12)
    assert metrics.spearman(g, p) == pytest.approx(stats.spearmanr(g, p)[0], abs=1e-12)


def test_batched_form_equals_point_form_row_by_row(dev_sets):
    g, p = dev_sets["MNLI"]
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(g), size=(5, len(g)))
    batch = metrics.BATCHED["r3"](g[idx], p[idx])
    for row in range(5):
        assert batch[row] == pytest.approx(skm.matthews_corrcoef(g[idx[row]], p[idx[row]]))
    g, p = dev_sets["STS-B"]
    batch = metrics.BATCHED["spearman"](g[idx % len(g)], p[idx % len(g)])
    assert batch[2] == pytest.approx(stats.spearmanr(g[idx[2] % len(g)], p[idx[2] % len(g)])[0])


@pytest.mark.parametrize("name", ["accuracy", "f1", "matthews_corrcoef", "r3", "pearson",
                                  "spearman"])
def test_common_properties(name):
    fn = getattr(metrics, name)
    rng = np.random.default_rng(2)
    t = rng.integers(0, 3 if name == "r3" else 2, 200)
    p = np.where(rng.random(200) < 0.6, t, 1 - t.clip(0, 1))
    perm = rng.permutation(200)
    value = fn(t, p)
    assert isinstance(value, float)
    assert fn(t[perm], p[perm]) == pytest.approx(value)       # order invariant
    assert fn(list(t), list(p)) == pytest.approx(value)       # lists or arrays
    with pytest.raises(ValueError):
        fn(t, p[:-1])


def test_task_score_is_the_mean_of_its_metrics_times_100():
    assert metrics.task_score({"f1": 0.8, "accuracy": 0.7}, ("f1", "accuracy")) == pytest.approx(75)
