"""``Results``: what ``gluebench.evaluate`` and ``gluebench.score`` return.

It wraps the document ``gluebench score --json`` writes (built by the same functions), the
folder of prediction files it was scored from, and, for a run directory with several seeds,
each seed's results and a seed-aware summary.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from gluebench.benchmark.suite import Suite
from gluebench.errors import UsageError


@dataclass
class Results:
    """Scores of one system on one split, with the prediction files behind them.

    Attributes:
        document: The ``score --json`` document (``None`` for test predictions, which have
            no public labels to score against).
        predictions: The folder of prediction files (submission-named, the suite's format).
        split: ``"dev"`` or ``"test"``.
        suite: The suite definition, or ``None`` for GLUE (scored by ``benchmark/tasks.py``).
        data_dir: Where the suite's data was read (needed to check a suite's submission).
        per_seed: For a run directory with several seeds: each seed's ``Results``.
        seed_summary: For several seeds: per entry and metric, the mean over seeds, its sd
            and a seed-aware CI (``benchmark.seed_stats.seed_interval``).
    """

    document: dict | None
    predictions: Path
    split: str = "dev"
    suite: Suite | None = None
    data_dir: str | None = None
    per_seed: dict[str, Results] = field(default_factory=dict)
    seed_summary: dict[str, dict] = field(default_factory=dict)
    keep: object = field(default=None, repr=False)   # a TemporaryDirectory kept alive

    @property
    def scored(self) -> dict:
        """The scored document; a UsageError for test predictions."""
        if self.document is None:
            raise UsageError(f"these are {self.split} predictions: their labels are hidden, so "
                             "there are no scores; call .submission(path) to build the zip")
        return self.document

    @property
    def tasks(self) -> dict[str, dict]:
        """Per entry: each metric (a fraction), ``score`` (x100), ``n`` and ``ci`` per metric."""
        return self.scored["tasks"]

    @property
    def score(self) -> float | None:
        """The suite score (x100; GLUE: the GLUE score), ``None`` unless every entry is there."""
        return self.scored[self.aggregate_name]

    @property
    def partial_average(self) -> float | None:
        """With entries missing: the average over the groups present (never the suite score)."""
        return self.scored["partial_average"]

    @property
    def aggregate_name(self) -> str:
        """The results key of the suite score: ``glue_score``, ``superglue_score``, ..."""
        return "glue_score" if self.suite is None else self.suite.aggregate.name

    def table(self):
        """A rich ``Table`` of every metric with its CI, as ``gluebench score`` prints it."""
        if self.suite is None:
            from gluebench.console import score_tables  # deferred: loads rich

            return score_tables.details(self.scored)
        from gluebench.console import suite_tables  # deferred: loads rich

        return suite_tables.details(self.suite, self.scored)

    def to_json(self) -> str:
        """The ``score --json`` document as text, byte for byte what the CLI writes."""
        return json.dumps(self.scored, indent=2) + "\n"

    def to_pandas(self):
        """One row per entry: each metric, its CI bounds, the score and ``n``.

        Raises:
            UsageError: pandas is not installed.
        """
        try:
            import pandas as pd  # deferred: optional and heavy
        except ImportError:
            raise UsageError("Results.to_pandas() needs pandas: pip install pandas; "
                             "Results.tasks holds the same numbers as plain dicts") from None
        rows = [_row(name, r) for name, r in self.tasks.items()]
        return pd.DataFrame(rows).set_index("entry")

    def submission(self, path: str | os.PathLike, *, fill_missing: bool = False) -> Path:
        """Write the official submission zip of these test predictions to ``path``.

        Args:
            path: The zip to write (atomically).
            fill_missing: GLUE only: fill absent entries with a constant prediction (a
                partial submission), as ``gluebench submission --fill-missing``.

        Raises:
            UsageError: these are not test predictions.
            DataError: a prediction file is missing or malformed (nothing is written).
        """
        if self.split != "test":
            raise UsageError(f"these are {self.split} predictions; a submission needs test "
                             "predictions: evaluate(..., split='test')")
        if self.suite is None:
            from gluebench.benchmark.submission import build_submission

            build_submission(self.predictions, path, fill_missing=fill_missing, split="test")
        else:
            if fill_missing:
                raise UsageError(f"fill_missing is for GLUE; a {self.suite.title} submission "
                                 "needs every file")
            from gluebench.benchmark.suite_submission import build_suite_submission

            build_suite_submission(self.suite, self.predictions, path, split="test",
                                   data_dir=self.data_dir)
        return Path(path)

    def __repr__(self) -> str:
        what = "GLUE" if self.suite is None else self.suite.title
        if self.document is None:
            return f"Results({what} {self.split} predictions in {self.predictions})"
        shown = ", ".join(f"{n} {r['score']:.1f}" for n, r in self.tasks.items())
        total = self.score if self.score is not None else self.partial_average
        label = self.aggregate_name if self.score is not None else "partial_average"
        total_text = "-" if total is None else f"{total:.1f}"
        return f"Results({what} {self.split}: {label} {total_text}; {shown})"


def _row(name: str, result: dict) -> dict:
    row = {"entry": name, "score": result["score"], "n": result["n"]}
    for metric, (low, high) in result["ci"].items():
        if metric in result:
            row.update({metric: result[metric], f"{metric}_ci_low": low,
                        f"{metric}_ci_high": high})
    return row
