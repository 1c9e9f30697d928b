"""Reading suite files — the built-in ones and a user's — with every check on the way.

``check_suite(path)`` (``gluebench suite check FILE``) reads a TOML file into a ``Suite``
or raises one ``DataError`` line naming the key: a missing key, a value of the wrong
type, an unknown key (a typo, with a suggestion), an unknown metric (did you mean...?),
a reference to a task, file, group or column that does not exist, a path that leaves
the data folder (absolute or ``..``), a non-UTF-8 or non-TOML file, or a value beyond
a cap (a suite file beyond them is a mistake or a hostile file, not a benchmark):

    the file 1 MiB; 200 tasks; 400 entries; 16 files per task; 1000 labels per task;
    64 items in any other list (input fields, columns, groups, categories, spans);
    8 metrics per entry; names 64 characters, descriptions 2000, column names and field
    paths 200 (16 steps), file paths 512; a file's size at most 100,000,000 examples.

They are generous: SuperGLUE needs 10 tasks, 3 files each, at most 7 input fields.

The file format is documented by the built-in suites (``suites/glue.toml`` explains
each key) and ``examples/suites/``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from gluebench.benchmark.metric_registry import METRICS, unknown_metric_message
from gluebench.benchmark.suite import Aggregate, Entry, SubmissionFormat, Suite
from gluebench.benchmark.suite_tasks import read_task, relative_path
from gluebench.benchmark.toml_table import Table
from gluebench.errors import DataError, UsageError
from gluebench.formats.fields import quote

BUILTIN_DIR = Path(__file__).parent / "suites"
DEFAULT_SUITE = "glue"

MAX_SUITE_BYTES = 1024 * 1024   # the suite file itself (GLUE's is about 12 kB)
MAX_TASKS = 200
MAX_ENTRIES = 400
MAX_METRICS = 8                 # per entry
MAX_NAME_CHARS = 64             # suite, task, entry, group and metric names
MAX_TEXT_CHARS = 2000           # titles and descriptions

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SUITE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+")
NAME_WHAT = "a name of letters, digits, '.', '-' and '_'"
# how a prediction row names its gold row: the file's id column, the 0-based position in
# the gold file (an id field holding it: CLUE), or the line order itself (no id: KLEJ)
ID_MODES = ("file", "position", "order")


# ---- the public entry points ------------------------------------------------------------

def list_suites() -> dict[str, Path]:
    """The built-in suites by name (``fewglue``, ``glue``, ``superglue``)."""
    return {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.toml"))}


def load_suite(name_or_path: str | os.PathLike = DEFAULT_SUITE) -> Suite:
    """A built-in suite by name, or a suite file by path (``--suite NAME|PATH``)."""
    builtin, text = list_suites(), str(name_or_path)
    if text in builtin:
        return check_suite(builtin[text])
    if Path(text).exists() or text.endswith(".toml") or "/" in text or os.sep in text:
        return check_suite(text)
    close = difflib.get_close_matches(text, list(builtin), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"unknown suite '{text}'.{hint} Built-in: {', '.join(builtin)}; or give "
                     "the path of a suite file (.toml)")


def check_suite(path: str | os.PathLike) -> Suite:
    """Read and validate a suite file; any problem is one DataError naming the key."""
    raw = _read_bytes(Path(path))
    return build_suite(parse_toml(raw, path), path, suite_hash(raw))


def canonical_bytes(raw: bytes) -> bytes:
    """A suite file's bytes as hashed: no BOM, LF line endings (so the hash survives a
    checkout that converts line endings)."""
    raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    return raw.replace(b"\r\n", b"\n")


def suite_hash(raw: bytes) -> str:
    """The content hash recorded in results.json: sha256 of the canonical file bytes."""
    return hashlib.sha256(canonical_bytes(raw)).hexdigest()


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(path, "suite file not found" if not path.exists() else "not a file")
    size = path.stat().st_size
    if size > MAX_SUITE_BYTES:
        raise DataError(path, f"{size} bytes; a suite file may have at most {MAX_SUITE_BYTES}")
    return path.read_bytes()


def parse_toml(raw: bytes, where: str | os.PathLike) -> dict:
    """The TOML document in ``raw`` (UTF-8; a leading BOM is dropped)."""
    raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(where, f"not valid UTF-8 (byte {exc.start}); a suite file is UTF-8 "
                        "text", line) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(where, f"not valid TOML: {exc}") from None


# ---- the document ---------------------------------------------------------------------

def build_suite(raw: dict, where: str | os.PathLike, digest: str) -> Suite:
    """A ``Suite`` from a parsed TOML document, every key checked."""
    top = Table(raw, where)
    head = top.subtable("suite", required=True)
    name = head.text("name", max_chars=MAX_NAME_CHARS, pattern=SUITE_NAME,
                     what="a suite name of lower-case letters, digits, '-' and '_'")
    title = head.text("title", default=name, max_chars=MAX_NAME_CHARS)
    description = head.text("description", default="", max_chars=MAX_TEXT_CHARS)
    folder = relative_path(head, "folder", default="")
    hub = head.text_or_false("hub", default=None, max_chars=200,
                             what="a Hugging Face dataset name")
    head.done()
    tasks = {key: read_task(key, table, has_hub=hub is not None)
             for key, table in top.subtables("tasks", max_items=MAX_TASKS, min_items=1,
                                             name_pattern=NAME, what="task").items()}
    submission = _submission(top.subtable("submission", required=True))
    entries = {key: _entry(key, table, tasks, submission)
               for key, table in top.subtables("entries", max_items=MAX_ENTRIES, min_items=1,
                                               name_pattern=NAME, what="entry").items()}
    aggregate = _aggregate(top.subtable("aggregate", required=True), entries)
    _check_submission(top, submission, entries, tasks)
    top.done()
    return Suite(name, title, description, folder, hub, tasks, entries, aggregate, submission,
                 str(where), digest)


# ---- entries ---------------------------------------------------------------------------

def _entry(name: str, e: Table, tasks: dict, submission: SubmissionFormat) -> Entry:
    task = tasks[_reference(e, "task", tasks, default=name, what="task")]
    model = tasks[_reference(e, "model", tasks, default=task.name, what="task")]
    if (model.labels, model.target) != (task.labels, task.target):
        raise e.error("model", f"task '{model.name}' predicts "
                      f"{_vocabulary(model)}, but '{task.name}' is labelled with "
                      f"{_vocabulary(task)}; expected a task with the same labels")
    metrics = _metrics(e, task)
    owner = f" of task '{task.name}'"
    dev = _reference(e, "dev", task.files, default="dev", what="file", owner=owner)
    test = _reference(e, "test", task.files, default="test", what="file", owner=owner)
    group = e.text_or_false("group", default=None, max_chars=MAX_NAME_CHARS, pattern=NAME,
                            what=NAME_WHAT)
    categories = e.texts("categories", default=(), max_items=64, max_chars=200,
                         what="a column name")
    for i, column in enumerate(categories):
        if column not in task.files[dev].meta_columns:
            raise e.error(("categories", i), f"{quote(column)} is not a meta column of "
                          f"{task.name}'s '{dev}' file; expected one of: "
                          f"{', '.join(task.files[dev].meta_columns) or 'none'}")
    resample = _resample(e, task, metrics, (dev, test))
    default_file = submission.file.replace("{entry}", name)
    file = e.text("file", default=default_file, max_chars=200, pattern=FILE_NAME,
                  what="a file name such as CoLA.tsv")
    e.done()
    return Entry(name, task.name, metrics, dev, test, group, file, model.name, categories,
                 resample)


def _reference(t: Table, key: str, known: dict, *, default: str, what: str,
               owner: str = "") -> str:
    value = t.text(key, default=default, max_chars=MAX_NAME_CHARS)
    if value not in known:
        close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise t.error(key, f"unknown {what} {quote(value)}{owner}{hint} (known: "
                      f"{', '.join(known)})")
    return value


def _vocabulary(task) -> str:
    if task.target == "class":
        return "labels " + ", ".join(task.labels)
    return "scores" if task.target == "score" else "entity answers"


def _metrics(e: Table, task) -> tuple[str, ...]:
    names = e.texts("metrics", max_items=MAX_METRICS, min_items=1, max_chars=MAX_NAME_CHARS,
                    what="a metric name")
    for i, name in enumerate(names):
        if name not in METRICS:
            raise e.error(("metrics", i), unknown_metric_message(name))
        metric = METRICS[name]
        if metric.target != task.target:
            raise e.error(("metrics", i), f"'{name}' is a metric for {metric.target} "
                          f"targets; task '{task.name}' has {task.target} targets")
        if metric.n_classes is not None and task.n_classes != metric.n_classes:
            raise e.error(("metrics", i), f"'{name}' is defined for {metric.n_classes} "
                          f"classes; task '{task.name}' has {task.n_classes}")
    kinds = {METRICS[n].additive for n in names}
    if len(kinds) > 1:
        raise e.error("metrics", "mixes correlations with metrics over counts; an entry's "
                      "metrics must share one bootstrap")
    return names


def _resample(e: Table, task, metrics: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """The bootstrap unit: a group holding each metric's unit (default: the coarsest one)."""
    units = [METRICS[m].unit for m in metrics if METRICS[m].unit != "example"]
    available = set.intersection(*(set(task.files[k].group_names) for k in keys))
    for m in metrics:
        if METRICS[m].unit != "example" and METRICS[m].unit not in available:
            raise e.error("metrics", f"'{m}' is defined over {METRICS[m].unit}s, but "
                          f"{task.name}'s files {', '.join(keys)} declare no group "
                          f"'{METRICS[m].unit}' (groups: {', '.join(sorted(available)) or 'none'})")
    default = units[0] if len(set(units)) == 1 else ("example" if not units else None)
    value = e.text("resample", default=default, max_chars=MAX_NAME_CHARS)
    if value is None:
        raise e.error("resample", f"missing key; the metrics are defined over "
                      f"{', '.join(sorted(set(units)))}: name the group to resample")
    if value != "example" and value not in available:
        raise e.error("resample", f"unknown unit {quote(value)}; expected 'example' or a "
                      f"group of {task.name}'s files: {', '.join(sorted(available)) or 'none'}")
    return value


# ---- aggregate and submission -------------------------------------------------------------

def _aggregate(a: Table, entries: dict[str, Entry]) -> Aggregate:
    name = a.text("name", max_chars=MAX_NAME_CHARS, pattern=re.compile(r"[a-z][a-z0-9_]*"),
                  what="a results key such as glue_score")
    groups = a.texts("groups", max_items=MAX_ENTRIES, min_items=1, max_chars=MAX_NAME_CHARS,
                     pattern=NAME, what=NAME_WHAT)
    a.done()
    used = {e.group for e in entries.values() if e.group is not None}
    for i, group in enumerate(groups):
        if group not in used:
            raise a.error(("groups", i), f"no entry is in group {quote(group)}; expected "
                          "groups named by entries' 'group' keys")
    for e in entries.values():
        if e.group is not None and e.group not in groups:
            raise a.error("groups", f"entry '{e.name}' is in group {quote(e.group)}, which "
                          "is not listed; list every group (entries beside the score have "
                          "no group)")
    return Aggregate(name, groups)


def _submission(s: Table) -> SubmissionFormat:
    fmt = s.choice("format", ("tsv", "jsonl"))
    template = s.text("file", default=f"{{entry}}.{fmt}", max_chars=200,
                      what="a file name template with {entry}")
    if "{entry}" not in template or not FILE_NAME.fullmatch(template.replace("{entry}", "x")):
        raise s.error("file", f"{quote(template)}; expected a file name template with "
                      "{entry}, such as '{entry}.tsv'")
    tsv = fmt == "tsv"
    ids = s.choice("ids", ID_MODES, default="file")
    dev_ids = s.choice("dev_ids", ID_MODES, default=ids)
    order = "order" in (ids, dev_ids)
    if order and (not tsv or ids != dev_ids):
        raise s.error("ids", "'order' (rows by line order, no id column) needs a tsv "
                      "submission and the same ids for dev and test")
    header = s.texts("header", default=("target",) if order else ("index", "prediction"),
                     min_items=1, max_items=2,
                     max_chars=MAX_NAME_CHARS) if tsv else _absent(s, "header", fmt)
    if header and len(header) != 2 - order:
        raise s.error("header", f"{len(header)} column(s); expected " + (
            "one, the label's (ids = 'order' has no id column)" if order
            else "two, the id's and the label's"))
    fields = [s.text(k, default=d, max_chars=MAX_NAME_CHARS) if not tsv
              else _absent(s, k, fmt) for k, d in (("id_field", "idx"), ("label_field", "label"))]
    booleans = s.choice("booleans", ("string", "json"), default="string")
    clip = s.boolean("clip_to_range", default=False)
    nested = s.texts("nested", default=(), max_items=MAX_ENTRIES, max_chars=MAX_NAME_CHARS)
    s.done()
    return SubmissionFormat(fmt, template, header or ("index", "prediction"),
                            fields[0] or "idx", fields[1] or "label", ids, dev_ids, booleans,
                            clip, nested)


def _absent(s: Table, key: str, fmt: str):
    if s.has(key):
        raise s.error(key, f"only for another submission format; this one is '{fmt}'")
    return None


def _check_submission(top: Table, sub: SubmissionFormat, entries: dict, tasks: dict) -> None:
    s = top.subtable("submission")
    files: dict[str, str] = {}
    for e in entries.values():
        if e.submission_file in files:
            raise top.error(("entries", e.name, "file"), f"{quote(e.submission_file)} is "
                            f"also the file of entry '{files[e.submission_file]}'; expected "
                            "one file per entry")
        files[e.submission_file] = e.name
    for i, name in enumerate(sub.nested):
        if name not in entries:
            raise s.error(("nested", i), f"unknown entry {quote(name)}")
        if sub.format != "jsonl" or not tasks[entries[name].task].files[entries[name].test].rows:
            raise s.error(("nested", i), f"entry '{name}' cannot nest: nesting needs a jsonl "
                          "submission and a test file whose rows path is nested")

