"""A run directory: its layout, resuming, seed summaries and ``results.json``.

::

    RUN_DIR/
      run.json                      config, model and data source the run was started with
      units/<Task>-seed<S>.json     one finished task x seed (written last: its marker)
      seeds/<S>/predictions/{dev,test}/<File>.tsv
      seeds/<S>/outputs/<Entry>.npz  dev probabilities (or STS-B scores) and gold labels
      predictions/{dev,test}/<File>.tsv   the median seed's files (submission format)
      outputs/<Entry>.npz           the median seed's dev outputs
      checkpoints/<Task>/seed-<S>/  the fine-tuned model and tokenizer
      results.json                  the ``score --json`` schema + config, environment, timings

A restarted run skips every unit whose marker exists, so an interrupted run loses
nothing already computed; every file is written atomically.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import numpy as np

from gluebench.errors import UsageError
from gluebench.scoring import scored_results
from gluebench.tasks import BENCHMARKS, Task
from gluebench.tsv import atomic_write, write_json

# Settings that may change between an interrupted run and its restart (they do not
# change results): more seeds, other inference batch sizes, checkpoint saving.
RESUMABLE_CHANGES = {"seeds", "eval_batch_size", "eval_batch_tokens", "save_checkpoints",
                     "device", "compile"}
# A run whose most frequent predicted class covers this share of dev has collapsed.
COLLAPSE_SHARE = 0.99


def entries_of(task: Task) -> list[str]:
    """The leaderboard entries a task's model predicts (the MNLI model also predicts AX)."""
    names = [n for n, b in BENCHMARKS.items() if b.task == task.name]
    return names + (["AX"] if task.name == "MNLI" else [])


class RunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def unit_path(self, task: str, seed: int | str) -> Path:
        return self.root / "units" / f"{task}-seed{seed}.json"

    def seed_predictions(self, seed: int | str) -> Path:
        return self.root / "seeds" / str(seed) / "predictions"

    def checkpoint(self, task: str, seed: int | str) -> Path:
        return self.root / "checkpoints" / task / f"seed-{seed}"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def start(self, header: dict, *, overwrite: bool = False) -> bool:
        """Record the run's settings, or check them against an earlier start (resume).

        Returns True when resuming. Refuses to mix results of different settings.
        """
        path = self.root / "run.json"
        if overwrite and self.root.exists():
            for name in ("run.json", "results.json", "units", "seeds", "predictions",
                         "outputs", "checkpoints", "analysis"):
                target = self.root / name
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        if path.is_file():
            before = json.loads(path.read_text(encoding="utf-8"))
            changed = _differences(before, header)
            if changed:
                raise UsageError(f"{self.root} holds a run with other settings ({changed}); "
                                 "use another -o, or --overwrite to start it again")
        write_json(path, header)
        return any((self.root / "units").glob("*.json"))

    def done(self, task: str, seed: int | str) -> dict | None:
        path = self.unit_path(task, seed)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def save_unit(self, unit: dict) -> None:
        write_json(self.unit_path(unit["task"], unit["seed"]), unit)

    def units(self) -> list[dict]:
        return [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((self.root / "units").glob("*.json"))]

    def promote(self, task: Task, seed: int | str) -> None:
        """Copy one seed's prediction files and dev outputs to the run's own folders."""
        files = {BENCHMARKS[e].submission_file for e in entries_of(task)}
        pairs = [(self.seed_predictions(seed) / split / name, self.predictions / split / name)
                 for split in ("dev", "test") for name in sorted(files)]
        pairs += [(self.seed_predictions(seed).parent / "outputs" / f"{e}.npz",
                   self.outputs / f"{e}.npz") for e in entries_of(task)]
        for source, target in pairs:
            if source.is_file():
                atomic_write(target, source.read_bytes())


def _differences(before: dict, now: dict) -> str:
    out = []
    for key in sorted(set(before) | set(now)):
        if key == "config":
            for name in sorted(set(before[key]) | set(now[key])):
                if name not in RESUMABLE_CHANGES and before[key].get(name) != now[key].get(name):
                    out.append(f"{name}: {before[key].get(name)} -> {now[key].get(name)}")
        elif key in ("model", "data_source", "kind") and before.get(key) != now.get(key):
            out.append(f"{key}: {before.get(key)} -> {now.get(key)}")
    return "; ".join(out)


def task_score_of(unit: dict) -> float:
    """A unit's score for choosing the median seed: the mean over its GLUE entries."""
    scores = [e["score"] for n, e in unit["entries"].items() if BENCHMARKS[n].glue_group]
    return float(np.mean(scores)) if scores else float("nan")


def median_seed(units: list[dict]) -> dict:
    """The unit whose score is the (lower) median: its predictions represent the task."""
    ordered = sorted(units, key=lambda u: (task_score_of(u), str(u["seed"])))
    return ordered[(len(ordered) - 1) // 2]


def seed_summary(units: list[dict], entry: str, selected) -> dict:
    values = {str(u["seed"]): u["entries"][entry]["score"] for u in units
              if entry in u["entries"]}
    scores = np.array(list(values.values()), dtype=float)
    return {
        "selected": selected, "values": values, "n": len(scores),
        "mean": float(scores.mean()),
        "sd": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
        "median": float(np.median(scores)),
        "min": float(scores.min()), "max": float(scores.max()),
        "collapsed": [str(u["seed"]) for u in units
                      if u["entries"].get(entry, {}).get("collapsed")],
    }


def prediction_profile(task: Task, values: np.ndarray) -> dict:
    """How predictions are spread, and whether they collapsed to one class (or a constant)."""
    if task.labels is None:
        spread = float(np.std(values)) if len(values) else 0.0
        return {"prediction_sd": spread, "collapsed": spread < 1e-2}
    counts = np.bincount(values.astype(np.int64), minlength=len(task.labels))
    share = counts.max() / max(1, counts.sum())
    return {"prediction_counts": dict(zip(task.labels, counts.tolist(), strict=True)),
            "collapsed": bool(share >= COLLAPSE_SHARE)}


def environment() -> dict:
    import importlib.metadata as md

    versions = {}
    for package in ("torch", "transformers", "peft", "accelerate", "numpy", "scipy"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return {"python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "packages": versions}


def results_document(run: RunDir, units: list[dict], header: dict, *, n_resamples: int,
                     seed: int, extra: dict) -> dict:
    """``results.json``: the selected seed's scores per entry, seed spread, training facts."""
    by_task: dict[str, list[dict]] = {}
    for unit in units:
        by_task.setdefault(unit["task"], []).append(unit)
    tasks, training = {}, {}
    for task_name, units in by_task.items():
        chosen = median_seed(units)
        for entry, scored in chosen["entries"].items():
            tasks[entry] = {**scored, "seeds": seed_summary(units, entry, chosen["seed"])}
        training[task_name] = {
            "selected_seed": chosen["seed"], "checkpoint": chosen.get("checkpoint"),
            **{k: chosen[k] for k in ("parameters", "layers", "train", "learning_rate", "epochs",
                                      "new_parameters", "model", "label_permutation", "holdout")
               if k in chosen},
            "per_seed": {str(u["seed"]): u.get("train") for u in units},
            **({"holdout_per_seed": {str(u["seed"]): u["holdout"]["score"] for u in units}}
               if chosen.get("holdout") else {}),
        }
    order = list(BENCHMARKS)
    tasks = dict(sorted(tasks.items(), key=lambda kv: order.index(kv[0])))
    return {
        **scored_results(header["data_source"], run.predictions / "dev", tasks,
                         n_resamples=n_resamples, seed=seed),
        "kind": header["kind"],
        "model": header["model"],
        "config": header["config"],
        "training": training,
        **extra,
    }
