"""The probe's labels: heads write the task's label names even when training lacks a class,
stratified training subsamples, one-class training sets, rare classes in cross-validation,
and the ridge head's cross-validation score."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.special import softmax

from gluebench.benchmark import examples
from gluebench.benchmark.examples import Examples
from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import get_task
from gluebench.errors import UsageError
from gluebench.probe import heads
from gluebench.recipes import finetune
from gluebench.train.config import build_config

MNLI = get_task("MNLI")          # entailment, neutral, contradiction


def _clusters(labels, dim=8, seed=0):
    """Features that separate the classes: class c is centred on 3 * e_c."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    return rng.normal(size=(len(labels), dim)) + 3.0 * np.eye(dim)[labels]


# ---- the label order ------------------------------------------------------------------------

def test_a_head_trained_on_two_of_three_classes_predicts_their_names(tmp_path):
    labels = np.repeat([0, 2], 40)                 # entailment and contradiction, no neutral
    x = _clusters(labels)
    head = heads.fit_head(MNLI, x, labels, seed=0)
    for fitted in (head, _saved_and_loaded(head, tmp_path)):
        scores = fitted.scores(x)
        assert scores.shape == (80, 3)              # one column per MNLI label, in our order
        probs = softmax(scores, axis=1)
        assert np.all(probs[:, 1] == 0)             # neutral: absent from training
        assert np.isfinite(scores).all()            # every score a run writes is finite
        np.testing.assert_allclose(probs.sum(axis=1), 1)
        scaler, model = heads._rebuild(fitted)      # scikit-learn's own probabilities
        np.testing.assert_allclose(probs[:, [0, 2]], model.predict_proba(scaler.transform(x)),
                                   rtol=1e-9, atol=1e-12)
        names = [MNLI.labels[i] for i in scores.argmax(axis=1)]
        assert names == [MNLI.labels[i] for i in labels]
        assert names.count("contradiction") == 40 and "neutral" not in names
    assert head.facts["absent_classes"] == ["neutral"]
    assert head.facts["train_class_counts"] == {"entailment": 40, "neutral": 0,
                                                "contradiction": 40}


def test_a_head_saved_before_labels_were_recorded_still_maps_its_classes(tmp_path):
    labels = np.repeat([0, 2], 20)
    x = _clusters(labels)
    head = heads.fit_head(MNLI, x, labels, seed=0)
    head.save(tmp_path)
    facts = json.loads((tmp_path / "head.json").read_text())
    del facts["labels"]
    (tmp_path / "head.json").write_text(json.dumps(facts))
    scores = heads.Head.load(tmp_path).scores(x)          # columns up to the largest class
    np.testing.assert_array_equal(scores, head.scores(x))
    assert set(scores.argmax(axis=1)) <= {0, 2}


def _saved_and_loaded(head, folder):
    head.save(folder)
    return heads.Head.load(folder)


def _mnli_data(tmp_path, train_labels: set[str]):
    """A GLUE folder whose MNLI train holds only ``train_labels`` (from the sample's dev)."""
    sample = open_source("sample").root / "MNLI" / "dev_matched.tsv"
    header, *rows = sample.read_text(encoding="utf-8").splitlines()
    kept = [r for r in rows if r.rsplit("\t", 1)[1] in train_labels]
    folder = tmp_path / "glue" / "MNLI"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    (folder / "dev_matched.tsv").write_text(sample.read_text(encoding="utf-8"),
                                            encoding="utf-8")
    return tmp_path / "glue", len(kept)


@pytest.mark.slow
def test_a_probe_run_trained_without_neutral_writes_contradiction(tmp_path):
    data, _ = _mnli_data(tmp_path, {"entailment", "contradiction"})
    out = tmp_path / "run"
    results = finetune(open_source(str(data)), build_config(method="probe", splits="dev"), out,
                       "MNLI", progress=False, n_resamples=20)
    lines = (out / "predictions" / "dev" / "MNLI-m.tsv").read_text().splitlines()[1:]
    written = [line.split("\t")[1] for line in lines]
    assert "contradiction" in written and set(written) <= {"entailment", "contradiction"}
    outputs = np.load(out / "outputs" / "MNLI-m.npz")["outputs"]
    assert outputs.shape == (len(written), 3) and np.all(outputs[:, 1] == 0)
    # Written labels are what the probabilities say, name for name.
    assert written == [MNLI.labels[i] for i in outputs.argmax(axis=1)]
    # Well above what writing every contradiction as neutral scores on this dev set.
    assert results["tasks"]["MNLI-m"]["accuracy"] > 0.45
    assert results["training"]["MNLI"]["probe"]["absent_classes"] == ["neutral"]


# ---- one class, rare classes ------------------------------------------------------------------

def test_a_one_class_training_set_is_refused_in_one_line():
    with pytest.raises(UsageError, match=r"MNLI: all 30 training examples are 'neutral'; a "
                                         r"probe learns from at least two"):
        heads.fit_head(MNLI, _clusters([1] * 30), np.ones(30, np.int64), seed=0)
    with pytest.raises(UsageError, match="one per class"):
        heads.fit_head(MNLI, _clusters([0, 1, 2]), np.array([0, 1, 2]), seed=0)


def test_a_one_class_run_stops_before_writing_anything(tmp_path, run_cli):
    data, n = _mnli_data(tmp_path, {"entailment"})
    out = tmp_path / "run"
    code, _, err = run_cli("finetune", "--method", "probe", "--data-dir", data, "--tasks",
                           "MNLI", "--splits", "dev", "-o", out)
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert code == 2 and len(errors) == 1, err          # (the data's size warnings aside)
    assert errors[0].startswith("error: MNLI train (") and "train.tsv" in errors[0]
    assert f"all {n} training examples are 'entailment'" in errors[0]
    assert not out.exists()


def test_rare_classes_fewer_folds_each_holding_every_class():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    labels = np.array([0] * 30 + [2] * 30 + [1] * 3)      # three neutral examples
    x = _clusters(labels, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # nothing leaks to the user
        head = heads.fit_head(MNLI, x, labels, seed=2)
    assert head.facts["cv"].startswith("3-fold") and head.facts["rare_classes"] == ["neutral"]
    folds = StratifiedKFold(3, shuffle=True, random_state=2)
    for train_rows, test_rows in folds.split(x, labels):    # every class on both sides
        assert set(labels[train_rows]) == set(labels[test_rows]) == {0, 1, 2}
    scaled = StandardScaler().fit_transform(x)
    oracle = [cross_val_score(LogisticRegression(C=c, max_iter=heads.MAX_ITER), scaled,
                              labels, cv=folds).mean() for c in heads.C_GRID]
    # Up to one example's worth: LogisticRegressionCV warm-starts along the C path, so an
    # example at a near-tie may fall either way.
    np.testing.assert_allclose(head.facts["cv_scores"], oracle, atol=1 / len(labels) + 1e-9)
    assert head.facts["C"] == heads.C_GRID[int(np.argmax(head.facts["cv_scores"]))]


@pytest.mark.parametrize("task, labels", [
    (MNLI, [0] * 30 + [2] * 30 + [1]),                     # a single neutral example
    (get_task("CoLA"), [1] * 30 + [0]),                    # MCC with a single negative
])
def test_a_single_example_class_is_fitted_and_recorded_without_warnings(task, labels):
    labels = np.array(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        head = heads.fit_head(task, _clusters(labels, seed=4), labels, seed=0)
    single = task.labels[int(np.argmin(np.bincount(labels)))]
    assert head.facts["cv"].startswith("2-fold") and head.facts["rare_classes"] == [single]
    assert head.scores(_clusters(labels)).shape == (len(labels), len(task.labels))


# ---- stratified subsamples --------------------------------------------------------------------

def test_class_quotas_keep_proportions_and_every_class():
    assert examples.class_quotas(np.array([500, 300, 200]), 10).tolist() == [5, 3, 2]
    assert examples.class_quotas(np.array([997, 2, 1]), 10).tolist() == [8, 1, 1]  # rare kept
    assert examples.class_quotas(np.array([997, 2, 1]), 2).tolist() == [2, 0, 0]   # n < k
    rng = np.random.default_rng(0)
    for _ in range(200):
        counts = rng.integers(1, 400, size=rng.integers(2, 5))
        n = int(rng.integers(len(counts), counts.sum() + 1))
        quota = examples.class_quotas(counts, n)
        assert quota.sum() == n and np.all(quota >= 1) and np.all(quota <= counts)
        exact = n * counts / counts.sum()
        assert np.all(np.abs(quota - exact)[exact >= 1] < 1 + (exact < 1).sum())


def _skewed(n_major=180, n_minor=18, n_rare=2) -> Examples:
    labels = np.array([0] * n_major + [1] * n_minor + [2] * n_rare)
    labels = labels[np.random.default_rng(5).permutation(len(labels))]
    n = len(labels)
    return Examples(MNLI, "train", "test", np.arange(n) * 3,
                    {"premise": [f"p{i}" for i in range(n)],
                     "hypothesis": [f"h{i}" for i in range(n)]}, labels)


def test_a_stratified_subsample_keeps_class_shares_file_order_and_its_seed():
    pool = _skewed()
    sub = pool.stratified_subsample(50, seed=7)
    assert np.bincount(sub.labels, minlength=3).tolist() == [45, 4, 1]   # 90% / 9% / 1%
    assert np.all(np.diff(sub.index) > 0)                                # file order
    assert set(sub.index) <= set(pool.index)
    for i, label in zip(sub.index, sub.labels, strict=True):            # rows stay whole
        assert sub.inputs["premise"][list(sub.index).index(i)] == f"p{i // 3}"
        assert pool.labels[i // 3] == label
    again = pool.stratified_subsample(50, seed=7)
    assert np.array_equal(again.index, sub.index)
    assert not np.array_equal(pool.stratified_subsample(50, seed=8).index, sub.index)
    assert pool.stratified_subsample(None, seed=7) is pool


@pytest.mark.slow
def test_a_probe_run_trains_on_the_stratified_subsample(tmp_path):
    # RTE's sample train: a subsample of 20 keeps the classes' shares exactly.
    source = open_source("sample")
    full = source.load(get_task("RTE"), "train")
    counts = np.bincount(full.labels, minlength=2)
    expected = examples.class_quotas(counts, 20)
    config = build_config(method="probe", splits="dev", max_train_examples=20)
    results = finetune(source, config, tmp_path / "run", "RTE", progress=False, n_resamples=20)
    probe = results["training"]["RTE"]["probe"]
    assert list(probe["train_class_counts"].values()) == expected.tolist()
    head = json.loads((tmp_path / "run" / "checkpoints/RTE/seed-1/head.json").read_text())
    assert head["train_examples"] == 20


# ---- the ridge head ---------------------------------------------------------------------------

@pytest.mark.slow
def test_the_ridge_head_reports_negative_mse_as_such_and_picks_the_lowest_error():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 6))
    y = np.clip(x @ rng.normal(size=6) + 2.5 + rng.normal(0, 1.0, 60), 0, 5)
    head = heads.fit_head(get_task("STS-B"), x, y, seed=0)
    scaled = StandardScaler().fit_transform(x)
    mse = [-cross_val_score(Ridge(alpha=a), scaled, y, cv=LeaveOneOut(),
                            scoring="neg_mean_squared_error").mean() for a in heads.ALPHA_GRID]
    np.testing.assert_allclose(head.facts["cv_scores"], -np.array(mse), rtol=1e-6)
    assert head.facts["alpha"] == heads.ALPHA_GRID[int(np.argmin(mse))]
    assert head.facts["cv_mse"] == pytest.approx(min(mse), rel=1e-6) and min(mse) > 0
    assert head.facts["cv_score"] == pytest.approx(-min(mse), rel=1e-6)
    assert "negative mean squared error" in head.facts["cv"]
