"""A finished run as it is on disk: its ``results.json`` and the files and models it lists.

Every reader checks what the run recorded (checksums, hashes), so an analysis of a damaged or
edited run stops with one line instead of reporting a stale number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gluebench.benchmark.tasks import TASKS, Task
from gluebench.errors import UsageError
from gluebench.formats.atomic import read_json
from gluebench.runs.integrity import CHECKSUM_KEY, read_signed_json, verify_file


def read_results(run_dir: str | Path) -> dict:
    """A run's ``results.json``; one line if it is missing, damaged or was edited."""
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a gluebench run directory (no results.json); "
                         "run gluebench finetune or evaluate first")
    results = read_json(path)
    if CHECKSUM_KEY in results:  # written by a run (hand-made documents carry none)
        results = read_signed_json(path, what="the run's results (results.json)")
    return results


def run_file(run_dir: str | Path, results: dict, relative: str) -> Path:
    """``RUN_DIR/relative``, checked against the hash the run recorded for it."""
    path = Path(run_dir) / relative
    verify_file(path, results.get("files", {}).get(relative), what=f"{relative} of the run")
    return path


def saved_model(run_dir: str | Path, results: dict, task: Task) -> tuple[str, np.ndarray | None]:
    """Where the run's fine-tuned ``task`` model is, and its label permutation (if any).

    A fine-tuning run's model is its own checkpoint, never anything else: if that is gone,
    one line says so (a recorded path could name another run's model). An ``evaluate`` run
    uses the model folder or hub name it was given.
    """
    training = results.get("training", {})
    facts = training.get(task.name, {})
    recorded = facts.get("checkpoint")
    if not recorded:
        have = [t for t in TASKS if training.get(t, {}).get("checkpoint")]
        raise UsageError(f"{run_dir}: no fine-tuned {task.name} model in this run "
                         f"(it has: {', '.join(have) or 'none'})")
    if facts.get("probe"):
        raise UsageError(f"{run_dir}: its {task.name} model is a frozen-encoder probe, not a "
                         "fine-tuned model folder; robustness, calibration, power and report "
                         "take the run directory itself")
    perm = facts.get("label_permutation")
    perm = None if perm is None else np.asarray(perm)
    local = Path(run_dir) / "checkpoints" / task.name / f"seed-{facts.get('selected_seed')}"
    if (local / "config.json").is_file():
        return str(local), perm
    if results.get("kind", "finetune") == "finetune":
        raise UsageError(f"{run_dir}: the fine-tuned {task.name} model of this run is gone "
                         f"({local} not found; were the checkpoints deleted or not copied "
                         "with the run?); fine-tune again to analyse it")
    if facts.get("checkpoint_source") == "hub":
        return recorded, perm
    if not Path(recorded).exists():
        raise UsageError(f"{run_dir}: the {task.name} model this run evaluated is gone "
                         f"({recorded} not found)")
    return recorded, perm
