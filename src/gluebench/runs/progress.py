"""Progress bars for long runs: task, seed, epoch, step, examples/s and ETA (rich)."""

from __future__ import annotations

import sys
import time


class RunProgress:
    """One bar at a time for the current task/seed: training steps, then inference."""

    def __init__(self, enabled: bool | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(stderr=True), disable=not self.enabled, transient=False)
        self.label = ""
        self.bar = None

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def unit(self, label: str) -> None:
        """The task and seed (and split) the next bars belong to."""
        self.label = label

    def _new_bar(self, what: str, total: int) -> None:
        self.bar = self.progress.add_task(f"{self.label} {what}", total=total, detail="",
                                          rate="")
        self.started, self.count = time.perf_counter(), 0

    def start_training(self, total_steps: int) -> None:
        self._new_bar("train", total_steps)

    def advance_training(self, step: int, steps_per_epoch: int, examples: int,
                         loss: float) -> None:
        self.count += examples
        epoch = (step - 1) // steps_per_epoch + 1
        self.progress.update(self.bar, completed=step,
                             detail=f"epoch {epoch} step {step} loss {loss:.3f}",
                             rate=f"{self._rate():,.0f} ex/s")

    def start_inference(self, n: int) -> None:
        self._new_bar("predict", n)

    def advance_inference(self, examples: int) -> None:
        self.count += examples
        self.progress.update(self.bar, advance=examples, rate=f"{self._rate():,.0f} ex/s")

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.count / elapsed if elapsed > 0 else 0.0

    def log(self, message: str) -> None:
        """A line above the bars (always shown, also when bars are off)."""
        if self.enabled:
            self.progress.console.print(message, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)
