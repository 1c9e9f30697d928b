"""Data diets: train on a share of the training examples, chosen by a per-example score.

``el2n`` and ``forgetting`` keep the examples with the highest scores (the hard and the
often-forgotten ones; Paul et al. 2021, Toneva et al. 2019), with ties broken at random;
``random`` keeps a seeded random subset of the same size: the control that shows whether
the score chose better than chance. Scores come from a file that ``gluebench study
data-diet`` writes (official index and score per example).
"""

from __future__ import annotations

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.errors import UsageError

DIET_STREAM = 11   # a random stream of its own (see Examples.split_off)


def kept_count(n: int, fraction: float) -> int:
    return min(n, max(1, round(fraction * n)))


def scores_for(path: str, examples: Examples) -> np.ndarray:
    """Each example's score from a scores file (``index``, ``score``), in the examples' order."""
    try:
        with np.load(path) as z:
            by_index = dict(zip(z["index"].tolist(), z["score"].tolist(), strict=True))
    except (OSError, KeyError) as exc:
        raise UsageError(f"diet_scores_file {path}: cannot read scores ({exc})") from None
    missing = [int(i) for i in examples.index if int(i) not in by_index]
    if missing:
        raise UsageError(f"diet_scores_file {path}: no score for training example "
                         f"{missing[0]} ({len(missing)} missing)")
    return np.array([by_index[int(i)] for i in examples.index], dtype=np.float64)


def diet_subset(examples: Examples, config, seed: int) -> Examples:
    """The kept examples (file order), or all of them when the config has no diet."""
    if config.keep_fraction is None:
        return examples
    n_keep = kept_count(len(examples), config.keep_fraction)
    rng = np.random.default_rng([config.data_seed, DIET_STREAM, seed])
    if config.diet_score == "random":
        rows = rng.choice(len(examples), size=n_keep, replace=False)
    else:
        scores = scores_for(config.diet_scores_file, examples)
        rows = np.lexsort((rng.random(len(examples)), -scores))[:n_keep]  # highest first
    return examples.take(np.sort(rows))
