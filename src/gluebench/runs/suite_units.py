"""Runs on a suite's tasks (SuperGLUE, FewGLUE, a user's suite): the parts every method shares.

A suite run has the run directory of a GLUE run (``gluebench.runs.rundir``) and the same unit
loop (``gluebench.runs.units``); what differs is read from the suite definition:

* which tasks get a model: each entry names the task whose model predicts it, so SuperGLUE's
  AX-b and AX-g are predicted by the RTE model (``suite_model_tasks``);
* which tables a unit predicts: each of the model's entries on each split whose file is there
  (``predicted_tables``), dev optionally a seeded subsample of whole resampling units (MultiRC
  paragraphs, AX-g pairs), so a subsample is scored like the full set;
* prediction files in the suite's submission format (``BoolQ.jsonl`` ..., via
  ``suite_prediction_writer``), so ``score --suite``, ``submission --suite`` and the reports read
  a run unchanged, and dev scored with the suite's metrics (``record_suite_split``);
* ``results.json``: ``score --suite --json``'s document with the suite's aggregate, plus the run's
  settings, training facts and seed spread (``write_suite_results``).

A method (fine-tuning, the probe, prompted LMs, baselines) builds its ``RunDir`` with
``suite_run_dir`` and records ``task_score`` in each unit (``task_score``), which chooses the
median seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, rng_for
from gluebench.benchmark.suite import Entry, Suite, TaskDef
from gluebench.benchmark.suite_hub import is_hub
from gluebench.benchmark.suite_loader import list_suites
from gluebench.benchmark.suite_prediction_writer import prediction_text
from gluebench.benchmark.suite_scoring import score_entry, suite_results
from gluebench.benchmark.table import NO_GOLD, ExampleTable
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.runs.integrity import write_signed_json
from gluebench.runs.rundir import (
    COLLAPSE_SHARE,
    RunDir,
    environment,
    require_finite,
    run_suite,
    selected_units,
)


def suite_reference(suite: Suite) -> str:
    """What ``run.json`` records to find the suite again: a built-in's name, else its file."""
    builtin = list_suites()
    if builtin.get(suite.name) and Path(builtin[suite.name]) == Path(suite.source):
        return suite.name
    return str(Path(suite.source).resolve())


def entry_files(suite: Suite):
    """``RunDir``'s ``entry_files`` for a suite: task name -> {entry: its prediction file}."""
    def files(task_name: str) -> dict[str, str]:
        return {e.name: e.submission_file for e in suite.entries.values() if e.model == task_name}
    return files


def suite_run_dir(root: str | os.PathLike, suite: Suite) -> RunDir:
    return RunDir(root, entry_files=entry_files(suite))


def suite_model_tasks(suite: Suite, tasks_spec: str | None) -> list[TaskDef]:
    """The tasks a model is run for, in the suite's order: every task some entry's model is
    (``None``/``"all"``), or those named by ``--tasks`` (entry or task names, comma-separated;
    an entry brings its model's task: AX-b -> RTE)."""
    models = [t for t in suite.tasks.values() if any(e.model == t.name
                                                      for e in suite.entries.values())]
    if tasks_spec in (None, "", "all"):
        return models
    wanted: set[str] = set()
    for name in (part.strip() for part in tasks_spec.split(",")):
        if not name:
            continue
        if name.casefold() in {e.casefold() for e in suite.entries}:
            wanted.add(suite.entry(name).model)
        else:
            wanted.add(suite.task(name).name)
    chosen = [t for t in models if t.name in wanted]
    if len(chosen) < len(wanted):
        lost = sorted(wanted - {t.name for t in chosen})
        raise UsageError(f"--tasks: no {suite.title} entry is predicted by {', '.join(lost)}; "
                         f"expected one of: {', '.join(t.name for t in models)}")
    return chosen


def has_split(suite: Suite, task: TaskDef, key: str, data_dir) -> bool:
    """Whether ``task``'s ``key`` file is under ``data_dir`` (on the hub: has that split)."""
    if key not in task.files:
        return False
    if is_hub(data_dir):
        return task.hf_config is not None and task.files[key].hf_split is not None
    return suite.data_path(data_dir, task.files[key].path).is_file()


def model_entries(suite: Suite, task: TaskDef) -> list[Entry]:
    """The entries ``task``'s model predicts, in the suite's order (RTE: RTE, AX-b, AX-g)."""
    return [e for e in suite.entries.values() if e.model == task.name]


def predicted_tables(suite: Suite, task: TaskDef, data_dir, splits, *,
                     max_eval_examples: int | None = None, data_seed: int = 0
                     ) -> list[tuple[Entry, str, ExampleTable, int]]:
    """``(entry, split, table, rows available)`` for each of the model's entries x split whose
    file is there; dev is a seeded subsample of ``max_eval_examples`` rows when set."""
    out = []
    for entry in model_entries(suite, task):
        entry_task = suite.task(entry.task)
        for split in splits:
            key = entry.file_key(split)
            if not has_split(suite, entry_task, key, data_dir):
                continue
            table = load_split(suite, entry_task, key, data_dir)
            n_available = len(table)
            if split == "dev" and max_eval_examples is not None:
                table = subsample(table, max_eval_examples, data_seed, unit=entry.resample,
                                  name=entry.name)
            out.append((entry, split, table, n_available))
    return out


def subsample(table: ExampleTable, n: int, seed: int, *, unit: str = "example",
              name: str = "") -> ExampleTable:
    """About ``n`` rows drawn as whole ``unit``s (MultiRC: paragraphs; AX-g: pairs), seeded,
    kept in file order, so a subsample is resampled and scored like the full set."""
    if n >= len(table):
        return table
    groups = (table.groups[unit] if unit != "example" and unit in table.groups
              else np.arange(len(table)))
    order = rng_for(seed, name or table.task.name).permutation(np.unique(groups))
    sizes = {g: int(c) for g, c in zip(*np.unique(groups, return_counts=True), strict=True)}
    keep, total = set(), 0
    for group in order:
        if total >= n:
            break
        keep.add(group)
        total += sizes[group]
    return table.take(np.flatnonzero(np.isin(groups, list(keep))))


def fingerprint(table: ExampleTable) -> str:
    """A hash of exactly the rows a unit reads: ids, inputs, gold labels."""
    labels = None if table.labels is None else table.labels.tolist()
    payload = json.dumps([table.ids.tolist(), table.inputs, labels, table.answers],
                         sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def table_fingerprints(tables: list[tuple[Entry, str, ExampleTable, int]],
                       train: dict[str, ExampleTable] | None = None) -> dict[str, str]:
    """What a unit's record keeps of its data (``runs.units`` resumes only on equal hashes)."""
    found = {key: fingerprint(t) for key, t in (train or {}).items()}
    for entry, split, table, _ in tables:
        found[f"{split}:{entry.name}"] = fingerprint(table)
    return found


def record_suite_split(pred_root: Path, suite: Suite, entry: Entry, split: str,
                       table: ExampleTable, pred, *, n_available: int | None = None,
                       outputs: np.ndarray | None = None,
                       n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict | None:
    """Write one entry's prediction file for ``split`` (and dev outputs); dev's scores, else None.

    ``pred``: class ids, scores or entity texts in the table's row order. ``outputs``: (n,
    classes) probabilities, saved beside the gold labels for calibration and error analysis.
    """
    target = Path(pred_root) / split / entry.submission_file
    if table.task.target != "entity":
        require_finite(np.asarray(pred, dtype=float), what=str(target))
    atomic_write(target, prediction_text(suite, entry, table, pred))
    if split != "dev" or not table.has_gold:
        return None
    if outputs is not None:
        save_outputs(Path(pred_root).parent / "outputs" / f"{entry.name}.npz", table, outputs)
    result = score_entry(entry, table, pred, n_resamples=n_resamples, seed=seed)
    if n_available is not None and len(table) < n_available:
        result["subsample"] = {"n": len(table), "of": n_available}
    return {**result, **prediction_profile(table.task, pred)}


def save_outputs(path: Path, table: ExampleTable, outputs: np.ndarray) -> None:
    import io

    require_finite(np.asarray(outputs), what=f"{path} (outputs)")
    gold = table.labels if table.labels is not None else np.full(len(table), NO_GOLD)
    buffer = io.BytesIO()
    np.savez(buffer, index=table.ids, gold=gold, outputs=np.asarray(outputs))
    atomic_write(path, buffer.getvalue())


def prediction_profile(task: TaskDef, pred) -> dict:
    """How predictions spread over the labels, and whether they collapsed to one."""
    if task.target == "entity":
        return {}
    values = np.asarray(pred, dtype=float)
    if task.target == "score":
        spread = float(np.std(values)) if len(values) else 0.0
        return {"prediction_sd": spread, "collapsed": spread < 1e-2}
    counts = np.bincount(values.astype(np.int64), minlength=task.n_classes)
    share = counts.max() / max(1, counts.sum())
    return {"prediction_counts": dict(zip(task.labels, counts.tolist(), strict=True)),
            "collapsed": bool(share >= COLLAPSE_SHARE)}


def task_score(suite: Suite, entries: dict[str, dict]) -> float:
    """A unit's score for choosing the median seed: the mean over its entries in the suite
    score (RTE's unit: RTE alone, not AX-b or AX-g)."""
    scores = [s["score"] for name, s in entries.items() if suite.entry(name).group is not None]
    return float(np.mean(scores)) if scores else float("nan")


def write_suite_results(run: RunDir, suite: Suite, header: dict, *, started: float,
                        environment_extra: dict | None = None,
                        n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0,
                        more: dict | None = None) -> dict:
    """Rewrite ``results.json`` from the run's finished units (``more``: extra top-level keys)."""
    units = run.units()
    tasks, training, files = selected_units(units)
    order = list(suite.entries)
    tasks = dict(sorted(tasks.items(), key=lambda kv: order.index(kv[0])))
    require_finite(tasks, what=f"{run.root / 'results.json'}")
    results = {
        **suite_results(suite, header["data_source"], run.predictions / "dev", tasks,
                        n_resamples=n_resamples, seed=stats_seed),
        "kind": header["kind"],
        "suite": {**run_suite(header), "title": suite.title,
                  "aggregate": suite.aggregate.name},
        "model": header["model"],
        "config": header["config"],
        "training": training,
        "files": dict(sorted(files.items())),
        "environment": {**environment(), **(environment_extra or {})},
        "timings": {
            "run_seconds": time.perf_counter() - started,
            "train_seconds": sum(u.get("train", {}).get("seconds", 0.0) for u in units),
            "inference_seconds": sum(u.get("inference", {}).get("seconds", 0.0) for u in units),
            "inference_examples": sum(u.get("inference", {}).get("examples", 0) for u in units),
        },
        **(more or {}),
    }
    return write_signed_json(run.root / "results.json", results)
