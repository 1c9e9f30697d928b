"""Weights & Biases: offline runs under ``RUN_DIR/wandb`` (``wandb sync`` uploads them later);
``$WANDB_MODE=online`` logs live. One run per training unit, grouped by the run directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = "gluebench"


class WandbRun:
    def __init__(self, run):
        self.run = run

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(dict(values), step=step)

    def summary(self, values: dict[str, float]) -> None:
        self.run.summary.update(dict(values))

    def finish(self) -> None:
        self.run.finish()


def open_run(run_dir: Path, *, name: str, group: str, config: dict) -> WandbRun:
    import wandb  # deferred: wandb

    run_dir.mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=name, group=group,
                     config=config, dir=str(run_dir),
                     mode=os.environ.get("WANDB_MODE", "offline"), reinit="create_new")
    return WandbRun(run)
