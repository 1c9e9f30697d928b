"""The GLUE tasks as data: files, columns, labels, metrics, official sizes.

Every fact here is read from GLUE's suite definition, ``suites/glue.toml`` (loaded once, at
import); this module gives GLUE's commands the records they have always used. Two kinds:

* ``Task`` — one GLUE dataset as it is shipped (``MNLI`` with its five files).
  A model is trained per task.
* ``Benchmark`` entries — the 11 things the official server scores, one
  submission file each (``MNLI-m`` and ``MNLI-mm`` are two entries of ``MNLI``;
  ``AX`` is scored with an MNLI model).

Labels are listed in the official order, which is also the Hugging Face
``datasets`` order (``ClassLabel`` id ``i`` is ``labels[i]``). Note the traps:
RTE and QNLI put ``entailment`` first, WNLI puts it second, and MNLI's order
differs across codebases — ours is entailment, neutral, contradiction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gluebench.benchmark.lookup import fold, lookup_name
from gluebench.benchmark.suite import Entry, SplitFile, Suite, TaskDef
from gluebench.benchmark.suite_loader import load_suite
from gluebench.errors import UsageError
from gluebench.formats.fields import parse_number, quote

__all__ = ["BENCHMARKS", "GLUE", "GLUE_GROUPS", "TASKS", "Benchmark", "SplitFile", "Task",
           "benchmark_for_file", "get_benchmark", "get_task", "lookup_name", "model_task",
           "registry", "resolve_benchmarks"]


@dataclass(frozen=True)
class Task:
    """A GLUE dataset: what a model sees and what it predicts."""

    name: str
    description: str
    input_fields: tuple[str, ...]      # our names for the inputs, e.g. ("premise", "hypothesis")
    labels: tuple[str, ...] | None     # prediction vocabulary, official order; None: regression
    label_names: tuple[str, ...] | None  # human-readable names of `labels`
    files: dict[str, SplitFile]        # "train", "dev", "test", "dev_mismatched", ...
    hf_config: str                     # config of the Hugging Face `nyu-mll/glue` dataset
    hf_fields: tuple[str, ...]         # the HF dataset's column names for `input_fields`
    score_range: tuple[float, float] | None = None  # regression: the official range (STS-B 0..5)

    @property
    def is_regression(self) -> bool:
        return self.labels is None

    def parse_label(self, value: str, what: str = "label") -> int | float:
        """A label string as a class id into ``labels`` (a finite float for STS-B).

        Strict: the exact official spelling, no surrounding spaces; a score is a plain
        decimal (see ``gluebench.formats.fields``). Raises ValueError saying what was expected;
        ``what`` names the value in it.
        """
        if self.labels is None:
            return parse_number(value, what)
        if value in self.labels:
            return self.labels.index(value)
        if value.strip() in self.labels:
            raise ValueError(f"label {quote(value)} has whitespace around it; expected exactly one "
                             f"of: {', '.join(self.labels)}")
        raise ValueError(f"unknown label {quote(value)}; expected one of: "
                         f"{', '.join(self.labels)}")


@dataclass(frozen=True)
class Benchmark:
    """One entry of the official leaderboard: a submission file and its metrics."""

    name: str                          # e.g. MNLI-m
    task: str                          # e.g. MNLI
    metrics: tuple[str, ...]           # official metrics; the entry's score is their mean
    dev: str                           # key into Task.files used for dev scoring
    test: str                          # key into Task.files used for the submission
    glue_group: str | None             # entries sharing a group are averaged; None: not in score
    submission_file: str = field(default="")
    model: str = ""                    # the task whose model predicts it (AX <- MNLI); "": task
    categories: tuple[str, ...] = ()   # meta columns holding `;`-separated category tags (AX)

    def __post_init__(self) -> None:
        if not self.submission_file:
            object.__setattr__(self, "submission_file", f"{self.name}.tsv")
        if not self.model:
            object.__setattr__(self, "model", self.task)

    def file_key(self, split: str) -> str:
        """The key into ``Task.files`` evaluated for ``split`` ("dev" or "test")."""
        if split not in ("dev", "test"):
            raise UsageError(f"unknown split '{split}'; expected dev or test")
        return self.dev if split == "dev" else self.test


def _task(t: TaskDef) -> Task:
    return Task(t.name, t.description, t.input_fields, t.labels, t.label_names, dict(t.files),
                t.hf_config, t.hf_fields, t.score_range)


def _benchmark(e: Entry) -> Benchmark:
    return Benchmark(e.name, e.task, e.metrics, e.dev, e.test, e.group, e.submission_file,
                     e.model, e.categories)


GLUE: Suite = load_suite("glue")
TASKS: dict[str, Task] = {name: _task(t) for name, t in GLUE.tasks.items()}
BENCHMARKS: dict[str, Benchmark] = {name: _benchmark(e) for name, e in GLUE.entries.items()}

# The nine groups averaged, unweighted, into the GLUE score.
GLUE_GROUPS: tuple[str, ...] = GLUE.aggregate.groups

# Kept for callers outside the package; code asks the task (``score_range``) or the entry
# (``categories``). STS-B's scores run from 0 (unrelated) to 5 (equivalent); AX's coarse
# categories are columns of diagnostic-full.tsv, each holding `;`-separated tags.
STSB_RANGE: tuple[float, float] = next(t.score_range for t in TASKS.values() if t.is_regression)
AX_COARSE_CATEGORIES: tuple[str, ...] = next(b.categories for b in BENCHMARKS.values()
                                             if b.categories)


def get_task(name: str) -> Task:
    """The task called ``name`` (case and dashes are forgiven: ``sst2`` -> ``SST-2``)."""
    return lookup_name(name, TASKS, "task")


def model_task(task: Task) -> Task:
    """The task whose model predicts ``task``'s entries: the definition's ``model`` (AX is
    predicted by the MNLI model); ``task`` itself for every other task."""
    models = {b.model for b in BENCHMARKS.values() if b.task == task.name} - {task.name}
    return TASKS[models.pop()] if len(models) == 1 else task


def get_benchmark(name: str) -> Benchmark:
    """The leaderboard entry called ``name`` (``MNLI-m``, ``AX``, ...)."""
    return lookup_name(name, BENCHMARKS, "benchmark entry")


def benchmark_for_file(filename: str) -> Benchmark | None:
    """The entry whose submission file is ``filename``, if any."""
    return next((b for b in BENCHMARKS.values() if b.submission_file == filename), None)


def resolve_benchmarks(spec: str | None) -> list[Benchmark]:
    """Entries named by a comma-separated list; a task name expands (``MNLI`` -> m and mm)."""
    if spec is None:
        return list(BENCHMARKS.values())
    names = [s.strip() for s in spec.split(",")]
    if not any(names):
        raise UsageError(f"no task named in '{spec}'; expected e.g. CoLA,RTE or all")
    if any(not n for n in names):
        raise UsageError(f"empty task name in '{spec}'; expected names separated by commas")
    out: list[Benchmark] = []
    for name in names:
        if name.lower() == "all":
            out.extend(BENCHMARKS.values())
        elif fold(name) in {fold(b) for b in BENCHMARKS}:
            out.append(get_benchmark(name))
        else:
            task = get_task(name)  # raises "Unknown task ... Did you mean ...?"
            out.extend(b for b in BENCHMARKS.values() if b.task == task.name)
    return list(dict.fromkeys(out))


def registry() -> dict[str, dict]:
    """Every leaderboard entry with its task's facts, as plain data (``gluebench tasks``)."""
    out = {}
    for name, b in BENCHMARKS.items():
        task = TASKS[b.task]
        splits = {"train": "train", "dev": b.dev, "test": b.test}
        out[name] = {
            "task": task.name, "description": task.description,
            "input_fields": list(task.input_fields),
            "labels": list(task.labels) if task.labels else None,
            "label_names": list(task.label_names) if task.label_names else None,
            "metrics": list(b.metrics), "in_glue_score": b.glue_group is not None,
            "submission_file": b.submission_file,
            "splits": {k: {"path": task.files[v].path, "size": task.files[v].size}
                       for k, v in splits.items() if v in task.files},
        }
    return out
