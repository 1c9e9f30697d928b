"""Bootstrap CIs and paired tests: seeded, sensible, and in line with scipy, on dev sets
(synthetic labels shaped like the real ones, then the real ones)."""

import numpy as np
import pytest
from scipy import stats as sps

from gluebench.benchmark.stats import bootstrap_ci, paired_test


@pytest.fixture(scope="module")
def rte(dev_gold):
    gold = dev_gold("RTE")
    rng = np.random.default_rng(0)
    good = np.where(rng.random(len(gold)) < 0.8, gold, 1 - gold)
    weak = np.where(rng.random(len(gold)) < 0.55, gold, 1 - gold)
    return gold, good, weak


def test_bootstrap_is_seeded_and_brackets_the_estimate(rte):
    gold, good, _ = rte
    a = bootstrap_ci(("accuracy",), gold, good, seed=3, name="RTE")
    assert a == bootstrap_ci(("accuracy",), gold, good, seed=3, name="RTE")
    assert a != bootstrap_ci(("accuracy",), gold, good, seed=4, name="RTE")
    lo, hi = a["accuracy"]
    assert lo < (gold == good).mean() < hi
    assert a["score"] == pytest.approx([100 * lo, 100 * hi])


def test_bootstrap_agrees_with_scipy_percentile_bootstrap(rte):
    gold, good, _ = rte
    ours = bootstrap_ci(("accuracy",), gold, good, n_resamples=4000, seed=0)["accuracy"]
    ref = sps.bootstrap(((gold == good).astype(float),), np.mean, n_resamples=4000,
                        method="percentile", random_state=0).confidence_interval
    assert ours == pytest.approx([ref.low, ref.high], abs=0.015)


def test_interval_narrows_with_more_data():
    rng = np.random.default_rng(1)
    widths = []
    for n in (100, 10_000):
        gold = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.8, gold, 1 - gold)
        lo, hi = bootstrap_ci(("accuracy",), gold, pred)["accuracy"]
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 5


def test_paired_test_identical_systems(rte):
    gold, good, _ = rte
    r = paired_test(("accuracy",), gold, good, good.copy(), name="RTE")["score"]
    assert r.diff == 0 and r.p_value == 1.0 and r.ci == [0.0, 0.0]


def test_paired_test_detects_a_real_difference(rte):
    gold, good, weak = rte
    r = paired_test(("accuracy",), gold, good, weak, name="RTE")
    assert r["accuracy"].diff == pytest.approx((good == gold).mean() - (weak == gold).mean())
    assert r["accuracy"].p_value < 0.01
    assert r["accuracy"].ci[0] > 0


def test_permutation_p_value_agrees_with_scipy(rte):
    gold, good, _ = rte
    rng = np.random.default_rng(5)
    close = np.where(rng.random(len(gold)) < 0.9, good, 1 - good)  # a near-tie
    ours = paired_test(("accuracy",), gold, good, close, n_resamples=5000)["accuracy"].p_value
    ca, cb = (good == gold).astype(float), (close == gold).astype(float)
    ref = sps.permutation_test((ca, cb), lambda x, y: np.mean(x) - np.mean(y),
                               permutation_type="samples", n_resamples=5000,
                               random_state=0).pvalue
    assert ours == pytest.approx(ref, abs=0.03)


def test_two_metric_score_uses_shared_resamples():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 2, 300)
    pred = np.where(rng.random(300) < 0.75, gold, 1 - gold)
    ci = bootstrap_ci(("f1", "accuracy"), gold, pred, name="MRPC")
    assert set(ci) == {"f1", "accuracy", "score"}
    assert ci["score"][0] >= 100 * min(ci["f1"][0], ci["accuracy"][0]) - 1e-9


def test_confusion_shortcut_matches_resampling_examples(dev_gold):
    """The multinomial draw of confusion matrices is the example bootstrap, exactly in law."""
    from gluebench.benchmark.stats import (
        _paired_by_index,
        _paired_classification,
        bootstrap_replicates,
    )

    gold = dev_gold("CoLA")
    rng = np.random.default_rng(7)
    a = np.where(rng.random(len(gold)) < 0.8, gold, 1 - gold)
    b = np.where(rng.random(len(gold)) < 0.75, gold, 1 - gold)
    fast = bootstrap_replicates(("mcc",), gold, a, 4000, np.random.default_rng(0))["mcc"]
    idx = np.random.default_rng(1).integers(0, len(gold), (4000, len(gold)))
    slow = np.array([sps.pearsonr(gold[i], a[i])[0] for i in idx[:1500]])  # MCC = phi = r
    assert np.quantile(fast, [0.025, 0.5, 0.975]) == pytest.approx(
        np.quantile(slow, [0.025, 0.5, 0.975]), abs=0.01)
    boot_f, perm_f = _paired_classification(("mcc",), gold, a, b, 4000, np.random.default_rng(2))
    boot_s, perm_s = _paired_by_index(("mcc",), gold, a, b, 4000, np.random.default_rng(3))
    for f, s in ((boot_f["mcc"], boot_s["mcc"]), (perm_f["mcc"], perm_s["mcc"])):
        assert np.quantile(f, [0.05, 0.5, 0.95]) == pytest.approx(
            np.quantile(s, [0.05, 0.5, 0.95]), abs=0.01)
