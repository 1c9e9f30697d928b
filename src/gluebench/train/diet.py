"""Data diets: train on a share of the training examples, chosen by a per-example score.

``el2n`` and ``forgetting`` keep the examples with the highest scores (the hard and the
often-forgotten ones; Paul et al. 2021, Toneva et al. 2019), with ties broken at random;
``random`` keeps a seeded random subset of the same size: the control that shows whether
the score chose better than chance. Scores come from a file that ``gluebench study
data-diet`` writes (official index and score per example).

``DataDietSettings`` are the study's knobs; its hook is a data transform (``train.hooks``):
the loop trains on the kept examples only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.errors import UsageError
from gluebench.train.hooks import TrainingHooks, Unit

DIET_STREAM = 11   # a random stream of its own (see Examples.split_off)
DietScore = Literal["el2n", "forgetting", "random"]


@dataclass(frozen=True)
class DataDietSettings:
    """A data diet (``gluebench study data-diet``): train on a scored share of the data."""

    name: ClassVar[str] = "data-diet"
    record_defaults: ClassVar[bool] = True   # once TrainConfig fields: every run records them

    keep_fraction: float | None = field(default=None, metadata={
        "help": "train on this share of the training examples, chosen by diet_score "
                "(data diet)"})
    diet_score: DietScore | None = field(default=None, metadata={
        "help": "how the kept examples are chosen: the highest el2n or forgetting scores "
                "(from diet_scores_file), or a seeded random subset"})
    diet_scores_file: str | None = field(default=None, metadata={
        "help": "an .npz of per-example scores (index, score) written by gluebench study "
                "data-diet"})

    def check(self) -> None:
        """A diet needs a fraction and a score (and a scores file unless random)."""
        if (self.keep_fraction is None) != (self.diet_score is None):
            raise UsageError("'keep_fraction' and 'diet_score' go together (a data diet "
                             "needs both)")
        if self.keep_fraction is not None and not 0 < self.keep_fraction <= 1:
            raise UsageError(f"'keep_fraction' must be in (0, 1], got {self.keep_fraction}")
        if self.diet_score in ("el2n", "forgetting") and not self.diet_scores_file:
            raise UsageError(f"diet_score '{self.diet_score}' needs 'diet_scores_file'")

    def hooks(self) -> TrainingHooks | None:
        return None if self.keep_fraction is None else DataDiet(self)


class DataDiet(TrainingHooks):
    """The data transform: the kept share of the training examples, in file order."""

    def __init__(self, settings: DataDietSettings):
        self.settings = settings

    def transform_data(self, examples: Examples, unit: Unit) -> Examples:
        return kept_examples(examples, self.settings, data_seed=unit.data_seed, seed=unit.seed)


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
    """The kept examples (file order) of a ``TrainConfig``'s diet, or all without one."""
    return kept_examples(examples, config.study(DataDietSettings), data_seed=config.data_seed,
                         seed=seed)


def kept_examples(examples: Examples, settings: DataDietSettings, *, data_seed: int,
                  seed: int) -> Examples:
    """The examples ``settings`` keep (file order), or all of them without a diet."""
    if settings.keep_fraction is None:
        return examples
    n_keep = kept_count(len(examples), settings.keep_fraction)
    rng = np.random.default_rng([data_seed, DIET_STREAM, seed])
    if settings.diet_score == "random":
        rows = rng.choice(len(examples), size=n_keep, replace=False)
    else:
        scores = scores_for(settings.diet_scores_file, examples)
        rows = np.lexsort((rng.random(len(examples)), -scores))[:n_keep]  # highest first
    return examples.take(np.sort(rows))
