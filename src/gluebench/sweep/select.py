"""Pick each task's best configuration per method without peeking, and compare methods.

``train-holdout`` (the default) ranks configurations by their mean score over seeds on a
seeded held-out part of train, then reports the chosen configuration's dev score; ``dev``
ranks on dev itself (optimistic: labelled *dev-selected* wherever it is shown).
"""

from __future__ import annotations

import numpy as np

from gluebench.stats import DEFAULT_RESAMPLES, paired_test
from gluebench.sweep.sweepdir import SweepDir
from gluebench.tasks import BENCHMARKS, TASKS
from gluebench.train.rundir import task_score_of

LABELS = {"train-holdout": "selected on a held-out part of train",
          "dev": "dev-selected (optimistic: chosen and scored on the same dev set)"}


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def configurations(sweep: SweepDir, select_on: str) -> list[dict]:
    """Every configuration (all seeds of one task x model x method x point), in plan order."""
    records = sweep.records()
    configs: dict[str, dict] = {}
    for trial in sweep.trials():
        c = configs.setdefault(trial.config_id, {
            "config_id": trial.config_id, "model": trial.model, "task": trial.task,
            "method": trial.method, "point": trial.point, "seeds": [], "keys": [],
            "selection": [], "dev": [], "entries": {}, "collapsed": 0, "failed": 0,
            "planned": 0})
        c["planned"] += 1
        record = records.get(trial.key)
        if record is None or record["status"] != "ok":
            c["failed"] += record is not None
            continue
        summary = record["summary"]
        c["seeds"].append(trial.seed)
        c["keys"].append(trial.key)
        holdout = summary.get("holdout")
        c["selection"].append(task_score_of(summary) if select_on == "dev" else
                              (holdout or {}).get("score", float("nan")))
        c["dev"].append(task_score_of(summary))
        c["collapsed"] += any(e["collapsed"] for e in summary["entries"].values())
        for name, e in summary["entries"].items():
            c["entries"].setdefault(name, []).append(e["score"])
    for c in configs.values():
        c["selection_mean"], c["selection_sd"] = mean_sd(c["selection"])
        c["dev_mean"], c["dev_sd"] = mean_sd(c["dev"])
        c["collapse_rate"] = c["collapsed"] / len(c["seeds"]) if c["seeds"] else None
    return list(configs.values())


def select(sweep: SweepDir) -> dict:
    """The best configuration of every task x model x method, with all configurations."""
    select_on = sweep.plan()["select_on"]
    configs = configurations(sweep, select_on)
    groups: dict[tuple, list[dict]] = {}
    for c in configs:
        groups.setdefault((c["model"], c["task"], c["method"]), []).append(c)
    best = []
    for (model, task, method), candidates in groups.items():
        scored = [c for c in candidates if c["selection_mean"] is not None
                  and np.isfinite(c["selection_mean"])]
        chosen = max(scored, key=lambda c: c["selection_mean"], default=None)  # first on ties
        best.append({"model": model, "task": task, "method": method,
                     "n_configs": len(candidates), "best": chosen})
    return {"select_on": select_on, "label": LABELS[select_on],
            "swept": list(sweep.plan()["spec"].get("grid", {})) +
            list(sweep.plan()["spec"].get("random", {})),
            "best": best, "configs": configs}


def _dev_predictions(sweep: SweepDir, key: str, entry: str):
    """(index, gold, predictions) of one trial's dev outputs, or None."""
    from gluebench.models.outputs import predictions_from_logits
    from gluebench.predictions import as_written

    path = sweep.trial_dir(key) / "outputs" / f"{entry}.npz"
    if not path.is_file():
        return None
    task = TASKS[BENCHMARKS[entry].task]
    with np.load(path) as z:
        outputs, gold, index = z["outputs"], z["gold"], z["index"]
    # Probabilities rank classes as the logits do; STS-B's outputs are its raw scores.
    pred = as_written(task, predictions_from_logits(task, outputs.reshape(len(index), -1), None))
    order = np.argsort(index, kind="stable")
    return index[order], gold[order], pred[order]


def compare_methods(sweep: SweepDir, selection: dict, *, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0) -> list[dict]:
    """Paired tests between the chosen configurations of every two methods on a task.

    Seeds are matched (seed s of A with seed s of B) and their dev examples pooled, so each
    (seed, example) pair is one paired observation of the bootstrap and permutation test.
    """
    by_task: dict[tuple, list[dict]] = {}
    for b in selection["best"]:
        if b["best"] is not None:
            by_task.setdefault((b["model"], b["task"]), []).append(b)
    out = []
    for (model, task), rows in by_task.items():
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                out += _compare_pair(sweep, model, task, a, b, n_resamples, seed)
    return out


def _compare_pair(sweep, model, task, a, b, n_resamples, seed) -> list[dict]:
    seeds_a = dict(zip(a["best"]["seeds"], a["best"]["keys"], strict=True))
    seeds_b = dict(zip(b["best"]["seeds"], b["best"]["keys"], strict=True))
    results = []
    for entry in a["best"]["entries"]:
        test = paired_comparison(sweep, seeds_a, seeds_b, entry, n_resamples=n_resamples,
                                 seed=seed)
        if test is not None:
            results.append({"model": model, "task": task, "entry": entry,
                            "method_a": a["method"], "method_b": b["method"], **test})
    return results


def pooled_dev(sweep: SweepDir, keys_by_seed: dict, entry: str, seeds=None):
    """(index, gold, predictions) of the trials' dev outputs, seeds pooled; None if none saved.

    ``seeds``: only these seeds, in this order (default: every seed of ``keys_by_seed``).
    """
    parts = [_dev_predictions(sweep, keys_by_seed[s], entry)
             for s in (keys_by_seed if seeds is None else seeds)]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def paired_comparison(sweep: SweepDir, keys_a: dict, keys_b: dict, entry: str, *,
                      n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict | None:
    """A minus B on ``entry``: seed s of A paired with seed s of B, their dev examples pooled.

    ``keys_a``/``keys_b`` map seeds to trial keys. Each (seed, example) is one paired
    observation of the bootstrap CI and the permutation test (``stats.paired_test``).
    None when no shared seed has dev outputs on the same examples.
    """
    shared = [s for s in keys_a if s in keys_b]
    pairs = [(_dev_predictions(sweep, keys_a[s], entry), _dev_predictions(sweep, keys_b[s], entry))
             for s in shared]
    pairs = [(pa, pb) for pa, pb in pairs
             if pa is not None and pb is not None and np.array_equal(pa[0], pb[0])]
    if not pairs:
        return None
    gold = np.concatenate([pa[1] for pa, _ in pairs])
    pred_a = np.concatenate([pa[2] for pa, _ in pairs])
    pred_b = np.concatenate([pb[2] for _, pb in pairs])
    test = paired_test(BENCHMARKS[entry].metrics, gold, pred_a, pred_b,
                       n_resamples=n_resamples, seed=seed, name=entry)["score"]
    return {"seeds": len(pairs), "n": len(gold), "score_a": test.a, "score_b": test.b,
            "diff": test.diff, "ci": test.ci, "p_value": test.p_value}
