"""Scoring a stored submission with the code of ``gluebench score`` (worker processes only).

This is the one module of the server that reads gold labels; ``worker`` is its only user.
"""

from __future__ import annotations

from gluebench.benchmark.examples import DataSource, Examples
from gluebench.benchmark.gold_labels import has_gold, load_gold
from gluebench.benchmark.predictions import Predictions
from gluebench.benchmark.scoring import align, glue_score, score_entry, scored_results
from gluebench.benchmark.submission import inspect_submission
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.server.packing import unpack


class SubmissionProblem(Exception):
    """The stored zip does not pass the validator (it did at upload: a changed validator)."""


class Gold:
    """The gold labels of one split, loaded once per worker process."""

    def __init__(self, source: DataSource, split: str, data_dir: str | None = None):
        self.source, self.split, self.data_dir = source, split, data_dir
        self._cache: dict[str, Examples | None] = {}

    def preload(self) -> None:
        for entry in BENCHMARKS:
            self.get(entry)

    def get(self, entry: str) -> Examples | None:
        """The labelled examples of ``entry``, or None when the host holds no labels."""
        if entry not in self._cache:
            b = BENCHMARKS[entry]
            held = has_gold(self.source, b, self.split)
            self._cache[entry] = load_gold(self.source, b, self.split) if held else None
        return self._cache[entry]


def parse(data: bytes, split: str) -> dict[str, Predictions]:
    check = inspect_submission(data, split=split, label="submission")
    if check.problems:
        raise SubmissionProblem("; ".join(check.problems[:5]))
    return check.predictions


def stored_predictions(sub) -> dict[str, Predictions]:
    """A submission's predictions: packed at upload, or parsed from its zip."""
    if sub.predictions is not None:
        return unpack(sub.predictions, f"submission {sub.id}")
    return parse(sub.zip_data, sub.split)


def score(predictions: dict[str, Predictions], gold: Gold, *, n_resamples: int,
          label: str = "submission") -> dict:
    """The results JSON of ``gluebench score`` for parsed predictions, plus ``not_scored``."""
    tasks, not_scored = {}, []
    for entry in (name for name in BENCHMARKS if name in predictions):
        preds = predictions[entry]
        examples = gold.get(entry)
        if examples is None:
            not_scored.append(entry)
            continue
        tasks[entry] = score_entry(BENCHMARKS[entry], examples, align(examples, preds),
                                   n_resamples=n_resamples)
    results = scored_results(f"the host's {gold.split} labels", label, tasks,
                             split=gold.split, n_resamples=n_resamples)
    results["not_scored"] = not_scored
    return results


def summary(results: dict) -> dict:
    """What a leaderboard row needs: each entry's score and metrics (no CIs, no categories)."""
    tasks = {name: {k: v for k, v in t.items() if k not in ("ci", "categories")}
             for name, t in results["tasks"].items()}
    return {"tasks": tasks, **glue_score(tasks), "not_scored": results.get("not_scored", [])}


def headline(results: dict) -> float | None:
    """The ranking score: the GLUE score, else the partial average over the scored tasks."""
    value = results.get("glue_score")
    return value if value is not None else results.get("partial_average")
