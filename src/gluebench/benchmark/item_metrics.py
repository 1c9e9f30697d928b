"""Metrics over items that are not single examples: answer options, questions, queries, pairs.

Each is a plain function, ``y_true`` first, options keyword-only, returning a float, and
each is the mean (or a confusion-matrix function) of per-item values, which is what lets
``grouped_stats`` resample the unit a metric is defined over:

* MultiRC: ``f1a`` is binary F1 over all answer options; ``exact_match_per_question`` is
  the share of questions whose answer options are all predicted correctly.
* ReCoRD: a prediction is an entity's text; per query, the maximum over the gold answers
  of SQuAD v1.1's token F1 and exact match after ``normalize_answer`` (both 0 when the
  normalised prediction or answer is empty, as in the official ReCoRD script).
* AX-g: ``gender_parity`` is the share of minimal pairs (rows 2k and 2k + 1 of the gold
  file) whose two predictions are identical.
* CB: ``f1_macro`` is the unweighted mean of per-class F1 over the classes present in
  the gold or the predicted labels (scikit-learn's ``average="macro"``).

>>> normalize_answer("The  Eiffel-Tower!")
'eiffeltower'
>>> exact_match_per_question([1, 0, 1, 1], [1, 0, 0, 1], question=[7, 7, 8, 8])
0.5
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

from gluebench.benchmark.metrics import confusion

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


# ---- ReCoRD: SQuAD-normalised token F1 and exact match, max over the gold answers ------------

def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles (a, an, the), single spaces (SQuAD v1.1)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """F1 of the normalised tokens of ``prediction`` against one gold answer."""
    return _counts_f1(Counter(normalize_answer(prediction).split()),
                      Counter(normalize_answer(gold).split()))


def _counts_f1(pred_counts: Counter, gold_counts: Counter) -> float:
    same = sum((pred_counts & gold_counts).values())
    if same == 0:
        return 0.0
    precision, recall = same / pred_counts.total(), same / gold_counts.total()
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when ``prediction`` and ``gold`` are equal after normalisation."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def record_item_values(answers: Sequence[Sequence[str]], predictions: Sequence[str]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(token F1, exact match) of each query: the best over its gold answers. Each distinct
    text is normalised once (answers and predicted entities repeat across queries)."""
    if len(answers) != len(predictions):
        raise ValueError(f"{len(answers)} queries with gold answers but "
                         f"{len(predictions)} predictions")
    normalised: dict[str, tuple[str, Counter]] = {}

    def tokens(text: str) -> tuple[str, Counter]:
        if text not in normalised:
            norm = normalize_answer(text)
            normalised[text] = (norm, Counter(norm.split()))
        return normalised[text]

    f1s, ems = np.empty(len(answers)), np.empty(len(answers))
    for i, (golds, pred) in enumerate(zip(answers, predictions, strict=True)):
        if not isinstance(pred, str):
            raise ValueError(f"prediction {i} is {type(pred).__name__}; expected an "
                             "entity's text")
        if not golds:
            raise ValueError(f"query {i} has no gold answer; expected at least one")
        pred_norm, pred_counts = tokens(pred)
        f1s[i] = max(_counts_f1(pred_counts, tokens(g)[1]) for g in golds)
        ems[i] = max(float(pred_norm == tokens(g)[0]) for g in golds)
    return f1s, ems


def record_f1(answers: Sequence[Sequence[str]], predictions: Sequence[str]) -> float:
    """ReCoRD's F1: mean over queries of the best token F1 against any gold answer."""
    return float(np.mean(record_item_values(answers, predictions)[0]))


def record_em(answers: Sequence[Sequence[str]], predictions: Sequence[str]) -> float:
    """ReCoRD's exact match: share of queries whose prediction equals a gold answer."""
    return float(np.mean(record_item_values(answers, predictions)[1]))


# ---- grouped: every item of a group must agree ------------------------------------------

def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 0 where den is 0 (a metric's defined value in degenerate cases)."""
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)


def dense_groups(groups) -> np.ndarray:
    """Group ids (ints or strings) as 0..G-1, numbered in order of first appearance."""
    _, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inverse.ravel()]


def all_true_by_group(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(G,) whether every value of each dense group id 0..G-1 is true."""
    wrong = ~np.asarray(values, bool)
    return np.bincount(groups, weights=wrong, minlength=groups.max(initial=-1) + 1) == 0


def exact_match_per_question(y_true, y_pred, *, question) -> float:
    """MultiRC's EM: share of questions with every answer option predicted correctly."""
    correct = np.asarray(y_true) == np.asarray(y_pred)
    return float(np.mean(all_true_by_group(correct, dense_groups(question))))


def consecutive_pairs(n: int) -> np.ndarray:
    """Pair ids 0, 0, 1, 1, ...: rows 2k and 2k + 1 form minimal pair k (AX-g)."""
    if n % 2:
        raise ValueError(f"{n} rows cannot form minimal pairs (rows 2k, 2k+1); expected an "
                         "even number")
    return np.arange(n, dtype=np.int64) // 2


def same_within_groups(y_pred, groups: np.ndarray, *, size: int = 2) -> np.ndarray:
    """(G,) whether the predictions of each group (of exactly ``size`` rows) are identical."""
    y_pred = np.asarray(y_pred)
    counts = np.bincount(groups)
    if np.any(counts != size):
        bad = int(np.argmax(counts != size))
        raise ValueError(f"group {bad} has {counts[bad]} rows; expected {size} (a minimal pair)")
    order = np.argsort(groups, kind="stable")
    ordered = y_pred[order].reshape(-1, size)
    return np.all(ordered == ordered[:, :1], axis=1)


def gender_parity(y_pred, *, pair=None) -> float:
    """AX-g's gender parity: share of minimal pairs predicted identically.

    ``pair`` gives each row's pair id; by default rows 2k and 2k + 1 are pair k. It takes
    no gold labels: parity says whether the gender of the pronoun changed the prediction.
    """
    y_pred = np.asarray(y_pred)
    groups = consecutive_pairs(len(y_pred)) if pair is None else dense_groups(pair)
    return float(np.mean(same_within_groups(y_pred, groups)))


# ---- macro-F1 (CB) from confusion matrices -------------------------------------------------

def f1_macro_cm(cm: np.ndarray) -> np.ndarray:
    """Unweighted mean of per-class F1 over classes present in gold or prediction: (..., k, k)."""
    cm = np.asarray(cm, np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    errors = cm.sum(axis=-1) + cm.sum(axis=-2) - 2 * tp  # fn + fp per class
    present = (tp + errors) > 0
    per_class = ratio(2 * tp, 2 * tp + errors)
    return ratio((per_class * present).sum(axis=-1), present.sum(axis=-1))


def f1_macro(y_true, y_pred, *, n_classes: int | None = None) -> float:
    """Macro-F1 over the classes present (scikit-learn ``f1_score(average="macro")``)."""
    t, p = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    k = n_classes or int(max(t.max(initial=1), p.max(initial=1))) + 1
    return float(f1_macro_cm(confusion(t, p, k)))
