"""A baseline as a method of a suite run (the majority class, until the fine-tuning, probe
and prompted-LM methods for SuperGLUE's shapes take over): one unit per task in the unit loop
(``runs.units``), so ``run --suite`` writes the run directory every suite method writes
(``runs.suite_units``: run.json, units/, seeds/0/predictions/dev/<Entry file>, the promoted
predictions/, a signed results.json with the suite score) and resumes like them.

A unit predicts each of the task's entries on dev (AX-b and AX-g with RTE) with the
baseline's rule (``suite_baselines``: majority, constant, random); it has one seed, 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite import Suite, TaskDef
from gluebench.benchmark.suite_baselines import baseline_predictions
from gluebench.runs.rundir import RunDir
from gluebench.runs.suite_units import (
    predicted_tables,
    record_suite_split,
    table_fingerprints,
    task_score,
    write_suite_results,
)
from gluebench.runs.units import UnitMethod

SPLITS = ("dev",)


@dataclass
class SuiteBaselineUnits(UnitMethod):
    suite: Suite
    data_dir: str
    run: RunDir
    header: dict
    n_resamples: int
    stats_seed: int
    started: float               # time.perf_counter() when the run began
    more: dict                   # extra keys of results.json (the plan)
    kind: str = "majority"
    label: str | None = None     # the constant baseline's label

    @classmethod
    def of(cls, ctx, **settings) -> SuiteBaselineUnits:
        """The baseline for ``run --suite``'s context (``suite_plan.RunContext``)."""
        return cls(ctx.suite, ctx.data_dir, ctx.run, ctx.header, ctx.n_resamples,
                   ctx.stats_seed, ctx.started, ctx.more, **settings)

    def unit_keys(self, task: TaskDef) -> tuple[int, ...]:
        return (0,)

    def fingerprints(self, task: TaskDef) -> dict[str, str]:
        train = load_split(self.suite, task, "train", self.data_dir)
        return table_fingerprints(predicted_tables(self.suite, task, self.data_dir, SPLITS),
                                  {"train": train})

    def run_unit(self, task: TaskDef, seed: int) -> dict:
        start, entries, n = time.perf_counter(), {}, 0
        for entry, split, table, n_available in predicted_tables(self.suite, task,
                                                                 self.data_dir, SPLITS):
            pred, _ = baseline_predictions(self.kind, self.suite, entry, table,
                                           self.data_dir, seed=seed, label=self.label)
            entries[entry.name] = record_suite_split(
                self.run.seed_predictions(seed), self.suite, entry, split, table, pred,
                n_available=n_available, n_resamples=self.n_resamples, seed=self.stats_seed)
            n += len(table)
        seconds = time.perf_counter() - start
        return {"task": task.name, "seed": seed, "model": f"{self.kind} baseline",
                "inference": {"examples": n, "seconds": seconds}, "entries": entries,
                "task_score": task_score(self.suite, entries), "seconds": seconds}

    def write_results(self, run: RunDir) -> dict:
        return write_suite_results(run, self.suite, self.header, started=self.started,
                                   n_resamples=self.n_resamples, stats_seed=self.stats_seed,
                                   more=self.more)
