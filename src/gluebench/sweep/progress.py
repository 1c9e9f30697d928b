"""The sweep's progress bar: trials done / running / failed, and an ETA (rich)."""

from __future__ import annotations

import sys
import time


class SweepProgress:
    """One bar over the sweep's trials; the ETA comes from this run's finished trials."""

    def __init__(self, total: int, already_done: int, enabled: bool | None = None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.progress = Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"), console=Console(stderr=True),
            disable=not self.enabled)
        self.total, self.done, self.running, self.failed = total, already_done, 0, 0
        self.seconds: list[float] = []
        self.started_at = time.perf_counter()
        self.bar = self.progress.add_task("trials", total=total, completed=already_done,
                                          state=self._state())

    def __enter__(self) -> SweepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def eta(self) -> float | None:
        """Seconds left: remaining trials x mean trial time / trials running at once."""
        if not self.seconds:
            return None
        left = self.total - self.done - self.failed
        parallel = max(1, self.running)
        return left * (sum(self.seconds) / len(self.seconds)) / parallel

    def _state(self) -> str:
        eta = self.eta()
        clock = "ETA --" if eta is None else f"ETA {int(eta // 60)}:{int(eta % 60):02d}"
        return f"done {self.done}, running {self.running}, failed {self.failed}  {clock}"

    def _refresh(self) -> None:
        self.progress.update(self.bar, completed=self.done + self.failed, state=self._state())

    def started(self, label: str) -> None:
        self.running += 1
        self._refresh()
        if self.enabled:  # with an inline executor the trial runs before the next refresh
            self.progress.refresh()

    def finished(self, *, ok: bool | None, seconds: float | None = None) -> None:
        """ok True: done; False: failed for good; None: will be retried."""
        self.running -= 1
        if ok:
            self.done += 1
            self.seconds.append(seconds or 0.0)
        elif ok is False:
            self.failed += 1
        self._refresh()

    def log(self, message: str) -> None:
        """A line above the bar (always shown, also when the bar is off)."""
        if self.enabled:
            self.progress.console.print(message, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)
