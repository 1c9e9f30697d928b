"""The public metric functions check their inputs once, as scikit-learn's ``_check_targets``
does: class ids are whole numbers in the task's label set; correlations take finite numbers."""

import numpy as np
import pytest
from sklearn import metrics as skm

from gluebench.benchmark import metrics

CLASSIFICATION = [metrics.accuracy, metrics.f1, metrics.matthews_corrcoef, metrics.r3]


def test_probabilities_are_refused_not_scored_as_zero():
    gold = [1, 0, 1, 1]
    probs = [0.9, 0.2, 0.7, 0.6]          # P(class 1) passed where ids were expected
    with pytest.raises(ValueError, match=r"f1: y_pred\[0\] = 0.9 is not a class id"):
        metrics.f1(gold, probs)
    for fn in CLASSIFICATION:
        with pytest.raises(ValueError, match="not a class id"):
            fn(gold, probs)
    with pytest.raises(ValueError, match="not a class id"):
        metrics.compute(("f1", "accuracy"), gold, probs)
    with pytest.raises(ValueError):       # the oracle refuses it too
        skm.f1_score(gold, probs)


def test_a_stray_class_is_outside_the_label_set():
    # Binary F1 is over ids {0, 1}: a class 2 is not "a negative", it is an error.
    with pytest.raises(ValueError, match=r"f1: y_true\[2\] = 2 is outside the label set; "
                                         r"expected ids 0..1"):
        metrics.f1([1, 0, 2], [1, 0, 2])
    with pytest.raises(ValueError, match="outside the label set"):
        metrics.matthews_corrcoef([1, 0, 1], [1, 0, 2])        # CoLA's MCC is binary
    with pytest.raises(ValueError, match="outside the label set; expected ids 0..2"):
        metrics.r3([0, 1, 3], [0, 1, 2])
    # The label set comes from the task, not from the data.
    with pytest.raises(ValueError, match="outside the label set"):
        metrics.accuracy([0, 1, 1], [0, 1, 2], n_classes=2)
    with pytest.raises(ValueError, match="y_pred"):
        metrics.compute(("accuracy",), [0, 1, 2], [0, 1, 3], n_classes=3)
    with pytest.raises(ValueError, match="f1 is defined over 2 classes"):
        metrics.compute(("f1",), [0, 1], [0, 1], n_classes=3)


@pytest.mark.parametrize("fn", CLASSIFICATION)
def test_negative_ids_and_non_finite_values_are_refused(fn):
    with pytest.raises(ValueError, match=r"y_true\[1\] = -1 is"):
        fn([0, -1, 1], [0, 1, 1])
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="not a class id"):
            fn([0, 1, 1], [0, bad, 1])
    with pytest.raises(ValueError, match="must be class ids"):
        fn(["0", "1"], ["0", "1"])


def test_whole_number_floats_and_booleans_are_ids():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 300)
    pred = np.where(rng.random(300) < 0.7, gold, 1 - gold)
    for fn in (metrics.accuracy, metrics.f1, metrics.matthews_corrcoef):
        value = fn(gold, pred)
        assert fn(gold.astype(float), pred.astype(float)) == value
        assert fn(gold.astype(bool), pred.astype(bool)) == value
    assert metrics.f1(gold, pred) == pytest.approx(skm.f1_score(gold, pred), abs=1e-12)


def test_multiclass_mcc_takes_its_label_count_from_the_caller():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, 500)
    pred = np.where(rng.random(500) < 0.6, gold, rng.integers(0, 3, 500))
    assert metrics.matthews_corrcoef(gold, pred, n_classes=3) == pytest.approx(
        skm.matthews_corrcoef(gold, pred), abs=1e-12)
    assert metrics.compute(("mcc", "accuracy"), gold, pred, n_classes=3) == pytest.approx(
        {"mcc": skm.matthews_corrcoef(gold, pred), "accuracy": skm.accuracy_score(gold, pred)})


def test_accuracy_without_a_label_set_needs_no_matrix_as_large_as_an_id():
    gold, pred = [0, 5, 10**12, 7], [0, 5, 3, 7]
    assert metrics.accuracy(gold, pred) == skm.accuracy_score(gold, pred) == 0.75


@pytest.mark.parametrize("fn", [metrics.pearson, metrics.spearman])
def test_correlations_refuse_non_finite_values(fn):
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"y_pred\[2\] = .* is not a finite number"):
            fn([1.0, 2.0, 3.0, 4.0], [1.0, 2.5, bad, 4.0])
    with pytest.raises(ValueError, match="y_true"):
        metrics.compute(("pearson", "spearman"), [np.nan, 1.0, 2.0], [1.0, 2.0, 3.0])
