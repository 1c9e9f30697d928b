"""A sweep spec (TOML): what to train, over which values, with what per trial.

::

    models = ["sentence-transformers/all-MiniLM-L6-v2"]   # default: the embedded model
    suite = "glue"                                      # or superglue, fewglue, a suite file
    tasks = ["RTE", "MRPC"]                             # the suite's tasks (or entries)
    methods = ["full", "lora"]                          # default: ["full"]
    seeds = [1, 2]                                      # default: [1]
    select_on = "train-holdout"                         # or "dev" (labelled dev-selected);
                                                        # a suite: "dev32" (its default where
                                                        # every task has one) or "dev"
    [grid]                 # every combination of these TrainConfig fields
    learning_rate = [1e-4, 3e-4]
    [random]               # or: `samples` draws, each field a list (choice) or {low, high, log}
    samples = 4
    seed = 0
    warmup_ratio = { low = 0.0, high = 0.2 }
    [fixed]                # the same for every trial
    max_train_examples = 64
    [resources]            # per trial
    cpus = 1
    gpus = 0               # a fraction (0.25) packs small models onto one GPU

Every value is checked with ``TrainConfig``'s own types (``train.config.coerce``), so a
bad spec is one ``UsageError`` before anything runs. A spec is small: at most
``MAX_SPEC_BYTES``, values nested at most ``MAX_NESTING`` deep, strings of at most
``MAX_STRING`` characters, and at most ``MAX_TRIALS`` trials (several specs can share a
SWEEP_DIR).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

from gluebench.errors import UsageError
from gluebench.formats.fields import escape, quote
from gluebench.models.hf import resolve_model
from gluebench.train.config import FIELDS, coerce, parse_seed

SELECT_ON = ("train-holdout", "dev", "dev32")
DEFAULT_SUITE = "glue"
DEFAULT_HOLDOUT = 0.2
TOP_LEVEL = ("suite", "models", "tasks", "methods", "seeds", "select_on", "grid", "random", "fixed",
             "resources")
# These have their own top-level lists (or are set per trial): not sweepable fields.
RESERVED = {"model": "models", "method": "methods", "seeds": "seeds"}
# What a sweep changes from finetune's defaults: no checkpoints, no test predictions per trial.
SWEEP_DEFAULTS = {"save_checkpoints": False, "splits": ("dev",)}
RANDOM_KEYS = ("samples", "seed")
MAX_TRIALS = 10_000        # one sweep; a bigger grid is almost surely a mistake
MAX_SPEC_BYTES = 1024**2
MAX_NESTING = 4            # the file, a table, a list or {low, high}, a list value in it
MAX_STRING = 1000          # characters in any key or value (a model path fits)
MAX_TASK_NAME = 40


@dataclass(frozen=True)
class Resources:
    cpus: int = 1
    gpus: float = 0.0


@dataclass
class SweepSpec:
    tasks: list[str]
    models: list[str | None] = field(default_factory=lambda: [None])
    methods: list[str] = field(default_factory=lambda: ["full"])
    seeds: list[int] = field(default_factory=lambda: [1])
    grid: dict[str, list] = field(default_factory=dict)
    random: dict[str, object] = field(default_factory=dict)   # field -> list | (low, high, log)
    samples: int = 0
    random_seed: int = 0
    fixed: dict[str, object] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    select_on: str = "train-holdout"
    path: str = ""
    suite: str = "glue"      # a built-in suite's name or a suite file's absolute path

    @property
    def swept(self) -> list[str]:
        """The fields that vary between configurations, in spec order."""
        return [*self.grid, *self.random]

    def to_dict(self) -> dict:
        # GLUE's plan stays as it was before suites: the key only for another suite.
        suite = {} if self.suite == DEFAULT_SUITE else {"suite": self.suite}
        return {"path": self.path, **suite, "models": self.models, "tasks": self.tasks,
                "methods": self.methods, "seeds": self.seeds, "grid": self.grid,
                "random": {k: (list(v) if isinstance(v, tuple) else v)
                           for k, v in self.random.items()},
                "samples": self.samples, "random_seed": self.random_seed,
                "fixed": {k: list(v) if isinstance(v, tuple) else v
                          for k, v in self.fixed.items()},
                "resources": {"cpus": self.resources.cpus, "gpus": self.resources.gpus},
                "select_on": self.select_on}


def read_spec(path: str | Path, *, select_on: str | None = None,
              suite: str | None = None) -> SweepSpec:
    """Parse and check a spec file; ``select_on`` and ``suite`` (the CLI flags) override the
    file's (a suite file named in the spec is relative to the spec's folder)."""
    path = Path(path)
    where = str(path)
    raw = _load_toml(path)
    _check_sizes(raw, where)
    unknown = [k for k in raw if k not in TOP_LEVEL]
    if unknown:
        raise UsageError(f"{where}: unknown key {quote(unknown[0])}{_hint(unknown[0], TOP_LEVEL)}; "
                         f"known: {', '.join(TOP_LEVEL)}")
    if "tasks" not in raw:
        raise UsageError(f"{where}: 'tasks' is missing (e.g. tasks = [\"RTE\", \"MRPC\"])")
    view = _suite(suite, raw.get("suite"), path)
    spec = SweepSpec(
        tasks=_tasks(raw["tasks"], where, view),
        models=_models(raw.get("models"), where),
        methods=[coerce("method", m, f"{where}: methods") for m in
                 _list(raw.get("methods", ["full"]), "methods", where)],
        seeds=_seeds(raw.get("seeds", [1]), where),
        grid=_grid(_table(raw, "grid", where), where),
        fixed=_fixed(_table(raw, "fixed", where), where),
        resources=_resources(_table(raw, "resources", where), where),
        select_on=_select_on(select_on or raw.get("select_on"), where, view, raw["tasks"]),
        path=where,
        suite=suite_ref(view),
    )
    spec.random, spec.samples, spec.random_seed = _random(_table(raw, "random", where), where)
    both = [n for n in spec.fixed if n in spec.grid or n in spec.random] + \
        [n for n in spec.grid if n in spec.random]
    if both:
        raise UsageError(f"{where}: '{both[0]}' is given twice ([grid], [random], [fixed]): "
                         "give each field in one table")
    _check_trial_count(spec)
    return spec


def trial_count(spec: SweepSpec) -> int:
    """How many trials the spec makes (before a random draw that repeats one is dropped)."""
    configurations = math.prod(len(v) for v in spec.grid.values()) * max(spec.samples, 1)
    return (len(spec.models) * len(spec.tasks) * len(spec.methods) * len(spec.seeds)
            * configurations)


def _check_trial_count(spec: SweepSpec) -> None:
    count = trial_count(spec)
    if count > MAX_TRIALS:
        shown = f"{count:,}" if count < 10**15 else f"about 10^{len(str(count)) - 1}"
        raise UsageError(f"{spec.path}: the spec makes {shown} trials; a sweep runs at most "
                         f"{MAX_TRIALS:,}: use fewer values, or split it into several specs "
                         "(they can share a SWEEP_DIR)")


def _check_sizes(value, where: str, at: str = "", depth: int = 1) -> None:
    """Before a value is read: nesting and string lengths a spec never needs, refused."""
    if isinstance(value, (dict, list)) and depth > MAX_NESTING:
        raise UsageError(f"{where}: {at or 'the spec'} is nested more than {MAX_NESTING} "
                         "levels deep; a spec needs tables and lists of plain values")
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = f"{at}.{key}" if isinstance(key, str) and at else str(key) if not at \
            else f"{at}[{key}]"
        for text in (key, item):
            if isinstance(text, str) and len(text) > MAX_STRING:
                raise UsageError(f"{where}: {escape(inner)} holds a string of {len(text):,} "
                                 f"characters; at most {MAX_STRING:,}")
        _check_sizes(item, where, inner, depth + 1)


def _shown(value) -> str:
    """A value for a message: short and escaped, whatever it holds."""
    return quote(value) if isinstance(value, str) else escape(repr(value))


def _load_toml(path: Path) -> dict:
    if not path.is_file():
        raise UsageError(f"{path}: sweep spec not found")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise UsageError(f"{path}: {path.stat().st_size:,} bytes; a sweep spec is at most "
                         f"{MAX_SPEC_BYTES:,}")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to read; a spec needs tables and lists "
                         "of plain values") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not valid TOML: {escape(str(exc))}") from None


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _list(value, key: str, where: str) -> list:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise UsageError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    if not value:
        raise UsageError(f"{where}: '{key}' is empty; give at least one value")
    if len(set(map(repr, value))) != len(value):
        raise UsageError(f"{where}: '{key}' repeats a value: {_shown(value)}")
    return value


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{where}: '{key}' must be a table ([{key}]), got "
                         f"{type(value).__name__}")
    return value


def suite_ref(view) -> str:
    """What a spec keeps of its suite: a built-in's name, else the file's absolute path."""
    return view.reference()["ref"]


def _suite(flag: str | None, value, path: Path):
    """The spec's suite: the --suite flag, else the file's ``suite``, else GLUE."""
    from gluebench.runs.suite_view import suite_view  # deferred: loads scipy

    if flag is None and value is not None:
        if not isinstance(value, str) or not value:
            raise UsageError(f"{path}: 'suite' must be a suite's name or a suite file, e.g. "
                             f"suite = \"superglue\"; got {_shown(value)}")
        beside = path.parent / value
        flag = str(beside) if value.endswith(".toml") and beside.is_file() else value
    try:
        return suite_view(flag or DEFAULT_SUITE)
    except UsageError as exc:
        raise UsageError(f"{path}: suite: {exc}") from None


def _tasks(value, where: str, view) -> list[str]:
    names = _list(value, "tasks", where)
    if not all(isinstance(n, str) for n in names):
        raise UsageError(f"{where}: 'tasks' must be task names, e.g. [\"RTE\", \"MRPC\"]")
    odd = next((n for n in names if len(n) > MAX_TASK_NAME or not n.isprintable()), None)
    if odd is not None:
        raise UsageError(f"{where}: tasks: {quote(odd)} is not a task name, e.g. RTE, MRPC")
    try:
        return view.task_names(names)
    except UsageError as exc:
        raise UsageError(f"{where}: tasks: {exc}") from None


def _models(value, where: str) -> list[str | None]:
    if value is None:
        return [None]
    models = _list(value, "models", where)
    for m in models:
        if not isinstance(m, str) or not m:
            raise UsageError(f"{where}: 'models' must be model folders or hub names")
        try:
            resolve_model(m)
        except UsageError as exc:
            raise UsageError(f"{where}: models: {exc}") from None
    return models


def _seeds(value, where: str) -> list[int]:
    try:
        return [parse_seed(s) for s in _list(value, "seeds", where)]
    except ValueError as exc:
        raise UsageError(f"{where}: seeds: {exc}") from None


def _field_name(key: str, table: str, where: str) -> str:
    name = key.replace("-", "_")
    if name in RESERVED:
        raise UsageError(f"{where}: [{table}] {quote(key)}: use the top-level "
                         f"'{RESERVED[name]}' list")
    if name not in FIELDS:
        known = [n for n in FIELDS if n not in RESERVED]
        raise UsageError(f"{where}: [{table}] unknown field {quote(key)}{_hint(name, known)}; "
                         f"known: {', '.join(known)}")
    return name


def _grid(table: dict, where: str) -> dict[str, list]:
    grid = {}
    for key, values in table.items():
        name = _field_name(key, "grid", where)
        grid[name] = [coerce(name, v, f"{where}: [grid]")
                      for v in _list(values, f"[grid] {key}", where)]
    return grid


def _fixed(table: dict, where: str) -> dict[str, object]:
    return {(name := _field_name(k, "fixed", where)): coerce(name, v, f"{where}: [fixed]")
            for k, v in table.items()}


def _random(table: dict, where: str) -> tuple[dict, int, int]:
    fields_ = {k: v for k, v in table.items() if k not in RANDOM_KEYS}
    if not table:
        return {}, 0, 0
    samples = table.get("samples")
    if not fields_:
        raise UsageError(f"{where}: [random] names no field to sample")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise UsageError(f"{where}: [random] needs 'samples', a positive whole number, "
                         f"got {_shown(samples)}")
    try:
        seed = parse_seed(table.get("seed", 0))
    except ValueError as exc:
        raise UsageError(f"{where}: [random] seed: {exc}") from None
    out = {}
    for key, value in fields_.items():
        name = _field_name(key, "random", where)
        out[name] = _distribution(name, value, where)
    return out, samples, seed


def _distribution(name: str, value, where: str):
    """A list of choices, or ``(low, high, log)`` for a numeric field."""
    if isinstance(value, list):
        return [coerce(name, v, f"{where}: [random]") for v in _list(value, name, where)]
    if not isinstance(value, dict) or set(value) - {"low", "high", "log"} or \
            not {"low", "high"} <= set(value):
        raise UsageError(f"{where}: [random] {name}: expected a list of choices or "
                         "{ low = ..., high = ..., log = true|false }")
    low = coerce(name, value["low"], f"{where}: [random] {name}.low")
    high = coerce(name, value["high"], f"{where}: [random] {name}.high")
    if not isinstance(low, (int, float)) or isinstance(low, bool) or not low < high:
        raise UsageError(f"{where}: [random] {name}: need numbers with low < high, "
                         f"got {_shown(low)}, {_shown(high)}")
    log = value.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise UsageError(f"{where}: [random] {name}: 'log' must be true or false, and a log "
                         "range needs low > 0")
    return (low, high, log)


def _resources(table: dict, where: str) -> Resources:
    unknown = set(table) - {"cpus", "gpus"}
    if unknown:
        raise UsageError(f"{where}: [resources] unknown key '{sorted(unknown)[0]}'; known: "
                         "cpus, gpus")
    cpus, gpus = table.get("cpus", 1), table.get("gpus", 0)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise UsageError(f"{where}: [resources] cpus must be a positive whole number, "
                         f"got {_shown(cpus)}")
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0 or \
            (gpus > 1 and not float(gpus).is_integer()) or not math.isfinite(gpus):
        raise UsageError(f"{where}: [resources] gpus must be 0, a fraction below 1, or a whole "
                         f"number, got {_shown(gpus)}")
    return Resources(cpus, float(gpus))


def _select_on(value, where: str, view, tasks) -> str:
    """The selection split: GLUE's default holds part of train out; a suite's run holds
    nothing out (few-shot sets are too small), so it selects on dev32 where every task has
    one (FewGLUE's protocol), else on dev (labelled dev-selected)."""
    names = view.task_names(tasks if isinstance(tasks, list) else [tasks])
    without = [t for t in names if not view.is_glue and "dev32" not in view.suite.task(t).files]
    if value is None:
        value = "train-holdout" if view.is_glue else "dev32" if not without else "dev"
    if value not in SELECT_ON:
        raise UsageError(f"{where}: select_on must be one of: {', '.join(SELECT_ON)}; "
                         f"got {_shown(value)}")
    if view.is_glue and value == "dev32":
        raise UsageError(f"{where}: select_on = \"dev32\" needs a suite with dev32 files "
                         "(e.g. fewglue); GLUE selects on train-holdout or dev")
    if not view.is_glue and value == "train-holdout":
        raise UsageError(f"{where}: a {view.suite.title} trial holds nothing out of train; "
                         "expected select_on = \"dev32\" (where the suite has it) or \"dev\"")
    if value == "dev32" and without:
        raise UsageError(f"{where}: select_on = \"dev32\": {view.suite.title} {without[0]} "
                         "has no dev32 file; expected \"dev\"")
    return value
