"""From a classifier's logits to what gluebench writes: predictions and class probabilities.

Shared by fine-tuning, evaluation, analysis and profiling, so that every path turns
logits into labels the same way (through the model-to-ours label permutation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gluebench.benchmark.tasks import Task


@dataclass
class Prediction:
    """A predictor's answer for some examples (see ``train.predictor``, ``probe.predictor``)."""

    values: np.ndarray   # class ids in our label order, or STS-B scores as written to files
    outputs: np.ndarray  # (n, k) probabilities in our label order, or raw STS-B scores


def predictions_from_logits(task: Task, logits: np.ndarray, perm: np.ndarray | None):
    """Class ids in our order (via the model-to-ours permutation), or STS-B scores in [0, 5]."""
    if task.labels is None:
        return np.clip(logits[:, 0].astype(np.float64), *task.score_range)
    ids = logits.argmax(axis=1)
    return ids if perm is None else perm[ids]


def model_outputs(task: Task, logits: np.ndarray, perm: np.ndarray | None) -> np.ndarray:
    """Class probabilities with columns in our label order, or STS-B's raw scores."""
    from scipy.special import softmax

    if task.labels is None:
        return logits[:, 0].astype(np.float64)
    probs = softmax(logits, axis=1)
    if perm is None:
        return probs
    ours = np.empty_like(probs)
    ours[:, perm] = probs       # the model's column i is our class perm[i]
    return ours
