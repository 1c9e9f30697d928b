"""Pick each task's best configuration per method without peeking, and compare methods.

``train-holdout`` (the default) ranks configurations by their mean score over seeds on a
seeded held-out part of train, then reports the chosen configuration's dev score; ``dev``
ranks on dev itself (optimistic: labelled *dev-selected* wherever it is shown). Only a
configuration that finished every planned seed can be chosen: a mean over the seeds that
happened to finish is not comparable with a mean over all of them (a diverging seed that
crashed would flatter its configuration).

Methods are compared with the seed-aware test (``seed_stats.seed_paired_test``) on every
entry a task is scored on (``compared_entries``; the studies use the same list), and the
p-values are Holm-adjusted across all the comparisons of the sweep.

Every question about tasks, entries and metrics goes to the sweep's suite
(``runs.suite_view``): GLUE answers as ``benchmark.tasks`` does; another suite's entries are
tested with their own metrics on their own resampling unit (MultiRC: paragraphs, the same
paragraphs drawn for every seed: ``grouped_seed_stats``).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from gluebench.benchmark.grouped_seed_stats import grouped_seed_paired_test
from gluebench.benchmark.metric_registry import Items
from gluebench.benchmark.seed_stats import holm, mean_sd, seed_paired_test
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, paired_test
from gluebench.runs.suite_view import SuiteView, suite_view
from gluebench.sweep.sweepdir import SweepDir

LABELS = {"train-holdout": "selected on a held-out part of train",
          "dev": "dev-selected (optimistic: chosen and scored on the same dev set)",
          "dev32": "selected on dev32 (the suite's model-selection set, not the reported dev)"}


def compared_entries(task: str, view: SuiteView | None = None) -> list[str]:
    """The entries a task's methods or variants are tested on: its suite-score entries.

    MNLI: matched and mismatched. AX, which the MNLI model also predicts, is a diagnostic
    outside the GLUE score: it is scored and shown, but not tested (a test of it would only
    cost the Holm correction power on a number no selection or claim rests on); so are
    SuperGLUE's AX-b and AX-g beside RTE.
    """
    return (view or suite_view()).compared_entries(task)


def configurations(sweep: SweepDir, select_on: str) -> list[dict]:
    """Every configuration (all seeds of one task x model x method x point), in plan order."""
    records, score_of = sweep.records(), sweep.view().task_score
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
        c["selection"].append(_selection_score(summary, select_on, score_of))
        c["dev"].append(score_of(summary))
        c["collapsed"] += any(e["collapsed"] for e in summary["entries"].values())
        for name, e in summary["entries"].items():
            c["entries"].setdefault(name, []).append(e["score"])
    for c in configs.values():
        c["complete"] = len(c["seeds"]) == c["planned"]
        c["selection_mean"], c["selection_sd"] = mean_sd(c["selection"])
        c["dev_mean"], c["dev_sd"] = mean_sd(c["dev"])
        c["collapse_rate"] = c["collapsed"] / len(c["seeds"]) if c["seeds"] else None
    return list(configs.values())


def _selection_score(summary: dict, select_on: str, score_of) -> float:
    """What a trial is ranked by: its dev score, its dev32 score, or its held-out score."""
    if select_on == "dev":
        return score_of(summary)
    found = summary.get("selection") if select_on == "dev32" else summary.get("holdout")
    return (found or {}).get("score", float("nan"))


def select(sweep: SweepDir) -> dict:
    """The best configuration of every task x model x method, with all configurations."""
    select_on = sweep.plan()["select_on"]
    configs = configurations(sweep, select_on)
    groups: dict[tuple, list[dict]] = {}
    for c in configs:
        groups.setdefault((c["model"], c["task"], c["method"]), []).append(c)
    best = []
    for (model, task, method), candidates in groups.items():
        scored = [c for c in candidates if c["complete"] and c["selection_mean"] is not None
                  and np.isfinite(c["selection_mean"])]
        chosen = max(scored, key=lambda c: c["selection_mean"], default=None)  # first on ties
        best.append({"model": model, "task": task, "method": method,
                     "n_configs": len(candidates), "n_eligible": len(scored), "best": chosen})
    return {"select_on": select_on, "label": LABELS[select_on],
            "swept": list(sweep.plan()["spec"].get("grid", {})) +
            list(sweep.plan()["spec"].get("random", {})),
            "best": best, "configs": configs}


def outputs_predictions(path, entry: str, view: SuiteView | None = None):
    """(index, gold, predictions) of a saved ``outputs/<Entry>.npz``, in index order."""
    with np.load(path) as z:
        outputs, gold, index = z["outputs"], z["gold"], z["index"]
    pred = (view or suite_view()).predictions(entry, outputs.reshape(len(index), -1))
    order = np.argsort(index, kind="stable")
    return index[order], gold[order], pred[order]


def trial_dev_predictions(sweep: SweepDir, key: str, entry: str):
    """(index, gold, predictions) of one trial's dev outputs, or None."""
    path = sweep.trial_dir(key) / "outputs" / f"{entry}.npz"
    return outputs_predictions(path, entry, sweep.view()) if path.is_file() else None


def compare_methods(sweep: SweepDir, selection: dict, *, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0) -> list[dict]:
    """Seed-aware tests between the chosen configurations of every two methods on a task.

    One row per (task, method pair, entry of ``compared_entries``), each with its raw and its
    Holm-adjusted p-value (``p_holm``: adjusted across every row of the sweep).
    """
    by_task: dict[tuple, list[dict]] = {}
    for b in selection["best"]:
        if b["best"] is not None:
            by_task.setdefault((b["model"], b["task"]), []).append(b)
    out, view = [], sweep.view()
    for (model, task), rows in by_task.items():
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                out += _compare_pair(sweep, view, model, task, a, b, n_resamples, seed)
    return holm_adjust(out)


def holm_adjust(rows: list[dict]) -> list[dict]:
    """The rows with ``p_holm``: Holm's adjustment of their ``p_value`` across all of them."""
    for row, p in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = p
    return rows


def _compare_pair(sweep, view, model, task, a, b, n_resamples, seed) -> list[dict]:
    seeds_a = dict(zip(a["best"]["seeds"], a["best"]["keys"], strict=True))
    seeds_b = dict(zip(b["best"]["seeds"], b["best"]["keys"], strict=True))
    results = []
    for entry in compared_entries(task, view):
        test = paired_comparison(sweep, seeds_a, seeds_b, entry, n_resamples=n_resamples,
                                 seed=seed)
        if test is not None:
            results.append({"model": model, "task": task, "entry": entry,
                            "method_a": a["method"], "method_b": b["method"], **test})
    return results


def _seed_outputs(sweep: SweepDir, keys_by_seed: dict, entry: str) -> dict:
    """{seed: (index, gold, predictions)} of the trials whose dev outputs were saved."""
    found = {s: trial_dev_predictions(sweep, key, entry) for s, key in keys_by_seed.items()}
    return {s: p for s, p in found.items() if p is not None}


def _aligned(parts: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index, gold, predictions (seeds, n)) on the examples every part predicted."""
    common = reduce(np.intersect1d, [index for index, _, _ in parts])
    rows = [np.searchsorted(index, common) for index, _, _ in parts]
    gold = parts[0][1][rows[0]]
    return common, gold, np.stack([pred[r] for (_, _, pred), r in zip(parts, rows,
                                                                     strict=True)])


def seed_dev(sweep: SweepDir, keys_by_seed: dict, entry: str):
    """(seeds, gold, predictions (seeds, n)) of the trials' dev outputs; None if none saved.

    Every seed is restricted to the dev examples all of them predicted (the same examples
    unless ``max_eval_examples`` changed between trials).
    """
    found = _seed_outputs(sweep, keys_by_seed, entry)
    if not found:
        return None
    _, gold, preds = _aligned(list(found.values()))
    return list(found), gold, preds


def seed_dev_rows(sweep: SweepDir, keys_by_seed: dict, entry: str):
    """(index, gold, predictions (seeds, n)) of the trials' dev outputs; None if none saved."""
    found = _seed_outputs(sweep, keys_by_seed, entry)
    return _aligned(list(found.values())) if found else None


def paired_comparison(sweep: SweepDir, keys_a: dict, keys_b: dict, entry: str, *,
                      n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict | None:
    """A minus B on ``entry`` over all seeds of each: the seed-aware test.

    ``keys_a``/``keys_b`` map seeds to trial keys; every seed of both sides is scored on the
    dev examples all of them predicted, and the bootstrap resamples those examples with the
    same indices for every seed. With one seed on each side this is the single-seed paired
    test (``stats.paired_test``). None when a side has no dev outputs or no shared example.
    """
    a, b = _seed_outputs(sweep, keys_a, entry), _seed_outputs(sweep, keys_b, entry)
    if not a or not b:
        return None
    index, gold, preds = _aligned(list(a.values()) + list(b.values()))
    if not len(index):
        return None
    view = sweep.view()
    if not view.is_glue:
        return _suite_comparison(sweep, view, entry, list(a), list(b), index, gold, preds,
                                 n_resamples, seed)
    metrics = view.metrics(entry)
    pa, pb = preds[:len(a)], preds[len(a):]
    if len(a) == len(b) == 1:
        test = paired_test(metrics, gold, pa[0], pb[0], n_resamples=n_resamples, seed=seed,
                           name=entry)["score"]
        extra = {"test": "one seed each: paired permutation", "sd_a": 0.0, "sd_b": 0.0}
    else:
        test = seed_paired_test(metrics, gold, pa, pb, n_resamples=n_resamples, seed=seed,
                                name=entry)["score"]
        extra = {k: test.to_dict()[k] for k in ("sd_a", "sd_b", "df")} | {"test": "seed-aware"}
    return {"seeds_a": list(a), "seeds_b": list(b), "n": len(index), "score_a": test.a,
            "score_b": test.b, "diff": test.diff, "ci": test.ci, "p_value": test.p_value,
            **extra}


def seed_items(sweep: SweepDir, view: SuiteView, entry: str, index, gold,
               preds) -> list[Items]:
    """Each seed's dev predictions of ``entry`` as metric items, with the rows' groups
    (MultiRC's paragraphs and questions) read from the sweep's data."""
    groups = view.groups(entry, sweep.plan()["data"], index)
    return [Items(gold, p, view.n_classes(entry), groups) for p in preds]


def _suite_comparison(sweep, view, entry, seeds_a, seeds_b, index, gold, preds,
                      n_resamples, seed) -> dict:
    """``paired_comparison`` on a suite's entry: its metrics, its resampling unit."""
    items = seed_items(sweep, view, entry, index, gold, preds)
    test = grouped_seed_paired_test(view.metrics(entry), items[:len(seeds_a)],
                                    items[len(seeds_a):], resample=view.resample(entry),
                                    n_resamples=n_resamples, seed=seed, name=entry)["score"]
    kind = "one seed each" if len(seeds_a) == len(seeds_b) == 1 else "seed-aware"
    return {"seeds_a": seeds_a, "seeds_b": seeds_b, "n": len(index), "score_a": test.a,
            "score_b": test.b, "diff": test.diff, "ci": test.ci, "p_value": test.p_value,
            **{k: test.to_dict()[k] for k in ("sd_a", "sd_b", "df")},
            "test": f"{kind}: resampling {view.resample(entry)}s",
            "resample": view.resample(entry)}
