"""A run directory: its layout, resuming, seed summaries and ``results.json``.

::

    RUN_DIR/
      run.json                      config, model and data source the run was started with
      units/<Task>-seed<S>.json     one finished task x seed (written last: its marker)
      seeds/<S>/predictions/{dev,test}/<File>.tsv
      seeds/<S>/outputs/<Entry>.npz  dev probabilities (or STS-B scores) and gold labels
      predictions/{dev,test}/<File>.tsv   the median seed's files (submission format)
      outputs/<Entry>.npz           the median seed's dev outputs
      checkpoints/<Task>/seed-<S>/  the fine-tuned model and tokenizer (a probe: its head)
      results.json                  the ``score --json`` schema + the suite's name and hash,
                                    config, environment, timings

A restarted run skips every unit whose marker exists, so an interrupted run loses
nothing already computed; every file is written atomically.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
from pathlib import Path

import numpy as np

from gluebench.benchmark.scoring import scored_results
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, load_suite
from gluebench.benchmark.tasks import BENCHMARKS, TASKS, Task
from gluebench.errors import GlueBenchError, UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.runs.integrity import read_signed_json, sha256_file, verify_file, write_signed_json
from gluebench.runs.lock import LOCK_NAME

# Settings that may change between an interrupted run and its restart (they do not
# change results): more seeds, other inference batch sizes, checkpoint saving.
RESUMABLE_CHANGES = {"seeds", "eval_batch_size", "eval_batch_tokens", "save_checkpoints",
                     "device", "compile", "concurrency", "report_to"}
# A run whose most frequent predicted class covers this share of dev has collapsed.
COLLAPSE_SHARE = 0.99


def entries_of(task: Task) -> list[str]:
    """The leaderboard entries a task's model predicts (the MNLI model also predicts AX)."""
    names = [n for n, b in BENCHMARKS.items() if b.task == task.name]
    return names + (["AX"] if task.name == "MNLI" else [])


RUN_FORMAT = "gluebench-run"        # run.json's own marker: only such a folder is ever deleted
RUN_PARTS = ("run.json", "results.json", "units", "seeds", "predictions", "outputs",
             "checkpoints", "analysis", "samples", "tensorboard", "wandb", "mlflow.db")
# What a driver (the sweep) may keep beside a run in its folder: not ours to delete, not in
# the way of starting the run there.
COMPANIONS = ("attempts", "log.txt")
UNIT_MEND = "delete that file to redo this task and seed, or start again with --overwrite"


def glue_entry_files(task_name: str) -> dict[str, str]:
    """A GLUE task's model's entries and their prediction files (MNLI: MNLI-m, MNLI-mm, AX)."""
    return {e: BENCHMARKS[e].submission_file for e in entries_of(TASKS[task_name])}


class RunDir:
    """A run's folder. ``entry_files`` says which entries (and prediction files) a task's
    model predicts: GLUE's by default; a suite run passes its suite's
    (``gluebench.runs.suite_units.entry_files``)."""

    def __init__(self, root: str | Path, entry_files=None):
        self.root = Path(root)
        self.entry_files = entry_files or glue_entry_files

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

    def is_run(self) -> bool:
        """Whether the folder holds a gluebench run (its run.json carries our marker)."""
        path = self.root / "run.json"
        if not path.is_file():
            return False
        try:
            return json.loads(path.read_text(encoding="utf-8")).get("format") == RUN_FORMAT
        except (ValueError, UnicodeDecodeError, OSError, AttributeError):
            return False

    def _only_run_parts(self) -> bool:
        """Whether everything in the folder is a part of a run (a run with a damaged run.json)."""
        return all(p.name in RUN_PARTS or p.name in COMPANIONS or p.name == LOCK_NAME
                   for p in self.root.iterdir())

    def check_target(self, *, overwrite: bool) -> None:
        """Before any side effect: ``-o`` is a new or empty folder, or a gluebench run."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root}: -o names an existing file; expected a folder for "
                             "the run (a new name, or an earlier run to resume)")
        if not self.root.is_dir() or self.is_run():
            if self.root.is_dir() and not overwrite:
                self.header()  # a tampered run.json fails here, before anything is written
            return
        damaged_run = (self.root / "run.json").is_file() and self._only_run_parts()
        if damaged_run and not overwrite:
            self.header()  # says how run.json is damaged, and to use --overwrite
        if damaged_run:
            return
        if any(p.name != LOCK_NAME and p.name not in COMPANIONS for p in self.root.iterdir()):
            raise UsageError(f"{self.root} is not empty and is not a gluebench run; refusing to "
                             f"{'delete its files' if overwrite else 'write into it'}: choose "
                             "a new or empty folder")

    def header(self) -> dict:
        return read_signed_json(self.root / "run.json", what="the run's settings (run.json)")

    def start(self, header: dict, *, overwrite: bool = False) -> bool:
        """Record the run's settings, or check them against an earlier start (resume).

        Call ``check_target`` first. Returns True when resuming. Refuses to mix results of
        different settings, models or data.
        """
        if overwrite and self.root.is_dir() and (self.is_run() or self._only_run_parts()):
            for name in RUN_PARTS:
                target = self.root / name
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        # Compared as it will be read back: JSON has lists, not tuples ('dev',) == ['dev'].
        header = json.loads(json.dumps({"format": RUN_FORMAT, **header}))
        if (self.root / "run.json").is_file():
            changed = _differences(self.header(), header)
            if changed:
                raise UsageError(f"{self.root} holds a run with other settings ({changed}); "
                                 "use another -o, or --overwrite to start it again")
        write_signed_json(self.root / "run.json", header)
        return any((self.root / "units").glob("*.json"))

    def done(self, task: str, seed: int | str) -> dict | None:
        path = self.unit_path(task, seed)
        if not path.is_file():
            return None
        unit = read_signed_json(path, what=f"the record of {task} seed {seed}",
                                mend=UNIT_MEND)
        for rel, digest in unit.get("files", {}).items():
            verify_file(self.root / rel, digest, what=f"{rel} (written by {task} seed {seed})",
                        mend=UNIT_MEND)
        return unit

    def save_unit(self, unit: dict) -> None:
        """The unit's marker, with the hash of every file it wrote: written last."""
        files = {}
        for folder in (self.seed_predictions(unit["seed"]),
                       self.seed_predictions(unit["seed"]).parent / "outputs"):
            for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
                if path.is_file() and self._belongs(path.name, unit["task"]):
                    files[str(path.relative_to(self.root))] = sha256_file(path)
        require_finite(unit.get("entries", {}),
                       what=f"the scores of {unit['task']} seed {unit['seed']}")
        write_signed_json(self.unit_path(unit["task"], unit["seed"]), {**unit, "files": files})

    def _belongs(self, file_name: str, task_name: str) -> bool:
        """Whether a prediction or output file is one of ``task_name``'s entries."""
        stem = file_name.rsplit(".", 1)[0]
        return any(stem in (e, f.rsplit(".", 1)[0])
                   for e, f in self.entry_files(task_name).items())

    def units(self) -> list[dict]:
        return [self.done(*p.stem.rsplit("-seed", 1))
                for p in sorted((self.root / "units").glob("*.json"))]

    def promote(self, task: Task, seed: int | str) -> None:
        """Copy one seed's prediction files and dev outputs to the run's own folders."""
        entries = self.entry_files(task.name)
        pairs = [(self.seed_predictions(seed) / split / name, self.predictions / split / name)
                 for split in ("dev", "test") for name in sorted(set(entries.values()))]
        pairs += [(self.seed_predictions(seed).parent / "outputs" / f"{e}.npz",
                   self.outputs / f"{e}.npz") for e in entries]
        for source, target in pairs:
            if source.is_file():
                atomic_write(target, source.read_bytes())


def require_finite(value, *, what: str, minus_inf_ok: bool = False) -> None:
    """Refuse to write a NaN or an infinity: every number a run writes passes through here.

    ``value``: an array, a number, or a JSON tree (dicts, lists) of them. ``minus_inf_ok``
    lets -inf through, for log-probabilities where it means "not among the top-k".
    """
    found = _non_finite(value, "", minus_inf_ok)
    if found is not None:
        where, number = found
        raise GlueBenchError(f"refusing to write {what}: {where or 'a value'} is {number}; a "
                             "result must be a finite number (the model or server gave this)")


def _non_finite(value, where: str, minus_inf_ok: bool) -> tuple[str, float] | None:
    """(where, number) of the first NaN or infinity in ``value``, else None."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        bad = np.isnan(value) | (np.isposinf(value) if minus_inf_ok else np.isinf(value))
        if not bad.any():
            return None
        at = np.unravel_index(int(np.argmax(bad)), value.shape)
        return f"{where}[{', '.join(map(str, at))}]", float(value[at])
    elif isinstance(value, (float, np.floating)):
        ok = math.isfinite(value) or (minus_inf_ok and value == -math.inf)
        return None if ok else (where, float(value))
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}" if where else str(key), minus_inf_ok)
        if found is not None:
            return found
    return None




def _differences(before: dict, now: dict) -> str:
    out = []
    for key in sorted(set(before) | set(now)):
        if key == "config":
            for name in sorted(set(before[key]) | set(now[key])):
                if name not in RESUMABLE_CHANGES and before[key].get(name) != now[key].get(name):
                    out.append(f"{name}: {before[key].get(name)} -> {now[key].get(name)}")
        elif key in ("model", "data_source", "kind", "model_fingerprint") and \
                before.get(key) != now.get(key):
            out.append(f"{key}: {before.get(key)} -> {now.get(key)}")
    return "; ".join(out)


def task_score_of(unit: dict) -> float:
    """A unit's score for choosing the median seed: the mean over its GLUE entries (a suite
    run's unit records its own ``task_score``: the mean over its grouped entries)."""
    if "task_score" in unit:
        return float(unit["task_score"])
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
    tasks, training, files = selected_units(units)
    order = list(BENCHMARKS)
    tasks = dict(sorted(tasks.items(), key=lambda kv: order.index(kv[0])))
    require_finite(tasks, what=f"{run.root / 'results.json'}")
    return {
        **scored_results(header["data_source"], run.predictions / "dev", tasks,
                         n_resamples=n_resamples, seed=seed),
        "kind": header["kind"],
        "suite": run_suite(header),
        "model": header["model"],
        "config": header["config"],
        "training": training,
        "files": dict(sorted(files.items())),
        **extra,
    }


def selected_units(units: list[dict]) -> tuple[dict, dict, dict]:
    """Per task, the median unit: (its entries' scores with the seed spread, training facts
    per task, the hashes of its promoted files)."""
    by_task: dict[str, list[dict]] = {}
    for unit in units:
        by_task.setdefault(unit["task"], []).append(unit)
    tasks, training, files = {}, {}, {}
    for task_name, units in by_task.items():
        chosen = median_seed(units)
        files.update(_promoted_files(chosen))
        for entry, scored in chosen["entries"].items():
            tasks[entry] = {**scored, "seeds": seed_summary(units, entry, chosen["seed"])}
        training[task_name] = {
            "selected_seed": chosen["seed"], "checkpoint": chosen.get("checkpoint"),
            **{k: chosen[k] for k in ("parameters", "layers", "train", "learning_rate", "epochs",
                                      "new_parameters", "model", "label_permutation",
                                      "checkpoint_source", "holdout", "probe", "prompt")
               if k in chosen},
            "per_seed": {str(u["seed"]): u.get("train") for u in units},
            **({"holdout_per_seed": {str(u["seed"]): u["holdout"]["score"] for u in units}}
               if chosen.get("holdout") else {}),
        }
    return tasks, training, files


def run_suite(header: dict) -> dict[str, str]:
    """The suite a run used (``run.json``'s ``suite``; runs started before it was recorded,
    and every run today, are GLUE runs) as ``{"name", "sha256"}``."""
    return load_suite(header.get("suite", DEFAULT_SUITE)).record()


def _promoted_files(unit: dict) -> dict[str, str]:
    """The hashes of a chosen unit's files under the names ``promote`` copies them to."""
    prefix = f"seeds/{unit['seed']}/"
    out = {}
    for rel, digest in unit.get("files", {}).items():
        rel = rel.replace("\\", "/")
        if rel.startswith(prefix):
            out[rel[len(prefix):]] = digest
    return out
