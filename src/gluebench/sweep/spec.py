"""A sweep spec (TOML): what to train, over which values, with what per trial.

::

    models = ["sentence-transformers/all-MiniLM-L6-v2"]   # default: the embedded model
    tasks = ["RTE", "MRPC"]
    methods = ["full", "lora"]                          # default: ["full"]
    seeds = [1, 2]                                      # default: [1]
    select_on = "train-holdout"                         # or "dev" (labelled dev-selected)
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
bad spec is one ``UsageError`` before anything runs.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

from gluebench.errors import UsageError
from gluebench.train.config import FIELDS, coerce, parse_seed

SELECT_ON = ("train-holdout", "dev")
DEFAULT_HOLDOUT = 0.2
TOP_LEVEL = ("models", "tasks", "methods", "seeds", "select_on", "grid", "random", "fixed",
             "resources")
# These have their own top-level lists (or are set per trial): not sweepable fields.
RESERVED = {"model": "models", "method": "methods", "seeds": "seeds"}
# What a sweep changes from finetune's defaults: no checkpoints, no test predictions per trial.
SWEEP_DEFAULTS = {"save_checkpoints": False, "splits": ("dev",)}
RANDOM_KEYS = ("samples", "seed")


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

    @property
    def swept(self) -> list[str]:
        """The fields that vary between configurations, in spec order."""
        return [*self.grid, *self.random]

    def to_dict(self) -> dict:
        return {"path": self.path, "models": self.models, "tasks": self.tasks,
                "methods": self.methods, "seeds": self.seeds, "grid": self.grid,
                "random": {k: (list(v) if isinstance(v, tuple) else v)
                           for k, v in self.random.items()},
                "samples": self.samples, "random_seed": self.random_seed,
                "fixed": {k: list(v) if isinstance(v, tuple) else v
                          for k, v in self.fixed.items()},
                "resources": {"cpus": self.resources.cpus, "gpus": self.resources.gpus},
                "select_on": self.select_on}


def read_spec(path: str | Path, *, select_on: str | None = None) -> SweepSpec:
    """Parse and check a spec file; ``select_on`` (the CLI flag) overrides the file's."""
    path = Path(path)
    where = str(path)
    raw = _load_toml(path)
    unknown = [k for k in raw if k not in TOP_LEVEL]
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}'{_hint(unknown[0], TOP_LEVEL)}; "
                         f"known: {', '.join(TOP_LEVEL)}")
    if "tasks" not in raw:
        raise UsageError(f"{where}: 'tasks' is missing (e.g. tasks = [\"RTE\", \"MRPC\"])")
    spec = SweepSpec(
        tasks=_tasks(raw["tasks"], where),
        models=_models(raw.get("models"), where),
        methods=[coerce("method", m, f"{where}: methods") for m in
                 _list(raw.get("methods", ["full"]), "methods", where)],
        seeds=_seeds(raw.get("seeds", [1]), where),
        grid=_grid(_table(raw, "grid", where), where),
        fixed=_fixed(_table(raw, "fixed", where), where),
        resources=_resources(_table(raw, "resources", where), where),
        select_on=_select_on(select_on or raw.get("select_on", "train-holdout"), where),
        path=where,
    )
    spec.random, spec.samples, spec.random_seed = _random(_table(raw, "random", where), where)
    both = [n for n in spec.fixed if n in spec.grid or n in spec.random] + \
        [n for n in spec.grid if n in spec.random]
    if both:
        raise UsageError(f"{where}: '{both[0]}' is given twice ([grid], [random], [fixed]): "
                         "give each field in one table")
    return spec


def _load_toml(path: Path) -> dict:
    if not path.is_file():
        raise UsageError(f"{path}: sweep spec not found")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


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
        raise UsageError(f"{where}: '{key}' repeats a value: {value}")
    return value


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{where}: '{key}' must be a table ([{key}]), got "
                         f"{type(value).__name__}")
    return value


def _tasks(value, where: str) -> list[str]:
    from gluebench.train.runner import tasks_to_run

    names = _list(value, "tasks", where)
    if not all(isinstance(n, str) for n in names):
        raise UsageError(f"{where}: 'tasks' must be task names, e.g. [\"RTE\", \"MRPC\"]")
    try:
        return [t.name for t in tasks_to_run(",".join(names))]
    except UsageError as exc:
        raise UsageError(f"{where}: tasks: {exc}") from None


def _models(value, where: str) -> list[str | None]:
    from gluebench.models.hf import resolve_model

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
        raise UsageError(f"{where}: [{table}] {key}: use the top-level '{RESERVED[name]}' list")
    if name not in FIELDS:
        known = [n for n in FIELDS if n not in RESERVED]
        raise UsageError(f"{where}: [{table}] unknown field '{key}'{_hint(name, known)}; "
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
                         f"got {samples!r}")
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
                         f"got {low!r}, {high!r}")
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
                         f"got {cpus!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0 or \
            (gpus > 1 and not float(gpus).is_integer()) or not math.isfinite(gpus):
        raise UsageError(f"{where}: [resources] gpus must be 0, a fraction below 1, or a whole "
                         f"number, got {gpus!r}")
    return Resources(cpus, float(gpus))


def _select_on(value, where: str) -> str:
    if value not in SELECT_ON:
        raise UsageError(f"{where}: select_on must be one of: {', '.join(SELECT_ON)}; "
                         f"got {value!r}")
    return value
