"""The grouped bootstrap and paired test: exact sums, the right distribution, the right unit.

1. Sufficiency, exactly: for any cluster weights, ``finish(weights @ cluster stats)`` is the
   metric of the data set in which each cluster appears that many times (to 1e-12).
2. Distribution: merged-row multinomial draws match a naive loop that resamples cluster
   indices (moments and quantiles, Monte Carlo tolerance), and at the example unit they
   match ``gluebench.benchmark.stats``' intervals.
3. The unit: a metric's unit must nest in the resampling unit; on real MultiRC val with a
   system whose errors follow the passage, paragraph intervals are wider than question ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.grouped_stats import (
    cluster_stats,
    grouped_bootstrap_ci,
    grouped_paired_test,
    grouped_replicates,
)
from gluebench.benchmark.metric_registry import Items, compute, get_metric
from gluebench.benchmark.stats import bootstrap_ci, rng_for
from gluebench.errors import UsageError
from tests.conftest import suite_data_roots

REPO = Path(__file__).resolve().parents[1]


def multirc_like(rng, paragraphs: int = 40, skill: float = 0.7) -> Items:
    """Paragraphs of 2-6 questions of 2-5 options; a paragraph-level 'reading' effect."""
    gold, pred, para, quest = [], [], [], []
    q = 0
    for p in range(paragraphs):
        understood = rng.random() < skill   # errors correlate within a paragraph
        for _ in range(rng.integers(2, 7)):
            for _ in range(rng.integers(2, 6)):
                g = int(rng.random() < 0.45)
                wrong = rng.random() < (0.1 if understood else 0.45)
                gold.append(g)
                pred.append(1 - g if wrong else g)
                para.append(p)
                quest.append(q)
            q += 1
    return Items(np.array(gold), np.array(pred), 2,
                 {"paragraph": np.array(para), "question": np.array(quest)})


def repeated(items: Items, clusters: np.ndarray, weights: np.ndarray) -> Items:
    """The data set in which cluster c appears weights[c] times (ids renumbered per copy)."""
    rows, copy = [], []
    for c, w in enumerate(weights):
        members = np.flatnonzero(clusters == c)
        for k in range(w):
            rows.extend(members)
            copy.extend([k] * len(members))
    rows, copy = np.array(rows, dtype=np.int64), np.array(copy, dtype=np.int64)
    # a repeated question is a new question: offset group ids by the copy number
    groups = {k: np.asarray(v)[rows] * 1000 + copy for k, v in items.groups.items()}
    pick = (lambda v: [v[i] for i in rows]) if isinstance(items.gold, list) \
        else (lambda v: np.asarray(v)[rows])
    return Items(pick(items.gold), pick(items.pred), items.n_classes, groups)


@pytest.mark.parametrize(("names", "unit"), [(["f1a", "em_question"], "paragraph"),
                                             (["f1a", "em_question"], "question"),
                                             (["accuracy", "mcc", "f1_macro"], "example"),
                                             (["accuracy"], "paragraph")])
def test_weighted_cluster_sums_are_the_metric_of_the_resampled_data(names, unit):
    rng = np.random.default_rng(3)
    items = multirc_like(rng)
    metrics = [get_metric(n) for n in names]
    stats, columns = cluster_stats(metrics, items, unit)
    clusters = items.unit_ids(unit)
    for _ in range(5):
        weights = rng.multinomial(len(stats), np.full(len(stats), 1 / len(stats)))
        sums = weights @ stats
        expected = compute(names, repeated(items, clusters, weights))
        for m in metrics:
            assert float(m.finish(sums[columns[m.name]])) == pytest.approx(
                expected[m.name], abs=1e-12), m.name


def test_record_and_parity_sums_too():
    rng = np.random.default_rng(4)
    words = ["Paris", "the Eiffel Tower", "Obama", "U.S. Embassy"]
    gold = [tuple(rng.choice(words, size=2)) for _ in range(30)]
    items = Items(gold, [str(rng.choice(words)) for _ in range(30)],
                  groups={"query": np.arange(30)})
    stats, columns = cluster_stats([get_metric("record_f1")], items, "query")
    weights = rng.multinomial(30, np.full(30, 1 / 30))
    expected = compute(["record_f1"], repeated(items, items.unit_ids("query"), weights))
    assert float(get_metric("record_f1").finish(weights @ stats)) == pytest.approx(
        expected["record_f1"], abs=1e-12)
    pairs = Items(rng.integers(0, 2, 40), rng.integers(0, 2, 40), 2,
                  {"pair": np.arange(40) // 2})
    stats, _ = cluster_stats([get_metric("gender_parity")], pairs, "pair")
    weights = rng.multinomial(20, np.full(20, 1 / 20))
    resampled = repeated(pairs, np.arange(40) // 2, weights)
    assert float(get_metric("gender_parity").finish(weights @ stats)) == pytest.approx(
        compute(["gender_parity"], resampled)["gender_parity"], abs=1e-12)


def naive_replicates(names, items: Items, unit: str, n: int, rng) -> dict[str, np.ndarray]:
    """Resample cluster indices in a Python loop and recompute each metric from scratch."""
    clusters = items.unit_ids(unit)
    count = clusters.max() + 1
    out = {name: [] for name in names}
    for _ in range(n):
        weights = np.bincount(rng.integers(0, count, count), minlength=count)
        values = compute(names, repeated(items, clusters, weights))
        for name in names:
            out[name].append(values[name])
    return {k: np.array(v) for k, v in out.items()}


def test_grouped_bootstrap_has_the_distribution_of_resampled_clusters():
    items = multirc_like(np.random.default_rng(5), paragraphs=25)
    names = ["f1a", "em_question"]
    fast = grouped_replicates(names, items, resample="paragraph", n_resamples=20000,
                              rng=np.random.default_rng(6))
    slow = naive_replicates(names, items, "paragraph", 1500, np.random.default_rng(7))
    for name in names:
        # standard errors of the mean and sd estimates from 1500 naive draws are ~2.6% of sd
        sd = slow[name].std()
        assert abs(fast[name].mean() - slow[name].mean()) < 0.1 * sd, name
        assert fast[name].std() == pytest.approx(sd, rel=0.1), name
        assert np.quantile(fast[name], 0.025) == pytest.approx(np.quantile(slow[name], 0.025),
                                                               abs=0.3 * sd)


def test_at_the_example_unit_the_intervals_are_those_of_gluebench_stats():
    rng = np.random.default_rng(8)
    gold = rng.choice(3, size=277, p=[0.5, 0.3, 0.2])
    pred = np.where(rng.random(277) < 0.3, rng.integers(0, 3, 277), gold)
    ours = grouped_bootstrap_ci(["accuracy", "mcc"], Items(gold, pred, 3), n_resamples=40000)
    theirs = bootstrap_ci(("accuracy", "mcc"), gold, pred, n_resamples=40000)
    for key in ("accuracy", "mcc", "score"):
        scale = 100.0 if key == "score" else 1.0
        assert ours[key] == pytest.approx(theirs[key], abs=0.005 * scale), key


def test_a_unit_must_nest_in_the_resampling_unit():
    items = multirc_like(np.random.default_rng(9))
    items.groups["question"][3] = items.groups["question"][-1]  # a question in two paragraphs
    with pytest.raises(UsageError, match=r"em_question: a question spans two paragraph groups"):
        grouped_bootstrap_ci(["em_question"], items, resample="paragraph")
    with pytest.raises(UsageError, match="resample examples only"):
        grouped_bootstrap_ci(["pearson"], Items(np.arange(5.0), np.arange(5.0)),
                             resample="question")


def test_same_seed_same_interval_and_seeded_per_entry_name():
    items = multirc_like(np.random.default_rng(10))
    a = grouped_bootstrap_ci(["f1a"], items, resample="paragraph", seed=1, name="MultiRC")
    assert a == grouped_bootstrap_ci(["f1a"], items, resample="paragraph", seed=1,
                                     name="MultiRC")
    assert a != grouped_bootstrap_ci(["f1a"], items, resample="paragraph", seed=2,
                                     name="MultiRC")
    assert rng_for(1, "MultiRC").random() != rng_for(1, "ReCoRD").random()


def test_paired_test_identical_systems_and_a_clearly_better_one():
    items = multirc_like(np.random.default_rng(11), paragraphs=60)
    same = grouped_paired_test(["f1a", "em_question"], items, items, resample="paragraph",
                               n_resamples=2000)
    for result in same.values():
        assert result.diff == 0.0 and result.p_value == 1.0 and result.ci == [0.0, 0.0]
    perfect = Items(items.gold, items.gold.copy(), 2, items.groups)
    better = grouped_paired_test(["f1a", "em_question"], perfect, items, resample="paragraph",
                                 n_resamples=2000)
    assert better["score"].diff > 0 and better["score"].p_value == pytest.approx(1 / 2001)
    assert better["score"].ci[0] <= better["score"].diff <= better["score"].ci[1]
    assert better["em_question"].a == 1.0
    with pytest.raises(UsageError, match="same gold items"):
        grouped_paired_test(["f1a"], items, Items(items.gold[:-1], items.pred[:-1], 2,
                                                  {k: v[:-1] for k, v in items.groups.items()}))


def test_paired_test_on_correlations_resamples_examples():
    rng = np.random.default_rng(12)
    gold = rng.uniform(0, 5, 300)
    a = Items(gold, gold + rng.normal(0, 0.5, 300))
    b = Items(gold, gold + rng.normal(0, 2.0, 300))
    result = grouped_paired_test(["pearson", "spearman"], a, b, n_resamples=1000)
    assert result["pearson"].diff > 0 and result["score"].p_value < 0.01
    assert grouped_paired_test(["pearson"], a, a, n_resamples=200)["pearson"].p_value == 1.0


def real_multirc() -> tuple[Items, list[str], list[str]] | None:
    from gluebench.benchmark.split_reader import load_split
    from gluebench.benchmark.suite_loader import load_suite

    candidates = suite_data_roots()
    for c in filter(None, candidates):
        for root in (Path(c), Path(c).parent):
            if (root / "superglue" / "MultiRC" / "val.jsonl").is_file():
                suite = load_suite("superglue")
                table = load_split(suite, suite.tasks["MultiRC"], "dev", root)
                return table, table.inputs["paragraph"], table.inputs["answer"]
    if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
        pytest.fail("real data not found, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
    return None


def test_multirc_paragraph_intervals_are_wider_than_question_intervals_on_real_val():
    found = real_multirc()
    if found is None:
        pytest.skip("real data not found at ../shared/data")
    table, paragraphs, answers = found
    # A lexical-overlap system: "true" when most of the answer's words occur in the passage.
    # Its errors depend on the passage (paraphrased passages fool it throughout).
    pred = np.array([np.mean([w in set(p.lower().split()) for w in a.lower().split()] or [0])
                     >= 0.5 for p, a in zip(paragraphs, answers, strict=True)], dtype=np.int64)
    items = Items(table.labels, pred, 2, table.groups)
    width = {unit: np.diff(grouped_bootstrap_ci(["f1a", "em_question"], items, resample=unit,
                                                n_resamples=4000)["score"])[0]
             for unit in ("paragraph", "question")}
    assert width["paragraph"] > 1.1 * width["question"], width
