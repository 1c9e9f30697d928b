"""What the seed-statistics tests share: a simulation of recipes x seeds, synthetic sweeps.

The simulation (``recipe_studies``) is the one the issue describes: two recipes, each trained
with 3 seeds, scored on an RTE-sized dev set (277 examples) with a seed-to-seed sd of about
4.5 points. Each study draws a new dev set: an example's difficulty z ~ N(0, TAU); a seed's
skill u ~ N(mu, SEED_SKILL_SD); the seed is right on the example with probability
Phi(u - z), independently (the seed x example noise). Two seeds of one recipe then disagree
on about a quarter of the examples, as fine-tuned RTE models do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.special import ndtr, ndtri

TAU = 1.5                # sd of example difficulty
SEED_SKILL_SD = 0.19     # sd of a seed's skill: ~4.5 points of RTE accuracy with the noise
BASE_ACCURACY = 0.62


def _skill(accuracy: float) -> float:
    """The mean skill whose expected accuracy over examples is ``accuracy``."""
    return float(np.sqrt(1 + TAU**2) * ndtri(accuracy))


def recipe_studies(n_studies: int, *, gap: float = 0.0, n: int = 277, seeds: int = 3,
                   rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(gold (K, n), predictions (K, 2, seeds, n)) of K simulated studies, all vectorised.

    ``gap``: recipe A's expected accuracy minus recipe B's (0 = two runs of one recipe).
    """
    rng = np.random.default_rng(rng_seed)
    gold = rng.integers(0, 2, (n_studies, n))
    z = rng.normal(0.0, TAU, (n_studies, 1, 1, n))
    mean = np.array([_skill(BASE_ACCURACY + gap / 2), _skill(BASE_ACCURACY - gap / 2)])
    u = mean[None, :, None, None] + rng.normal(0.0, SEED_SKILL_SD, (n_studies, 2, seeds, 1))
    right = rng.random((n_studies, 2, seeds, n)) < ndtr(u - z)
    g = gold[:, None, None, :]
    return gold, np.where(right, g, 1 - g)


# ---- synthetic sweep and study folders: records and dev outputs, no training ------------

def trial(key: str, task: str, method: str, seed: int, point: dict,
          model: str | None = None) -> dict:
    config_id = f"{model}-{task}-{method}-" + "-".join(f"{k}={v}" for k, v in point.items())
    return {"key": key, "task": task, "model": model, "method": method, "seed": seed,
            "point": point, "config": {}, "config_id": config_id}


def summary(entries: dict[str, float], holdout: float | None = None) -> dict:
    return {"entries": {e: {"score": s, "collapsed": False} for e, s in entries.items()},
            "holdout": None if holdout is None else {"score": holdout},
            "train": {"seconds": 1.0, "examples": 100, "steps": 10},
            "parameters": {"total": 1000}}


def write_sweep(root: Path, trials: list[dict], records: dict[str, dict],
                select_on: str = "train-holdout") -> Path:
    """A sweep folder: sweep.json's plan and one record per key in ``records``."""
    (root / "results").mkdir(parents=True, exist_ok=True)
    tasks = list(dict.fromkeys(t["task"] for t in trials))
    methods = list(dict.fromkeys(t["method"] for t in trials))
    spec = {"path": "synthetic.toml", "tasks": tasks, "methods": methods,
            "seeds": sorted({t["seed"] for t in trials}), "grid": {"learning_rate": []}}
    plan = {"schema_version": 1, "kind": "sweep", "spec": spec, "select_on": select_on,
            "data": "synthetic", "data_source": "synthetic", "trials": trials}
    (root / "sweep.json").write_text(json.dumps(plan))
    for key, record in records.items():
        (root / "results" / f"{key}.json").write_text(json.dumps({"key": key, **record}))
    return root


def write_outputs(root: Path, key: str, entry: str, gold: np.ndarray, pred: np.ndarray,
                  n_classes: int) -> None:
    """A trial's dev outputs: one-hot probabilities of ``pred`` beside ``gold``."""
    folder = root / "trials" / key / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{entry}.npz", index=np.arange(len(gold)), gold=gold,
             outputs=np.eye(n_classes)[pred])
