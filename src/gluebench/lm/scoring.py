"""From per-choice scores to predictions: acc, acc_norm, STS-B, calibration, generations.

Definitions (lm-evaluation-harness's, where it has one):

* ``ll`` prediction: the choice with the highest log-likelihood (lm-eval's ``acc``);
  length-normalised: highest log-likelihood per character of the choice (``acc_norm``).
* probabilities: the softmax of the choices' log-likelihoods (columns in our label order).
* STS-B: the probability-weighted mean of the answers 0..5, clipped to [0, 5].
* contextual calibration (Zhao et al., 2021): p_cf = mean choice distribution for the
  content-free inputs "N/A", "" and "[MASK]"; calibrated p ∝ p / p_cf.
* ``generate``: the first word of the answer, matched case-insensitively to a choice (a
  number in [0, 5] for STS-B); anything else is unparseable — counted, never guessed.
"""

from __future__ import annotations

import re

import numpy as np

from gluebench.lm.templates import Template
from gluebench.tasks import STSB_RANGE, Task

CONTENT_FREE = ("N/A", "", "[MASK]")
STSB_ANSWERS = np.arange(6, dtype=np.float64)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def probabilities(scores: np.ndarray) -> np.ndarray:
    """(n, k) choice log-scores -> (n, k) probabilities over the choices."""
    from scipy.special import softmax

    scores = np.asarray(scores, dtype=np.float64)
    rows_ok = np.isfinite(scores).any(axis=1, keepdims=True)
    safe = np.where(rows_ok, scores, 0.0)   # a row of -inf (nothing in top-k): uniform
    return softmax(safe, axis=1)


def values_from_probabilities(task: Task, probs: np.ndarray) -> np.ndarray:
    """Class ids (argmax), or STS-B's expected score."""
    if task.is_regression:
        return np.clip(probs @ STSB_ANSWERS, *STSB_RANGE)
    return probs.argmax(axis=1)


def length_normalised(template: Template, scores: np.ndarray) -> np.ndarray:
    """lm-eval's acc_norm prediction: log-likelihood per character of each choice."""
    lengths = np.array([float(len(c)) for c in template.choices])
    return (np.asarray(scores) / lengths).argmax(axis=1)


def calibrate(probs: np.ndarray, content_free: np.ndarray) -> np.ndarray:
    """Zhao et al.'s contextual calibration: divide by the content-free distribution."""
    scaled = probs / np.asarray(content_free)[None, :]
    return scaled / scaled.sum(axis=1, keepdims=True)


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
        return value if STSB_RANGE[0] <= value <= STSB_RANGE[1] else None
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
