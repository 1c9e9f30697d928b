"""The ``[tasks.NAME]`` tables of a suite file: labels, input fields, spans, files per split.

A task's ``[tasks.NAME.read]`` table gives defaults for all its files (format, columns or
field paths, label, index, groups, ...); each ``[tasks.NAME.files.SPLIT]`` table gives
``path`` and ``size`` and may override any default. ``false`` means "none" where TOML has
no null: ``label = false`` (a test file without labels), ``hf_split = false`` (not on the
hub).
"""

from __future__ import annotations

import re

from gluebench.benchmark.jsonpaths import check_against_rows, parse_path
from gluebench.benchmark.suite import PublicLabels, Span, SplitFile, TaskDef
from gluebench.benchmark.toml_table import MISSING, Table
from gluebench.formats.fields import quote

MAX_FILES = 16                  # per task
MAX_LABELS = 1000               # per vocabulary
MAX_FIELDS = 64                 # input fields, columns, groups, meta columns, spans
MAX_FIELD_CHARS = 200           # a column name or field path
MAX_LABEL_CHARS = 100           # a label token
MAX_PATH_CHARS = 512            # a file path
MAX_EXAMPLES = 100_000_000      # a file's official size
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"\S(?:.*\S)?")
SPLIT_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
DEFAULT_HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
IDENT_WHAT = "a name of letters, digits and '_', not starting with a digit"


def relative_path(t: Table, key: str, *, default=MISSING) -> str:
    """A path inside the data folder: relative, '/'-separated, no '..'."""
    text = t.text(key, default=default, max_chars=MAX_PATH_CHARS,
                  what="a relative path such as 'RTE/dev.tsv'")
    problem = path_problem(text) if text else None
    if problem:
        raise t.error(key, f"{quote(text)} {problem}; expected a path inside the data folder, "
                      "such as 'RTE/dev.tsv'")
    return text


def path_problem(text: str) -> str | None:
    """Why ``text`` is not a safe relative path, or None."""
    if text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", text):
        return "is absolute"
    if "\\" in text:
        return "uses '\\'; separate folders with '/'"
    parts = text.split("/")
    if ".." in parts:
        return "leaves the data folder ('..')"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' part"
    return None


# ---- the task table -------------------------------------------------------------------

def read_task(name: str, t: Table, *, has_hub: bool) -> TaskDef:
    description = t.text("description", default="", max_chars=2000)
    inputs = t.texts("input_fields", min_items=1, max_items=MAX_FIELDS, max_chars=64,
                     pattern=IDENT, what=IDENT_WHAT)
    target, labels, label_names, score_range = _target(t)
    unscored = t.texts("unscored", default=(), max_items=16, max_chars=MAX_LABEL_CHARS,
                       pattern=TOKEN, what="a gold token")
    if unscored and target != "class":
        raise t.error("unscored", "only for a task with labels")
    if set(unscored) & set(labels or ()):
        raise t.error("unscored", f"{quote(sorted(set(unscored) & set(labels))[0])} is also a "
                      "label; expected tokens outside the vocabulary")
    hf_config = t.text_or_false("hf_config", default=None, max_chars=100, what="a config name")
    if hf_config is not None and not has_hub:
        raise t.error("hf_config", "the suite names no hub dataset (suite.hub); expected no "
                      "hf_config")
    hf_fields = t.texts("hf_fields", default=inputs, max_items=MAX_FIELDS, max_chars=64)
    if len(hf_fields) != len(inputs):
        raise t.error("hf_fields", f"{len(hf_fields)} names; expected {len(inputs)}, one per "
                      f"input field ({', '.join(inputs)})")
    spans = tuple(_span(s, inputs) for s in t.table_list("spans", max_items=MAX_FIELDS))
    read = t.subtable("read")
    files = {key: _split_file(key, f, read, inputs, hf_config)
             for key, f in t.subtables("files", max_items=MAX_FILES, min_items=1,
                                       name_pattern=SPLIT_KEY, what="file").items()}
    read.done()
    t.done()
    return TaskDef(name, description, inputs, labels, label_names, files, hf_config,
                   hf_fields, target, score_range, unscored, spans)


def _target(t: Table):
    """(target, labels, label_names, score_range): exactly one of the three kinds."""
    given = [k for k in ("labels", "score_range", "target") if t.has(k)]
    if len(given) != 1:
        found = f"both {' and '.join(given)}" if given else "none of labels, score_range, target"
        raise t.error(None, f"{found} given; expected exactly one: labels (a vocabulary), "
                      "score_range (a regression) or target = 'entity'")
    if t.has("label_names") and given != ["labels"]:
        raise t.error("label_names", "only for a task with labels")
    if given == ["labels"]:
        labels = t.texts("labels", min_items=2, max_items=MAX_LABELS, max_chars=MAX_LABEL_CHARS,
                         pattern=TOKEN, what="a label token without surrounding spaces")
        names = t.texts("label_names", default=labels, min_items=len(labels),
                        max_items=len(labels), max_chars=MAX_LABEL_CHARS)
        return "class", labels, names, None
    if given == ["score_range"]:
        bounds = t.array("score_range", min_items=2, max_items=2, what="[low, high]")
        low, high = (t.check_number(("score_range", i), v) for i, v in enumerate(bounds))
        if not low < high:
            raise t.error("score_range", f"[{low:g}, {high:g}]; expected low < high")
        return "score", None, None, (low, high)
    t.choice("target", ("entity",))
    return "entity", None, None, None


def _span(s: Table, inputs: tuple[str, ...]) -> Span:
    def field(key: str) -> str | None:
        value = s.text(key, default=None, max_chars=64)
        if value is not None and value not in inputs:
            raise s.error(key, f"{quote(value)} is not an input field ({', '.join(inputs)})")
        return value

    text, unit = field("text"), s.choice("unit", ("char", "token"))
    start, end, covers, items = field("start"), field("end"), field("covers"), field("list")
    inclusive = s.boolean("inclusive", default=False)
    s.done()
    if text is None:
        raise s.error("text", "missing key; expected the input field holding the text")
    if (start is None) == (items is None):
        raise s.error(None, "expected exactly one of start (a span's offset field) or list "
                      "(a field of {start, end} objects)")
    if unit == "token" and (end or items or inclusive):
        raise s.error("unit", "a token span has only start (a whitespace-token index) and "
                      "optionally covers (its text, whose tokens give its length)")
    if end is not None and covers is not None:
        raise s.error("covers", "give end or covers, not both")
    if inclusive and end is None and items is None:
        raise s.error("inclusive", "only with end or list")
    return Span(text, unit, start, end, covers, items, inclusive)


# ---- one file ---------------------------------------------------------------------------

def _split_file(key: str, f: Table, read: Table, inputs: tuple[str, ...],
                hf_config: str | None) -> SplitFile:
    def layer(name: str) -> Table:
        f.asked.append(name)
        read.asked.append(name)
        return f if name in f.data else read

    path = relative_path(f, "path")
    size = f.integer("size", low=1, high=MAX_EXAMPLES)
    fmt = layer("format").choice("format", ("tsv", "jsonl"), default="tsv")
    columns = layer("inputs").texts("inputs", max_items=MAX_FIELDS, max_chars=MAX_FIELD_CHARS,
                                    unique=False, what="a column name or field path")
    if len(columns) != len(inputs):
        raise layer("inputs").error("inputs", f"{len(columns)} columns; expected "
                                    f"{len(inputs)}, one per input field ({', '.join(inputs)})")
    label, index = (layer(k).text_or_false(k, default=None, max_chars=MAX_FIELD_CHARS)
                    for k in ("label", "index"))
    header = _only(layer, "header", fmt, "tsv", lambda t: t.texts(
        "header", max_items=MAX_FIELDS, min_items=1, max_chars=MAX_FIELD_CHARS))
    quoting = _only(layer, "quoting", fmt, "tsv", lambda t: t.boolean("quoting")) or False
    rows = _only(layer, "rows", fmt, "jsonl", lambda t: t.text(
        "rows", max_chars=MAX_FIELD_CHARS)) or ""
    groups = _groups(layer("groups"))
    pairs = layer("pairs").boolean("pairs", default=False)
    meta = layer("meta").texts("meta", default=(), max_items=MAX_FIELDS,
                               max_chars=MAX_FIELD_CHARS)
    hf_split = _hf_split(layer("hf_split"), key, hf_config)
    public = _public_labels(layer("public_labels"))
    spec = SplitFile(path, size, columns, label, index, header, fmt, quoting, rows, groups,
                     pairs, meta, hf_split, public)
    _check_columns(spec, layer)
    f.done()
    return spec


def _only(layer, key: str, fmt: str, wanted: str, read):
    table = layer(key)
    if not table.has(key):
        return None
    if fmt != wanted:
        raise table.error(key, f"only for format = '{wanted}'; this file is '{fmt}'")
    return read(table)


def _groups(t: Table) -> tuple[tuple[str, str], ...]:
    table = t.subtable("groups")
    out = []
    for name in table.names():
        table.check_text(name, name, max_chars=64, pattern=IDENT, what=IDENT_WHAT)
        out.append((name, table.text(name, max_chars=MAX_FIELD_CHARS)))
    if len(out) > MAX_FIELDS:
        raise t.error("groups", f"{len(out)} groups; expected at most {MAX_FIELDS}")
    table.done()
    return tuple(out)


def _hf_split(t: Table, key: str, hf_config: str | None) -> str | None:
    default = DEFAULT_HF_SPLITS.get(key) if hf_config else None
    value = t.text_or_false("hf_split", default=default, max_chars=100, what="a split name")
    if value is not None and hf_config is None:
        raise t.error("hf_split", "the task has no hf_config; expected no hf_split")
    return value


def _public_labels(t: Table) -> PublicLabels | None:
    if not t.has("public_labels"):
        return None
    table = t.subtable("public_labels")
    path = relative_path(table, "path")
    if table.has("column") and type(table.data["column"]) is int:
        column: str | int = table.integer("column", low=0, high=MAX_FIELDS - 1)
    else:
        column = table.text("column", max_chars=MAX_FIELD_CHARS,
                            what="a column name or a 0-based column position")
    table.done()
    return PublicLabels(path, column)


def _check_columns(spec: SplitFile, layer) -> None:
    """Paths that parse and fit the rows path (jsonl); columns that exist (tsv with header)."""
    named = [("inputs", c) for c in spec.text_columns] + [
        (k, c) for k, c in (("label", spec.label_column), ("index", spec.index_column)) if c
    ] + [("groups", c) for _, c in spec.groups]
    if spec.format == "jsonl":
        for key, column in [("rows", spec.rows), *named,
                            *(("meta", m) for m in spec.meta_columns)]:
            try:
                check_against_rows(parse_path(spec.rows), parse_path(column))
            except ValueError as exc:
                raise layer(key).error(key, str(exc)) from None
    elif spec.header is not None:
        for key, column in named:
            if column not in spec.header:
                raise layer(key).error(key, f"column {quote(column)} is not in the header "
                              f"({', '.join(spec.header)})")
    if spec.pairs and "pair" in dict(spec.groups):
        raise layer("pairs").error("pairs", "a group is already called 'pair'")
