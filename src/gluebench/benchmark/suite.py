"""A suite — GLUE, SuperGLUE, a user's own benchmark — as data, loaded from one TOML file.

A suite holds:

* its **tasks** (``TaskDef``): the datasets a model is trained on, with their input
  fields, their label vocabulary in the official order (or a score range, or entity
  answers) and their files per split (``SplitFile``: path, official size, format);
* its **entries** (``Entry``): what is scored and submitted — metrics, the task whose
  model predicts it (GLUE's AX is predicted by the MNLI model), which file is dev/test,
  category columns;
* its **aggregate** rule: groups of entries averaged (unweighted) into the suite score;
  entries in no group are reported beside it;
* its **submission format**: file names and the layout of each prediction file.

The built-in suites are TOML files in ``gluebench/benchmark/suites/``, in the same format
users write (see ``examples/suites/``); ``suite_loader`` reads and validates them.

Where files live: a file's ``path`` is relative to the suite's *data folder*. Given
``--data-dir D``, the data folder is ``D/<folder>`` when that is a directory, else ``D``
itself — so ``--data-dir ../shared/data`` and ``--data-dir ../shared/data/glue`` both
work for GLUE (``folder = "glue"``), and a suite that mixes folders (FewGLUE: its own
training files, SuperGLUE's val files) has ``folder = ""`` and paths that start with the
sub-folder (``fewglue/BoolQ/train.jsonl``, ``superglue/BoolQ/val.jsonl``). A path never
leaves the data folder: absolute paths and ``..`` are refused when the suite is loaded,
symlinks that lead outside when a file is opened (``data_path``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gluebench.benchmark.tasks import lookup_name
from gluebench.errors import DataError, UsageError


@dataclass(frozen=True)
class PublicLabels:
    """A published file holding a hidden-by-default split's labels, rows in the split's order."""

    path: str            # relative to the data folder
    column: str | int    # a header name, or a 0-based position in a file without a header


@dataclass(frozen=True)
class Span:
    """Offsets into an input text, checked when a file is read.

    ``unit`` "char": ``start``/``end`` are character offsets (``end`` exclusive unless
    ``inclusive``), or ``start`` with ``covers`` (the span's text, checked to be there).
    ``unit`` "token": ``start`` indexes the text's whitespace-separated tokens; ``covers``
    names the span's text, whose token count is the span's length (not checked against the
    text: WSC's span texts differ from it in case and punctuation).
    ``list``: the field holds ``[{"start", "end"}, ...]`` objects (ReCoRD's entities),
    each replaced by its text.
    """

    text: str
    unit: Literal["char", "token"]
    start: str | None = None
    end: str | None = None
    covers: str | None = None
    list: str | None = None
    inclusive: bool = False


@dataclass(frozen=True)
class SplitFile:
    """One file of a task: where it lives, its official size, and how to read it.

    The first six fields are GLUE's (``gluebench.benchmark.tasks.SplitFile``). For ``jsonl`` files,
    columns are field paths: ``a.b`` descends into objects, ``a[]`` steps into each item
    of a list; ``rows`` names the list whose items are the examples (MultiRC:
    ``passage.questions[].answers[]``, one row per answer option; ``""``: one per line).
    """

    path: str                              # relative to the suite's data folder
    size: int                              # official number of rows (examples)
    text_columns: tuple[str, ...]          # columns (or field paths) of the input fields
    label_column: str | None = None        # None: no gold labels in this file
    index_column: str | None = None        # None: the 0-based row position is the id
    header: tuple[str, ...] | None = None  # tsv: column names of a file without a header line
    format: Literal["tsv", "jsonl"] = "tsv"
    quoting: bool = False                  # tsv: CSV-style double quotes (off for GLUE, KLEJ)
    rows: str = ""                         # jsonl: the list whose items are the rows
    groups: tuple[tuple[str, str], ...] = ()  # (group name, column or path of its id)
    pairs: bool = False                    # rows 2k, 2k+1 form minimal pair k (group "pair")
    meta_columns: tuple[str, ...] = ()     # kept beside the inputs when present (categories)
    hf_split: str | None = None            # split name on the hub; None: not on the hub
    public_labels: PublicLabels | None = None

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.groups) + (("pair",) if self.pairs else ())


@dataclass(frozen=True)
class TaskDef:
    """A dataset as shipped; a model is trained per task. Fields as ``benchmark.tasks.Task``."""

    name: str
    description: str
    input_fields: tuple[str, ...]
    labels: tuple[str, ...] | None          # vocabulary in the official order (id i = labels[i])
    label_names: tuple[str, ...] | None     # human-readable names of ``labels``
    files: dict[str, SplitFile]             # "train", "dev", "test", "dev_mismatched", ...
    hf_config: str | None                   # config of the suite's hub dataset
    hf_fields: tuple[str, ...]              # the hub dataset's columns for ``input_fields``
    target: Literal["class", "score", "entity"] = "class"
    score_range: tuple[float, float] | None = None  # scores: the official range (STS-B 0..5)
    unscored: tuple[str, ...] = ()          # gold tokens meaning "no gold label" (OCNLI "-")
    spans: tuple[Span, ...] = ()

    @property
    def is_regression(self) -> bool:
        return self.target == "score"

    @property
    def n_classes(self) -> int:
        return len(self.labels or ())


@dataclass(frozen=True)
class Entry:
    """One scored line of the leaderboard: a submission file and its metrics."""

    name: str
    task: str                      # the task whose files hold its examples
    metrics: tuple[str, ...]       # from the metric registry; the entry's score is their mean
    dev: str                       # key into the task's files scored for --split dev
    test: str                      # key into the task's files submitted for --split test
    group: str | None              # entries sharing a group are averaged; None: beside the score
    submission_file: str
    model: str                     # the task whose model predicts it (AX <- MNLI, AX-b <- RTE)
    categories: tuple[str, ...] = ()  # meta columns holding ';'-separated category tags
    resample: str = "example"      # the bootstrap's unit: "example" or a group of the task

    def file_key(self, split: str) -> str:
        if split not in ("dev", "test"):
            raise UsageError(f"unknown split '{split}'; expected dev or test")
        return self.dev if split == "dev" else self.test


@dataclass(frozen=True)
class Aggregate:
    """The suite score: the unweighted mean of group scores (a group: mean of its entries)."""

    name: str                      # the results key: "glue_score", "superglue_score"
    groups: tuple[str, ...]        # in the order tables show them


@dataclass(frozen=True)
class SubmissionFormat:
    """How prediction files look, one per entry, zipped for the official server.

    ``tsv``: ``header`` then ``ID<TAB>LABEL`` rows, labels as vocabulary tokens.
    ``jsonl``: ``{id_field: ID, label_field: LABEL}`` lines. A label token that is a
    decimal integer is written as a JSON number (COPA's 0/1); the tokens of a
    ``("false", "true")`` vocabulary as strings (``booleans = "string"``, the official
    jiant baseline's lower-case "true"/"false") or JSON booleans (``"json"``); an entity
    task's label is the entity's text. Entries in ``nested`` write one line per data
    line with the rows nested as in the data file (MultiRC: per paragraph).
    ``ids``/``dev_ids``: rows are identified by the file's id column (``file``), by
    their 0-based position in the gold file written as the id (``position``: CLUE's
    ``{"id": i, ...}``, lines in any order), or by the line order of a ``tsv`` file whose
    ``header`` is the label column alone (``order``: KLEJ's ``target`` files).
    """

    format: Literal["tsv", "jsonl"]
    file: str = "{entry}.tsv"
    header: tuple[str, ...] = ("index", "prediction")
    id_field: str = "idx"
    label_field: str = "label"
    ids: Literal["file", "position", "order"] = "file"
    dev_ids: Literal["file", "position", "order"] = "file"
    booleans: Literal["string", "json"] = "string"
    clip_to_range: bool = False    # scores outside the task's range are clipped (GLUE's server)
    nested: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A whole benchmark definition; ``source`` and ``sha256`` say which file it came from."""

    name: str
    title: str
    description: str
    folder: str
    hub: str | None
    tasks: dict[str, TaskDef]
    entries: dict[str, Entry]
    aggregate: Aggregate
    submission: SubmissionFormat
    source: str
    sha256: str

    def task(self, name: str) -> TaskDef:
        return lookup_name(name, self.tasks, f"{self.title} task")

    def record(self) -> dict[str, str]:
        """What ``results.json`` records of the suite a run used: its name and content hash."""
        return {"name": self.name, "sha256": self.sha256}

    def entry(self, name: str) -> Entry:
        return lookup_name(name, self.entries, f"{self.title} entry")

    def beside(self) -> tuple[str, ...]:
        """Entries reported beside the suite score (GLUE's AX; SuperGLUE's AX-b, AX-g)."""
        return tuple(name for name, e in self.entries.items() if e.group is None)

    def data_folder(self, data_dir: str | os.PathLike) -> Path:
        """Where this suite's paths start, given ``--data-dir`` (see the module docstring)."""
        data_dir = Path(data_dir)
        inside = data_dir / self.folder if self.folder else data_dir
        return inside if inside.is_dir() else data_dir

    def data_path(self, data_dir: str | os.PathLike, relative: str) -> Path:
        """A file of this suite under ``data_dir``; one that resolves outside is refused."""
        return data_path(self.data_folder(data_dir), relative)


def data_path(folder: str | os.PathLike, relative: str) -> Path:
    """``folder/relative``, refused (DataError) when a symlink makes it lead outside ``folder``."""
    folder = Path(folder)
    path = folder / relative
    root, real = folder.resolve(), path.resolve()
    if real != root and root not in real.parents:
        raise DataError(path, f"resolves to {real}, outside the data folder {root} (through "
                        "a symbolic link); expected a file inside the data folder")
    return path
