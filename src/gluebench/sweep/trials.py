"""A spec expanded into trials: one task x model x method x configuration x seed each.

A trial's key is a hash of its resolved ``TrainConfig`` and the fingerprints of the data
it reads (GLUE: sha256 of the task's train and dev files; another suite: its name, content
hash and the hash of the rows read, ``runs.suite_view``), so the same trial has the same key
in every sweep, on every machine: a finished trial is never run twice, and a spec that
grows (one more learning rate, one more seed) reuses everything already done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from gluebench.benchmark.tasks import Task
from gluebench.errors import UsageError
from gluebench.runs.suite_view import SuiteView, glue_fingerprint, suite_view
from gluebench.sweep.spec import DEFAULT_HOLDOUT, SWEEP_DEFAULTS, SweepSpec
from gluebench.train.config import build_config, coerce

KEY_FORMAT = 1   # bump when what goes into a key changes


@dataclass(frozen=True)
class Trial:
    """One fine-tuning unit, as plain JSON-able data (what crosses process boundaries)."""

    key: str
    task: str
    model: str | None
    method: str
    seed: int
    point: dict        # the swept fields' values of this configuration
    config: dict       # the resolved TrainConfig (``to_dict``), one seed
    config_id: str     # the configuration without the seed: what selection picks
    suite: str | None = None   # the suite (a name or a file) when it is not GLUE

    def to_json(self) -> dict:
        doc = asdict(self)
        if doc["suite"] is None:   # a GLUE trial is written as before suites existed
            del doc["suite"]
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> Trial:
        return cls(**doc)

    @property
    def label(self) -> str:
        point = " ".join(f"{k}={format_value(v)}" for k, v in self.point.items())
        return f"{self.task} {self.method} {point} seed {self.seed}".replace("  ", " ")


def format_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def points(spec: SweepSpec) -> list[dict]:
    """Every configuration of the swept fields: the grid's product x the random draws."""
    grid = [dict(zip(spec.grid, values, strict=True))
            for values in itertools.product(*spec.grid.values())]
    if not spec.random:
        return grid
    rng = np.random.default_rng(spec.random_seed)
    draws = [{name: _draw(name, dist, rng) for name, dist in spec.random.items()}
             for _ in range(spec.samples)]
    return [{**g, **d} for g in grid for d in draws]


def _draw(name: str, dist, rng: np.random.Generator):
    if isinstance(dist, list):
        return dist[int(rng.integers(len(dist)))]
    low, high, log = dist
    x = math.exp(rng.uniform(math.log(low), math.log(high))) if log else rng.uniform(low, high)
    if isinstance(low, int):
        x = round(x)
    else:
        x = float(f"{x:.4g}")  # readable values in tables and plots
    return coerce(name, x, f"[random] {name}")


def data_fingerprint(source, task: Task) -> dict:
    """sha256 of the files a GLUE trial of ``task`` reads (train and the dev files it scores)."""
    return glue_fingerprint(source, task)


def _hash(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def trial_config(spec: SweepSpec, model, method: str, point: dict, seed: int) -> dict:
    """The resolved TrainConfig of one trial, checked as ``finetune`` checks it."""
    settings = {**SWEEP_DEFAULTS, **spec.fixed, **point, "method": method, "seeds": (seed,)}
    if model is not None:
        settings["model"] = model
    if spec.select_on == "train-holdout" and settings.get("holdout_fraction") is None:
        settings["holdout_fraction"] = DEFAULT_HOLDOUT
    try:
        return build_config(**settings).to_dict()
    except UsageError as exc:
        raise UsageError(f"{spec.path}: {method} {point or ''}: {exc}") from None


def expand(spec: SweepSpec, source, data: str | None = None) -> list[Trial]:
    """Every trial of the spec, in a stable order; every config is checked before any runs.

    ``data``: the data as workers open it (a suite other than GLUE reads its files from it).
    """
    trials, seen = [], set()
    view = suite_view(spec.suite)
    data = data if data is not None else str(getattr(source, "root", source.description))
    fingerprints = {name: view.fingerprints(source, data, name) for name in spec.tasks}
    for model, task, method, point in itertools.product(spec.models, spec.tasks, spec.methods,
                                                        points(spec)):
        if "train" not in fingerprints[task]:
            raise UsageError(f"{task}: no training data in {source.description}")
        for seed in spec.seeds:
            trial = make_trial(task, model, method, seed, point,
                               trial_config(spec, model, method, point, seed), fingerprints[task],
                               view=view)
            if trial.key in seen:  # a random draw repeated a configuration
                continue
            seen.add(trial.key)
            trials.append(trial)
    return trials


# Settings that do not change a trial's result (where it reports), so not in its key: a sweep
# resumed with another --report-to keeps its finished trials.
NOT_IN_KEY = ("report_to",)


def make_trial(task: str, model, method: str, seed: int, point: dict, config: dict,
               data: dict, *, view: SuiteView | None = None) -> Trial:
    """The trial of one resolved config (``TrainConfig.to_dict()``, one seed) on ``data``
    (``SuiteView.fingerprints``): its key and its configuration id are content hashes.
    A suite other than GLUE is part of the key (its name and content hash)."""
    keyed = {k: v for k, v in config.items() if k not in NOT_IN_KEY}
    unseeded = {k: v for k, v in keyed.items() if k != "seeds"}
    base = {"format": KEY_FORMAT, "task": task, "data": data}
    suite = None
    if view is not None and not view.is_glue:
        base["suite"] = view.suite.record()
        suite = view.reference()["ref"]
    return Trial(key=_hash({**base, "config": keyed})[:20], task=task, model=model,
                 method=method, seed=seed, point=point, config=config,
                 config_id=_hash({**base, "config": unseeded})[:12], suite=suite)
