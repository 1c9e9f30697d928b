"""The metric registry: hand-worked cases, scikit-learn as the oracle, one common test.

Layers, as in STYLE.md: hand-worked MultiRC, ReCoRD and AX-g cases; accuracy, f1, f1_macro
and mcc against scikit-learn to 1e-12 on synthetic labels shaped like the SuperGLUE sets
(and on the real val labels when ../shared/data is there); lm-eval's ``acc_all`` as a
second implementation of MultiRC's exact match; then every metric's invariances.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from gluebench.benchmark.item_metrics import (
    exact_match_per_question,
    f1_macro,
    gender_parity,
    normalize_answer,
    record_em,
    record_f1,
    token_f1,
)
from gluebench.benchmark.metric_registry import METRICS, Items, compute, get_metric
from gluebench.errors import UsageError
from tests.conftest import suite_data_roots

REPO = Path(__file__).resolve().parents[1]


# ---- hand-worked cases --------------------------------------------------------------------

def multirc_case() -> Items:
    """Two paragraphs, three questions, eight answer options.

    question 10 (paragraph 0): gold 1 0 1  pred 1 0 1   -> all right
    question 11 (paragraph 0): gold 0 1    pred 1 1     -> one wrong
    question 20 (paragraph 1): gold 1 0 0  pred 0 0 0   -> one wrong
    positives: tp = 3 (q10: 2, q11: 1), fp = 1 (q11), fn = 1 (q20) -> F1a = 6 / 8 = 0.75
    exact match: 1 of 3 questions.
    """
    gold = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    pred = np.array([1, 0, 1, 1, 1, 0, 0, 0])
    groups = {"paragraph": np.array([0, 0, 0, 0, 0, 1, 1, 1]),
              "question": np.array([10, 10, 10, 11, 11, 20, 20, 20])}
    return Items(gold, pred, 2, groups)


def test_multirc_by_hand():
    items = multirc_case()
    assert compute(["f1a", "em_question"], items) == {"f1a": 0.75, "em_question": 1 / 3}
    assert exact_match_per_question(items.gold, items.pred,
                                    question=items.groups["question"]) == 1 / 3


def test_record_normalisation_and_token_f1_by_hand():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("An apple, a pear and THE plum.") == "apple pear and plum"
    assert token_f1("the Eiffel Tower", "Eiffel Tower!") == 1.0
    # prediction "Tower" against gold "Eiffel Tower": precision 1, recall 1/2 -> F1 2/3
    assert token_f1("Tower", "Eiffel Tower") == pytest.approx(2 / 3, abs=1e-15)
    assert token_f1("Paris", "Eiffel Tower") == 0.0
    assert token_f1("the", "a") == 0.0   # both empty after normalisation: 0 (SQuAD v1.1)


def test_record_max_over_gold_answers_by_hand():
    answers = [("Barack Obama", "Obama"), ("Eiffel Tower",), ("U.S. Embassy", "Embassy")]
    predictions = ["Obama", "Tower", "France"]
    # query 1: EM with "Obama" -> 1, F1 1; query 2: F1 2/3, EM 0; query 3: 0, 0
    assert record_em(answers, predictions) == pytest.approx(1 / 3, abs=1e-15)
    assert record_f1(answers, predictions) == pytest.approx((1 + 2 / 3) / 3, abs=1e-15)
    items = Items(answers, predictions, groups={"query": np.array([7, 8, 9])})
    assert compute(["record_f1", "record_em"], items) == pytest.approx(
        {"record_f1": (1 + 2 / 3) / 3, "record_em": 1 / 3}, abs=1e-15)


def _official_record(answers, predictions):
    """ReCoRD's official evaluation (SQuAD v1.1's normalisation, token F1 and exact match,
    max over the gold answers), written out as that script does it, string by string."""
    import collections
    import re
    import string

    def normalize(s):
        s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
        return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())

    def f1(pred, gold):
        p, g = normalize(pred).split(), normalize(gold).split()
        same = sum((collections.Counter(p) & collections.Counter(g)).values())
        if same == 0:
            return 0.0
        precision, recall = same / len(p), same / len(g)
        return 2 * precision * recall / (precision + recall)

    f1s = [max(f1(pred, g) for g in golds)
           for golds, pred in zip(answers, predictions, strict=True)]
    ems = [max(float(normalize(pred) == normalize(g)) for g in golds)
           for golds, pred in zip(answers, predictions, strict=True)]
    return np.mean(f1s), np.mean(ems)


_WORDS = st.sampled_from(["the", "A", "an", "Obama", "obama.", "Tower", "Eiffel-Tower",
                          "U.S.", "US", "", " ", "!", "Paris", "paris"])
_TEXT = st.lists(_WORDS, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(_TEXT, min_size=1, max_size=3), _TEXT), min_size=1,
                max_size=12))
def test_record_metrics_equal_the_official_scripts_on_any_texts(queries):
    """Repeated answers and predictions (which our scorer normalises once) included."""
    answers = [golds for golds, _ in queries]
    predictions = [pred for _, pred in queries]
    want_f1, want_em = _official_record(answers, predictions)
    assert record_f1(answers, predictions) == pytest.approx(want_f1, abs=1e-15)
    assert record_em(answers, predictions) == pytest.approx(want_em, abs=1e-15)


def test_ax_g_gender_parity_and_accuracy_by_hand():
    # pairs (0,1) same, (2,3) differ, (4,5) same, (6,7) same -> parity 3/4
    gold = np.array([0, 0, 1, 1, 1, 1, 0, 0])
    pred = np.array([0, 0, 1, 0, 1, 1, 1, 1])
    assert gender_parity(pred) == 0.75
    items = Items(gold, pred, 2, {"pair": np.arange(8) // 2})
    assert compute(["gender_parity", "accuracy"], items) == {"gender_parity": 0.75,
                                                             "accuracy": 5 / 8}
    with pytest.raises(ValueError, match="7 rows cannot form minimal pairs"):
        gender_parity(pred[:7])


def test_cb_macro_f1_by_hand():
    # classes 0, 1, 2; class 2 never predicted: F1 0 / class 0: 2*2/(4+1+0)=0.8 / class 1:
    # tp 1, fp 1, fn 0 -> 2/3; class 2: tp 0, fn 1 -> 0
    gold, pred = [0, 0, 1, 2], [0, 0, 1, 1]
    assert f1_macro(gold, pred, n_classes=3) == pytest.approx((1 + 2 / 3 + 0) / 3, abs=1e-15)


# ---- scikit-learn as the oracle --------------------------------------------------------------

SKLEARN = {
    "accuracy": skm.accuracy_score,
    "f1": skm.f1_score,
    "f1a": skm.f1_score,
    "f1_macro": lambda t, p: skm.f1_score(t, p, average="macro"),
    "mcc": skm.matthews_corrcoef,
}

# (n, class shares) of SuperGLUE sets: BoolQ, CB, COPA, MultiRC options, AX-b, WiC.
SHAPES = [(3270, [0.38, 0.62]), (56, [0.41, 0.5, 0.09]), (100, [0.45, 0.55]),
          (4848, [0.57, 0.43]), (1104, [0.42, 0.58]), (638, [0.5, 0.5])]


def systems(gold: np.ndarray, k: int, rng) -> dict[str, np.ndarray]:
    """Several prediction systems: random, majority, a noisy copy, an inverted one."""
    noisy = np.where(rng.random(len(gold)) < 0.3, rng.integers(0, k, len(gold)), gold)
    return {"random": rng.integers(0, k, len(gold)),
            "majority": np.full(len(gold), np.bincount(gold, minlength=k).argmax()),
            "noisy": noisy, "inverted": (gold + 1) % k}


@pytest.mark.parametrize(("n", "shares"), SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_metrics_equal_sklearn_on_synthetic_sets(n, shares, seed):
    rng = np.random.default_rng(seed)
    k = len(shares)
    gold = rng.choice(k, size=n, p=shares)
    for name, pred in systems(gold, k, rng).items():
        for metric, oracle in SKLEARN.items():
            if get_metric(metric).n_classes not in (None, k):
                continue
            ours = get_metric(metric).value(Items(gold, pred, k))
            assert ours == pytest.approx(oracle(gold, pred), abs=1e-12), (metric, name)


def real_root() -> Path | None:
    candidates = suite_data_roots()
    for c in filter(None, candidates):
        for path in (Path(c), Path(c).parent):
            if (path / "superglue" / "CB" / "val.jsonl").is_file():
                return path
    if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
        pytest.fail("real data not found, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
    return None


@pytest.mark.parametrize(("task", "names"), [("BoolQ", ["accuracy"]),
                                             ("CB", ["accuracy", "f1_macro"]),
                                             ("MultiRC", ["f1a", "accuracy"]),
                                             ("AX-b", ["mcc", "accuracy"]),
                                             ("WiC", ["accuracy", "f1", "mcc"])])
def test_flat_metrics_equal_sklearn_on_real_val_labels(task, names):
    from gluebench.benchmark.split_reader import load_split
    from gluebench.benchmark.suite_loader import load_suite

    root = real_root()
    if root is None:
        pytest.skip("real data not found at ../shared/data")
    suite = load_suite("superglue")
    spec = suite.tasks[task]
    table = load_split(suite, spec, suite.entries[task].dev, root)
    for name, pred in systems(table.labels, spec.n_classes, np.random.default_rng(0)).items():
        items = Items(table.labels, pred, spec.n_classes, table.groups)
        for metric in names:
            assert get_metric(metric).value(items) == pytest.approx(
                SKLEARN[metric](table.labels, pred), abs=1e-12), (task, metric, name)


def test_multirc_exact_match_equals_lm_eval_on_real_val():
    from lm_eval.api.metrics import acc_all

    from gluebench.benchmark.split_reader import load_split
    from gluebench.benchmark.suite_loader import load_suite

    root = real_root()
    if root is None:
        pytest.skip("real data not found at ../shared/data")
    suite = load_suite("superglue")
    table = load_split(suite, suite.tasks["MultiRC"], "dev", root)
    for name, pred in systems(table.labels, 2, np.random.default_rng(1)).items():
        docs = [{"idx": {"paragraph": int(p), "question": int(q)}, "label": int(g)}
                for p, q, g in zip(table.groups["paragraph"], table.groups["question"],
                                   table.labels, strict=True)]
        oracle = acc_all(list(zip(pred.astype(bool).tolist(), docs, strict=True)))
        ours = get_metric("em_question").value(Items(table.labels, pred, 2, table.groups))
        assert ours == pytest.approx(oracle, abs=1e-12), name


# ---- every metric: invariances, degenerate cases, bad input -----------------------------------

def sample(metric: str, rng, n: int = 60) -> Items:
    m = get_metric(metric)
    groups = {"question": np.repeat(np.arange(n // 4), 4), "query": np.arange(n),
              "pair": np.arange(n) // 2}
    if m.target == "entity":
        words = ["Paris", "the Eiffel Tower", "Obama", "France", "U.S. Embassy"]
        gold = [tuple(rng.choice(words, size=rng.integers(1, 3))) for _ in range(n)]
        return Items(gold, [str(rng.choice(words)) for _ in range(n)], groups=groups)
    if m.target == "score":
        gold = rng.uniform(0, 5, n)
        return Items(gold, gold + rng.normal(0, 1, n))
    k = m.n_classes or 3
    return Items(rng.integers(0, k, n), rng.integers(0, k, n), k, groups)


def permuted(items: Items, order: np.ndarray) -> Items:
    pick = (lambda v: [v[i] for i in order]) if isinstance(items.gold, list) \
        else (lambda v: np.asarray(v)[order])
    return Items(pick(items.gold), pick(items.pred), items.n_classes,
                 {k: np.asarray(v)[order] for k, v in items.groups.items()})


@pytest.mark.parametrize("metric", list(METRICS))
def test_every_metric_is_invariant_to_row_order_and_container(metric):
    rng = np.random.default_rng(7)
    items = sample(metric, rng)
    value = get_metric(metric).value(items)
    # pairs must stay consecutive: permute whole groups of the metric's unit
    unit = get_metric(metric).unit
    units = np.arange(len(items)) if unit == "example" else np.asarray(items.groups[unit])
    order = np.concatenate([np.flatnonzero(units == u) for u in rng.permutation(np.unique(units))])
    assert get_metric(metric).value(permuted(items, order)) == pytest.approx(value, abs=1e-12)
    as_lists = Items(list(items.gold), list(items.pred), items.n_classes, items.groups)
    assert get_metric(metric).value(as_lists) == pytest.approx(value, abs=1e-12)


def test_degenerate_cases_have_defined_values():
    zeros = np.zeros(10, dtype=np.int64)
    assert get_metric("f1").value(Items(zeros, zeros)) == 0.0      # no positives anywhere
    assert get_metric("mcc").value(Items(zeros, zeros)) == 0.0     # constant marginals
    assert get_metric("f1_macro").value(Items(zeros, zeros, 3)) == 1.0  # one class, all right


@pytest.mark.parametrize(("gold", "pred", "k", "expected"), [
    ([0, 1], [0, 2], 2, r"accuracy: y_pred\[1\] = 2 is outside the label set; expected ids 0..1"),
    ([0, -1], [0, 1], 2, r"y_true\[1\] = -1 is outside the label set"),
    ([0, 1], [0.0, 1.5], 2, r"y_pred must be integer class ids, got values of type float64"),
    ([0, 1], [0], 2, r"2 gold values but 1 predictions"),
])
def test_bad_class_ids_are_errors_never_casts(gold, pred, k, expected):
    with pytest.raises(ValueError, match=expected):
        get_metric("accuracy").value(Items(np.asarray(gold), np.asarray(pred), k))


def test_label_count_and_unknown_names():
    with pytest.raises(ValueError, match="r3 is defined for 3 classes; the task has 2"):
        get_metric("r3").value(Items(np.array([0, 1]), np.array([0, 1]), 2))
    with pytest.raises(UsageError, match="unknown metric 'f1_macr'. Did you mean 'f1_macro'"):
        get_metric("f1_macr")
    with pytest.raises(UsageError, match="needs group ids 'question'"):
        get_metric("em_question").value(Items(np.array([0, 1]), np.array([0, 1])))
