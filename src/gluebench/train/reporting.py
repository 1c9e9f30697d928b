"""``--report-to``: training curves, dev scores, the config and the results sent to trackers.

A setting like a study's (``train.hooks.register_study``), so the flag, config files and sweep
specs reach every run, trial and study variant; its ``ReportHooks`` receive the loop's logging
steps and each unit's start and end, and the run's results (``gluebench.tracking`` adapters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from gluebench.tracking.base import open_tracker, parse_report_to
from gluebench.train.hooks import TrainingHooks, Unit

RESULTS_RUN = "results"    # the tracker run holding the run's results


@dataclass(frozen=True)
class ReportSettings:
    """Where a run reports: TensorBoard, W&B, MLflow (offline, under the run directory)."""

    name: ClassVar[str] = "report"
    record_defaults: ClassVar[bool] = False

    report_to: tuple[str, ...] | None = field(default=None, metadata={
        "help": "experiment trackers, comma-separated: tensorboard, wandb, mlflow, or none "
                "(offline, under the run directory; default: none)"})

    def check(self) -> None:
        parse_report_to(self.report_to)

    def hooks(self) -> TrainingHooks | None:
        tools = parse_report_to(self.report_to)
        return ReportHooks(tools) if tools else None


class ReportHooks(TrainingHooks):
    """Opens one tracker run per unit: its config, then its steps, then its dev scores."""

    def __init__(self, tools: tuple[str, ...]):
        self.tools = tools
        self.open: list = []

    def start_unit(self, unit: Unit, config: dict) -> None:
        self.open = [open_tracker(t, run_dir=unit.run_dir, name=f"{unit.task}-seed{unit.seed}",
                                  group=Path(unit.run_dir).name,
                                  config={**config, "task": unit.task, "seed": unit.seed})
                     for t in self.tools]

    def log_step(self, unit: Unit, step: int, logs: dict[str, float]) -> None:
        values = {f"train/{k}": v for k, v in logs.items() if math.isfinite(v)}
        for tracker in self.open:
            tracker.log(values, step)

    def end_unit(self, unit: Unit, record: dict) -> None:
        scores = dev_scores(record.get("entries", {}))
        for tracker in self.open:
            tracker.summary(scores)
            tracker.finish()
        self.open = []

    def end_run(self, run_dir, config: dict, results: dict) -> None:
        values = dev_scores(results.get("tasks", {}))
        for key in ("glue_score", "partial_average"):
            if isinstance(results.get(key), (int, float)):
                values[key] = results[key]
        for tool in self.tools:
            tracker = open_tracker(tool, run_dir=run_dir, name=RESULTS_RUN,
                                   group=Path(run_dir).name, config=config)
            tracker.summary(values)
            tracker.finish()


def dev_scores(entries: dict) -> dict[str, float]:
    """``dev/<Entry>/<metric>`` for every number an entry's scores hold (CIs left out)."""
    return {f"dev/{entry}/{k}": float(v) for entry, scored in entries.items()
            for k, v in scored.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n"}
