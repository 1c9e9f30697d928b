"""What a sweep or a study asks of its suite, answered for GLUE and for any other suite.

Sweeps (``gluebench.sweep``) and studies (``gluebench.studies``) plan trials per task, pick
configurations on a task's score and test methods on its entries. Every such question goes
through one ``SuiteView``:

* ``task_names``: the trainable tasks a spec names (an entry brings its model's task);
* ``entries`` / ``compared_entries``: the entries a task's model predicts, and those in the
  suite's aggregate (the ones a selection or a claim is tested on);
* ``metrics`` / ``resample``: an entry's metrics and its bootstrap unit (MultiRC: paragraphs);
* ``task_score``: a finished unit's (or trial summary's) score for choosing among seeds;
* ``fingerprints``: what identifies the data a trial of a task reads (its train, dev32 and
  dev rows);
* ``train_size`` / ``dev_sizes``: how many rows a trial trains on and predicts (the cost);
* ``predictions``: a trial's saved dev outputs as the entry's predictions.

For GLUE every answer is the one ``benchmark.tasks`` (``BENCHMARKS``/``TASKS``) gives, so a
GLUE sweep or study writes exactly what it wrote before the suites existed. Any other suite
(FewGLUE, SuperGLUE, a user's TOML) answers from its definition and the suite-run plumbing
(``runs.suite_units``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.logits import predictions_from_logits
from gluebench.benchmark.metric_registry import get_metric
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_hub import is_hub
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, load_suite
from gluebench.benchmark.suite_scoring import load_gold
from gluebench.benchmark.tasks import BENCHMARKS, TASKS, Task
from gluebench.errors import UsageError
from gluebench.runs.integrity import sha256_file
from gluebench.runs.recording import tasks_to_run
from gluebench.runs.rundir import entries_of, task_score_of
from gluebench.runs.suite_units import (
    has_split,
    model_entries,
    predicted_tables,
    suite_model_tasks,
    suite_reference,
    table_fingerprints,
    task_score,
)


def glue_fingerprint(source, task: Task) -> dict:
    """sha256 of the files a GLUE trial of ``task`` reads (train and the dev files it scores)."""
    keys = ["train"] + sorted({BENCHMARKS[e].file_key("dev") for e in BENCHMARKS
                               if BENCHMARKS[e].task == task.name})
    path_of = getattr(source, "path", None)
    out = {}
    for key in keys:
        if not source.has(task, key):
            continue
        if path_of is None:  # not files (the hub): its name and version stand for the data
            out[key] = source.description
            continue
        out[key] = sha256_file(path_of(task, key))
    return out


@dataclass(frozen=True)
class SuiteView:
    """One suite as sweeps and studies see it (``glue``: ``benchmark.tasks`` itself)."""

    suite: Suite

    @functools.cached_property
    def is_glue(self) -> bool:
        """The built-in GLUE (a user's file named ``glue`` is read as any other suite)."""
        return self.suite.name == DEFAULT_SUITE and suite_reference(self.suite) == DEFAULT_SUITE

    @property
    def name(self) -> str:
        return self.suite.name

    def reference(self) -> dict:
        """What a sweep plan or study design records to find the suite again."""
        return {**self.suite.record(), "ref": suite_reference(self.suite),
                "title": self.suite.title}

    # ---- tasks and entries --------------------------------------------------------------

    def task_names(self, names: list[str]) -> list[str]:
        """The trainable tasks ``names`` stand for, canonical, in the order given."""
        if self.is_glue:
            return [t.name for t in tasks_to_run(",".join(names))]
        wanted = [t.name for t in suite_model_tasks(self.suite, ",".join(names))]
        if ",".join(names).strip() in ("", "all"):
            return wanted
        given = [self._model_of(n) for n in names]
        return list(dict.fromkeys(n for n in given if n in wanted))

    def _model_of(self, name: str) -> str:
        if name.casefold() in {e.casefold() for e in self.suite.entries}:
            return self.suite.entry(name).model
        return self.suite.task(name).name

    def entries(self, task: str) -> list[str]:
        """The entries ``task``'s model predicts (MNLI: MNLI-m, MNLI-mm, AX; RTE: RTE, AX-b)."""
        if self.is_glue:
            return entries_of(TASKS[task])
        return [e.name for e in model_entries(self.suite, self.suite.task(task))]

    def in_aggregate(self, entry: str) -> bool:
        """Whether ``entry`` counts in the suite score (GLUE's AX, SuperGLUE's AX-b: no)."""
        if self.is_glue:
            return bool(BENCHMARKS[entry].glue_group)
        return self.suite.entry(entry).group is not None

    def compared_entries(self, task: str) -> list[str]:
        """The entries a task's methods or variants are tested on: those in the aggregate."""
        return [e for e in self.entries(task) if self.in_aggregate(e)]

    def metrics(self, entry: str) -> tuple[str, ...]:
        if self.is_glue:
            return tuple(BENCHMARKS[entry].metrics)
        return self.suite.entry(entry).metrics

    def resample(self, entry: str) -> str:
        """The entry's bootstrap unit: ``example``, or a group (MultiRC: ``paragraph``)."""
        return "example" if self.is_glue else self.suite.entry(entry).resample

    def task_score(self, summary: dict) -> float:
        """A unit's (or trial summary's) score: the mean over its entries in the aggregate."""
        if self.is_glue or "task_score" in summary:
            return task_score_of(summary)
        return task_score(self.suite, summary["entries"])

    # ---- data -----------------------------------------------------------------------------

    def fingerprints(self, source, data: str, task: str) -> dict:
        """What identifies the data a trial of ``task`` reads: GLUE, the files' sha256; a
        suite, the hash of the rows of train and of each dev table its model predicts."""
        if self.is_glue:
            return glue_fingerprint(source, TASKS[task])
        definition = self.suite.task(task)
        if not self.has_train(data, task):
            return {}
        if is_hub(data):   # not files: the hub dataset's name and config stand for the data
            return {"train": f"{self.suite.hub}/{definition.hf_config}"}
        read = {key: load_split(self.suite, definition, key, data) for key in ("train", "dev32")
                if has_split(self.suite, definition, key, data)}   # dev32: what selects
        return table_fingerprints(predicted_tables(self.suite, definition, data, ("dev",)),
                                  read)

    def has_train(self, data: str, task: str) -> bool:
        return has_split(self.suite, self.suite.task(task), "train", data)

    def train_size(self, task: str) -> int:
        """The official size of ``task``'s training set."""
        files = TASKS[task].files if self.is_glue else self.suite.task(task).files
        return files["train"].size

    def predicted_sizes(self, task: str, splits) -> list[tuple[str, int]]:
        """(split, official size) of every file ``task``'s model predicts on ``splits``."""
        if self.is_glue:
            return [(split, TASKS[task].files[b.file_key(split)].size)
                    for b in BENCHMARKS.values() if b.task == task for split in splits]
        out = []
        for entry in model_entries(self.suite, self.suite.task(task)):
            files = self.suite.task(entry.task).files
            out += [(s, files[entry.file_key(s)].size) for s in splits
                    if entry.file_key(s) in files]
        return out

    def predictions(self, entry: str, outputs: np.ndarray) -> np.ndarray:
        """A trial's saved dev outputs (n, classes) as the entry's predictions."""
        if self.is_glue:
            task = TASKS[BENCHMARKS[entry].task]
            # Probabilities rank classes as the logits do; STS-B's outputs are its raw scores.
            return as_written(task, predictions_from_logits(task, outputs, None))
        task = self.suite.task(self.suite.entry(entry).task)
        if task.target != "class":
            return outputs[:, 0].astype(np.float64)
        return np.argmax(outputs, axis=1).astype(np.int64)

    def groups(self, entry: str, data: str, ids: np.ndarray) -> dict[str, np.ndarray]:
        """The group ids (paragraph, question, pair, ...) of ``entry``'s dev rows ``ids``."""
        if self.is_glue or self.resample(entry) == "example" and \
                not self._grouped_metrics(entry):
            return {}
        table = load_gold(self.suite, self.suite.entry(entry), "dev", data)
        position = {int(i): k for k, i in enumerate(table.ids.tolist())}
        missing = [int(i) for i in ids if int(i) not in position]
        if missing:
            raise UsageError(f"{table.source}: no row with id {missing[0]}: the trial's dev "
                             "outputs do not match this data; expected the data the sweep ran on")
        rows = np.array([position[int(i)] for i in ids], dtype=np.int64)
        return {name: g[rows] for name, g in table.groups.items()}

    def _grouped_metrics(self, entry: str) -> bool:
        return any(get_metric(m).unit != "example" for m in self.metrics(entry))

    def n_classes(self, entry: str) -> int:
        if self.is_glue:
            return len(TASKS[BENCHMARKS[entry].task].labels or ())
        return self.suite.task(self.suite.entry(entry).task).n_classes


def suite_view(name_or_path: str | os.PathLike | None = None) -> SuiteView:
    """The view of a built-in suite's name or a suite file (default: GLUE)."""
    return _view(str(name_or_path or DEFAULT_SUITE))


@functools.lru_cache(maxsize=16)
def _view(name_or_path: str) -> SuiteView:
    # Read once per process: a sweep asks for every trial (its cost, its selection).
    return SuiteView(load_suite(name_or_path))


def recorded_view(doc: dict, where: str | Path) -> SuiteView:
    """The suite a sweep plan or study design recorded (none recorded: GLUE), checked to be
    the same definition it was planned with."""
    recorded = doc.get("suite")
    if not recorded:
        return suite_view()
    view = suite_view(recorded["ref"])
    if view.suite.sha256 != recorded["sha256"]:
        raise UsageError(f"{where}: planned with suite {recorded['ref']} (sha256 "
                         f"{recorded['sha256'][:12]}), which has changed since (now "
                         f"{view.suite.sha256[:12]}); expected the same suite definition")
    return view
