"""Run a sweep: skip finished trials, keep up to N running, retry failures, record each.

A trial's record is written the moment it finishes, so Ctrl-C (or a lost machine) loses
only the trials that were running; the next run of the same command resumes. A trial
that fails ``retries + 1`` times is recorded as failed and the rest of the sweep goes on.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field

from gluebench.runs.suite_view import suite_view
from gluebench.sweep.executors import Executor
from gluebench.sweep.progress import SweepProgress
from gluebench.sweep.sweepdir import SweepDir
from gluebench.sweep.trials import Trial
from gluebench.sweep.worker import job_for


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)       # keys finished in this run
    skipped: list[str] = field(default_factory=list)    # finished before
    failed: list[str] = field(default_factory=list)     # out of retries
    seconds: float = 0.0


@dataclass
class _Running:
    trial: Trial
    attempt: int
    submitted: float


def plan_document(spec, trials: list[Trial], source_description: str, data: str) -> dict:
    view = suite_view(spec.suite)
    suite = {} if view.is_glue else {"suite": view.reference()}  # GLUE's plan as before
    return {"spec": spec.to_dict(), **suite, "select_on": spec.select_on, "data": data,
            "data_source": source_description, "trials": [t.to_json() for t in trials]}


def run_sweep(sweep: SweepDir, trials: list[Trial], executor: Executor, *, data: str,
              cpus: int, retries: int = 1, max_parallel: int = 1, resamples: int = 1000,
              progress: bool | None = None) -> Outcome:
    """Run every unfinished trial through ``executor``; returns what happened."""
    outcome = Outcome(skipped=[t.key for t in trials if sweep.finished(t.key)])
    pending = deque(t for t in trials if t.key not in set(outcome.skipped))
    attempts: dict[str, int] = {}
    running: dict = {}
    started = time.perf_counter()
    with SweepProgress(len(trials), len(outcome.skipped), progress) as bars:
        try:
            while pending or running:
                while pending and len(running) < max_parallel:
                    trial = pending.popleft()
                    attempts[trial.key] = attempts.get(trial.key, 0) + 1
                    bars.started(trial.label)
                    job = job_for(trial.to_json(), attempts[trial.key], sweep_dir=sweep.root,
                                  data=data, cpus=cpus, resamples=resamples)
                    running[executor.submit(job)] = _Running(trial, attempts[trial.key],
                                                             time.perf_counter())
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    _collect(sweep, running.pop(future), future, executor.name, retries,
                             pending, outcome, bars)
        except KeyboardInterrupt:
            bars.log(f"interrupted: {len(outcome.done)} trial(s) finished in this run are "
                     "saved; stopping the running ones")
            executor.shutdown(cancel=True)
            raise
    executor.shutdown()
    outcome.seconds = time.perf_counter() - started
    return outcome


def _collect(sweep: SweepDir, run: _Running, future, executor_name: str, retries: int,
             pending: deque, outcome: Outcome, bars) -> None:
    """Record a finished attempt, or put the trial back for another attempt."""
    trial, wall = run.trial, time.perf_counter() - run.submitted
    record = {"key": trial.key, "trial": trial.to_json(), "attempts": run.attempt,
              "executor": executor_name, "wall_seconds": wall}
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - any failure of a trial is that trial's
        error = _error_line(exc)
        if run.attempt <= retries:
            bars.log(f"{trial.label}: attempt {run.attempt} failed ({error[:200]}); retrying")
            pending.append(trial)
            bars.finished(ok=None)
            return
        sweep.write_record({**record, "status": "failed", "error": error})
        outcome.failed.append(trial.key)
        bars.log(f"{trial.label}: failed after {run.attempt} attempt(s): {error[:300]}")
        bars.finished(ok=False)
        return
    sweep.write_record({**record, "status": "ok", "error": None, "worker": result["worker"],
                        "trial_seconds": result["seconds"], "summary": result["summary"]})
    outcome.done.append(trial.key)
    bars.log(_line(trial, result["summary"], wall))
    bars.finished(ok=True, seconds=wall)


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[-1] if text else ''}"


def _line(trial: Trial, summary: dict, wall: float) -> str:
    scores = ", ".join(f"{n} {e['score']:.1f}" + (" (collapsed)" if e["collapsed"] else "")
                       for n, e in summary["entries"].items())
    holdout = summary.get("holdout")
    held = f"; holdout {holdout['score']:.1f}" if holdout else ""
    return f"{trial.label}: dev {scores}{held} ({wall:.0f} s)"


def print_outcome(outcome: Outcome, total: int) -> None:
    print(f"sweep: {total} trial(s): {len(outcome.done)} run now, {len(outcome.skipped)} "
          f"already done, {len(outcome.failed)} failed ({outcome.seconds:.0f} s)",
          file=sys.stderr)
