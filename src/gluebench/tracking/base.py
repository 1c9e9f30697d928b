"""The one interface every tracker adapter implements, and how a ``--report-to`` value is read.

A tracker run is one training unit (a task x seed; its name ``RTE-seed1``) or the run's
summary (``results``); the run directory's name groups them. Keys are ``train/loss``,
``train/learning_rate``, ``train/epoch`` per logging step and ``dev/<Entry>/<metric>`` at the end.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from gluebench.errors import UsageError
from gluebench.formats.fields import quote

# tool -> (its adapter module, the module it needs, the extra that installs it)
TOOLS = {
    "tensorboard": ("gluebench.tracking.tensorboard", "tensorboard", "tensorboard"),
    "wandb": ("gluebench.tracking.wandb", "wandb", "wandb"),
    "mlflow": ("gluebench.tracking.mlflow", "mlflow", "mlflow"),
}
NONE = "none"


class Tracker(Protocol):
    """One tracker run: scalars per step, a summary, then ``finish``."""

    def log(self, values: dict[str, float], step: int) -> None: ...

    def summary(self, values: dict[str, float]) -> None: ...

    def finish(self) -> None: ...


def parse_report_to(names) -> tuple[str, ...]:
    """``tensorboard,wandb`` (or a list) as tool names; ``none`` is no tool. Checks each
    tool's library is installed, so a run stops before its first step, not after training."""
    items = names.split(",") if isinstance(names, str) else list(names or ())
    tools = tuple(dict.fromkeys(n.strip().lower() for n in items if n.strip()))
    unknown = [n for n in tools if n not in (*TOOLS, NONE)]
    if unknown:
        raise UsageError(f"--report-to: unknown tracker {quote(unknown[0])}; expected one or more "
                         f"of: {', '.join(TOOLS)}, or none (comma-separated)")
    if NONE in tools and len(tools) > 1:
        raise UsageError("--report-to: 'none' cannot be combined with a tracker")
    tools = tuple(n for n in tools if n != NONE)
    for name in tools:
        _require(name)
    return tools


def open_tracker(tool: str, *, run_dir: str | Path, name: str, group: str,
                 config: dict) -> Tracker:
    """Start one run of ``tool`` (offline, under ``run_dir``) with ``config`` as its params."""
    module, _, _ = TOOLS[tool]
    return importlib.import_module(module).open_run(Path(run_dir), name=name, group=group,
                                                     config=config)


def _require(tool: str) -> None:
    _, needs, extra = TOOLS[tool]
    if importlib.util.find_spec(needs) is None:
        raise UsageError(f"--report-to {tool}: the {needs} package is not installed; "
                         f"pip install 'gluebench[{extra}]'")
