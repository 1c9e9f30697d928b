"""From per-choice scores to predictions: acc, acc_norm, STS-B, calibration, generations.

Definitions (lm-evaluation-harness's, where it has one):

* ``ll`` prediction: the choice with the highest log-likelihood (lm-eval's ``acc``);
  length-normalised: highest log-likelihood per character of the choice (``acc_norm``).
* probabilities: the softmax of the choices' log-likelihoods (columns in our label order).
* STS-B: the probability-weighted mean of the answers 0..5, clipped to [0, 5].
* contextual calibration (Zhao et al., 2021): p_cf = mean choice distribution for the
  content-free inputs "N/A", "" and "[MASK]"; calibrated p ∝ p / p_cf. Computed in log
  space (log p - log p_cf, then log-softmax), so nothing underflows or divides by zero.
  With ``first_token`` a choice in none of the content-free inputs' top-k has log p_cf =
  -inf: its content-free probability is unknown (somewhere below the k-th), and the
  division is undefined, so calibration is reported as undefined (with the reason) rather
  than guessed; ``ll`` log-likelihoods are always finite, so p_cf > 0 there.
* a score must be a number a model can give: finite, or -inf for "not in the top-k" with
  ``first_token``; NaN or +inf is an error naming the request and the choice.
* ``generate``: the first word of the answer, matched case-insensitively to a choice (a
  number in [0, 5] for STS-B); anything else is unparseable — counted, never guessed.
"""

from __future__ import annotations

import re

import numpy as np

from gluebench.benchmark.tasks import Task
from gluebench.errors import GlueBenchError
from gluebench.lm.requests import Request
from gluebench.lm.templates import Template

CONTENT_FREE = ("N/A", "", "[MASK]")
STSB_ANSWERS = np.arange(6, dtype=np.float64)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def check_scores(requests: list[Request], scores: np.ndarray, *, unseen_ok: bool) -> None:
    """One error for the first score no model gives: NaN, +inf, or -inf where it cannot mean
    "not among the top-k" (``unseen_ok``: first_token); it names the request and choice."""
    scores = np.asarray(scores, dtype=np.float64)
    bad = np.isnan(scores) | np.isposinf(scores)
    if not unseen_ok:
        bad |= np.isneginf(scores)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise GlueBenchError(f"{requests[i].choice_name(j)}: the model gave the log-probability "
                             f"{scores[i, j]}; expected a finite number (is the model or the "
                             "server broken?)")


def log_probabilities(scores: np.ndarray) -> np.ndarray:
    """(n, k) choice log-scores -> (n, k) log-probabilities over the choices (log-softmax).

    A row where no choice has a finite score (first_token: none in the top-k) says nothing
    about the choices: uniform.
    """
    from scipy.special import log_softmax

    scores = np.asarray(scores, dtype=np.float64)
    rows_ok = np.isfinite(scores).any(axis=1, keepdims=True)
    return log_softmax(np.where(rows_ok, scores, 0.0), axis=1)


def probabilities(scores: np.ndarray) -> np.ndarray:
    """(n, k) choice log-scores -> (n, k) probabilities over the choices."""
    return np.exp(log_probabilities(scores))


def values_from_probabilities(task: Task, probs: np.ndarray) -> np.ndarray:
    """Class ids (argmax), or STS-B's expected score."""
    if task.is_regression:
        return np.clip(probs @ STSB_ANSWERS, *task.score_range)
    return probs.argmax(axis=1)


def length_normalised(template: Template, scores: np.ndarray) -> np.ndarray:
    """lm-eval's acc_norm prediction: log-likelihood per character of each choice."""
    lengths = np.array([float(len(c)) for c in template.choices])
    return (np.asarray(scores) / lengths).argmax(axis=1)


def content_free_log(scores: np.ndarray) -> np.ndarray:
    """log p_cf: the log of the mean choice distribution over content-free inputs' (n, k)
    scores, as (k,); -inf where no content-free input gave a choice any probability."""
    from scipy.special import logsumexp

    log_probs = log_probabilities(scores)
    with np.errstate(divide="ignore"):     # an all -inf column is -inf, as it should be
        return logsumexp(log_probs, axis=0) - np.log(len(log_probs))


def calibrate_log(log_probs: np.ndarray, log_content_free: np.ndarray) -> np.ndarray:
    """Zhao et al.'s contextual calibration in log space: log p - log p_cf, renormalised.

    Defined only where every p_cf > 0 (check ``np.isfinite(log_content_free)`` first).
    """
    log_content_free = np.asarray(log_content_free, dtype=np.float64)
    if not np.isfinite(log_content_free).all():
        raise ValueError("contextual calibration divides by every choice's content-free "
                         "probability; one is zero")
    from scipy.special import log_softmax

    return log_softmax(np.asarray(log_probs, dtype=np.float64) - log_content_free[None, :],
                       axis=1)


def calibrate(probs: np.ndarray, content_free: np.ndarray) -> np.ndarray:
    """Zhao et al.'s contextual calibration: p / p_cf renormalised (via ``calibrate_log``)."""
    with np.errstate(divide="ignore"):     # a zero probability is log -inf, exactly
        return np.exp(calibrate_log(np.log(probs), np.log(content_free)))


def content_free_inputs(task: Task) -> list[dict[str, str]]:
    """Every input field set to each content-free string."""
    return [{f: text for f in task.input_fields} for text in CONTENT_FREE]


def parse_answer(task: Task, template: Template, text: str) -> int | float | None:
    """A generated answer as a class id (or an STS-B score); None when it does not parse."""
    text = text.strip()
    if task.is_regression:
        match = NUMBER.match(text)
        if match is None:
            return None
        value = float(match.group())
        low, high = task.score_range
        return value if low <= value <= high else None
    words = re.findall(r"[\w'-]+", text.lower())
    if not words:
        return None
    choices = [c.lower() for c in template.choices]
    return choices.index(words[0]) if words[0] in choices else None


def parsed_outputs(task: Task, answers: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, one-hot outputs, parsed mask) for generated answers.

    An unparseable answer is written as the first label (every example needs a row in a
    prediction file) and flagged in the mask; results report how many there were and the
    score on the parsed ones.
    """
    parsed = np.array([a is not None for a in answers], dtype=bool)
    if task.is_regression:
        values = np.array([a if a is not None else 0.0 for a in answers], dtype=np.float64)
        return values, values.copy(), parsed
    k = len(task.labels)
    values = np.array([a if a is not None else 0 for a in answers], dtype=np.int64)
    outputs = np.where(parsed[:, None], np.eye(k)[values], 1.0 / k)
    return values, outputs, parsed
