"""The one unit loop under every method: plan, resume, run, record, promote, write results.

A unit is one task x seed of a run (a prompted LM's: task x template x demonstration seed;
``evaluate``'s: the task's one "eval" unit). For each task in turn the loop

1. plans the task's units (``Method.unit_keys``) and the hashes of their data;
2. keeps each unit whose marker exists and whose data are unchanged (resume);
3. runs every other unit through the method (``Method.run_unit``), which writes its files;
4. records it: the marker, with the hash of every file the unit wrote, is written last and
   atomically, so an interrupted unit has no marker and simply runs again;
5. promotes the median unit's files to the run's own (``Method.promote``);
6. rewrites ``results.json`` (``Method.write_results``).

Fine-tuning, ``evaluate``, the probe, prompted LMs and baselines differ only in their
``Method``; the run directory they write is described in ``gluebench.runs.rundir``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

from gluebench.benchmark.tasks import Task
from gluebench.runs.lock import RunLock
from gluebench.runs.progress import RunProgress
from gluebench.runs.recording import unit_line
from gluebench.runs.rundir import RunDir, median_seed

UnitKey = int | str   # what a unit's files are stored under: a seed, "eval", "<template>.s<seed>"


class Method(Protocol):
    """What a method plugs into the loop; it holds its own model, data and settings."""

    def unit_keys(self, task: Task) -> Sequence[UnitKey]:
        """The task's units, in the order they run."""

    def fingerprints(self, task: Task) -> dict[str, str]:
        """Hashes of exactly the examples the task's units learn from and predict."""

    def run_unit(self, task: Task, key: UnitKey) -> dict:
        """Run one unit, writing its files under ``run.seed_predictions(key)``; its record."""

    def unit_line(self, unit: dict) -> str:
        """The line logged when a unit has run."""

    def promote(self, run: RunDir, task: Task, key: UnitKey) -> None:
        """Make the chosen unit's files the run's own (``RunDir.promote``, and any more)."""

    def write_results(self, run: RunDir) -> dict:
        """Rewrite ``results.json`` from the run's finished units; return what was written."""


class UnitMethod:
    """The parts of a ``Method`` most methods share: the standard log line, and promotion of the
    chosen unit's files alone. Subclass it and override what differs."""

    def unit_line(self, unit: dict) -> str:
        return unit_line(unit)

    def promote(self, run: RunDir, task: Task, key: UnitKey) -> None:
        run.promote(task, key)


@contextlib.contextmanager
def writing(run: RunDir, header: dict, skipped: list[str], *, overwrite: bool,
            progress: bool | None):
    """Hold the run folder (lock), record its settings, show progress: ``(bars, resumed)``."""
    with RunLock(run.root), RunProgress(progress) as bars:
        resumed = run.start(header, overwrite=overwrite)
        for line in skipped:
            bars.log(line)
        yield bars, resumed


def run_units(run: RunDir, tasks: list[Task], method: Method, bars) -> dict | None:
    """Every task's units, resumably; returns the last ``results.json`` written (None: no task)."""
    results = None
    for task in tasks:
        prints = method.fingerprints(task)
        units = [finished_unit(run, task.name, key, prints, bars)
                 or record_unit(run, task, key, prints, method, bars)
                 for key in method.unit_keys(task)]
        method.promote(run, task, median_seed(units)["seed"])
        results = method.write_results(run)
    return results


def record_unit(run: RunDir, task: Task, key: UnitKey, prints: dict, method: Method,
                bars) -> dict:
    """Run one unit, then write its marker (last, atomically); returns the unit's record."""
    bars.unit(f"{task.name} {_shown(key)}")
    unit = method.run_unit(task, key)
    run.save_unit({**unit, "data": prints})
    bars.log(method.unit_line(unit))
    return unit


def finished_unit(run: RunDir, task: str, key: UnitKey, fingerprints: dict,
                  bars) -> dict | None:
    """A finished unit to keep, or None to (re)compute it: never a score of other data."""
    unit = run.done(task, key)
    if unit is None:
        return None
    if unit.get("data") != fingerprints:
        changed = sorted(k for k in set(fingerprints) | set(unit.get("data", {}))
                         if fingerprints.get(k) != unit.get("data", {}).get(k))
        bars.log(f"{task} seed {key}: its data changed since it ran ({', '.join(changed)}); "
                 "running it again")
        return None
    bars.log(f"{task} seed {key}: already done, skipped (resume)")
    return unit


def is_current(run: RunDir, task: str, key: UnitKey, fingerprints: dict) -> bool:
    """Whether a finished unit of these very data exists (nothing to recompute)."""
    unit = run.done(task, key)
    return unit is not None and unit.get("data") == fingerprints


def _shown(key: UnitKey) -> str:
    """How progress names a unit: a seed as "seed 1", a named unit ("eval") by its name."""
    return f"seed {key}" if isinstance(key, int) else str(key)
