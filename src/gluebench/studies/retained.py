"""Our numbers in the papers' units: the share of the reference's score a variant keeps, and
what it cost.

``retained_share`` is the statistic: the variant's dev score (mean over seeds) over the
reference's, on the same dev examples, with a two-level percentile bootstrap CI: each
replicate draws the dev examples once (the same indices for every seed of both arms) and
then the seeds with replacement (the same draw for both arms when their seeds are paired),
so the interval carries example-to-example and seed-to-seed variance. ``measure`` computes
it for every variant of a study, beside the costs in the units of ``papers.UNITS``: share
of layers, parameters or training data kept, training or inference time saved, speed-up.
The reference is the study's control (the full model, all the data) or, for distillation,
the teacher run's own per-seed dev outputs on the same examples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gluebench.benchmark.metrics import BATCHED
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, rng_for
from gluebench.studies.design import StudyDir
from gluebench.sweep.select import outputs_predictions, trial_dev_predictions

_ELEMENTS_PER_CHUNK = 4_000_000   # bounds memory: (replicates x examples) indices per chunk
REFERENCES = {"layer-drop": ("unpruned", "the full model"),
              "distill": ("teacher", "the teacher"),
              "data-diet": ("full data", "the model trained on all the data")}


def _seed_scores(metrics, gold: np.ndarray, preds: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(seeds, replicates) entry scores (x100): each seed's predictions on each row of ``idx``."""
    g = gold[idx]
    return np.stack([100.0 * np.mean([BATCHED[m](g, p[idx]) for m in metrics], axis=0)
                     for p in preds])


def _ratio_replicates(metrics, gold, variant, reference, paired, n_resamples, rng):
    """Bootstrap replicates of mean score(variant) / mean score(reference), in chunks."""
    n, step = len(gold), max(1, _ELEMENTS_PER_CHUNK // max(len(gold), 1))
    out = []
    for start in range(0, n_resamples, step):
        size = min(step, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))      # one example draw for every seed and arm
        cols = np.arange(size)[:, None]
        draw = rng.integers(0, len(variant), size=(size, len(variant)))
        top = _seed_scores(metrics, gold, variant, idx)[draw, cols].mean(axis=1)
        if isinstance(reference, float):
            out.append(top / reference)
            continue
        draw_r = draw if paired else rng.integers(0, len(reference), (size, len(reference)))
        below = _seed_scores(metrics, gold, reference, idx)[draw_r, cols].mean(axis=1)
        out.append(np.where(below > 0, top / below, np.nan))    # no ratio to a score <= 0
    return np.concatenate(out)


def retained_share(metrics, gold, variant, reference, *, paired: bool, n_resamples: int,
                   seed: int = 0, name: str = "", confidence: float = DEFAULT_CONFIDENCE) -> dict:
    """Mean-over-seeds score of ``variant`` over that of ``reference``, with its bootstrap CI.

    ``gold``: (n,); ``variant``: (seeds, n) predictions; ``reference``: (seeds, n)
    predictions on the same examples (``paired``: the same seeds, row for row), or a fixed
    score (x100). ``value`` and ``ci`` are fractions (0.96). A reference score at or below 0
    gives no ratio (``why`` says so); a resample reaching 0 gives no CI.
    """
    gold, variant = np.asarray(gold), np.asarray(variant)
    full = np.arange(len(gold))[None, :]
    a = float(_seed_scores(metrics, gold, variant, full).mean())
    if isinstance(reference, float):
        b = reference
    else:
        reference = np.asarray(reference)
        b = float(_seed_scores(metrics, gold, reference, full).mean())
    out = {"value": None, "ci": None, "n": len(gold), "why": "",
           "seeds": [len(variant), 0 if isinstance(reference, float) else len(reference)]}
    if not b > 0:
        return {**out, "why": f"the reference scores {b:.1f}, not above 0: no ratio"}
    out["value"] = a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = _ratio_replicates(metrics, gold, variant, reference, paired, n_resamples,
                                 rng_for(seed, f"retained:{name}"))
    if not np.all(np.isfinite(reps)):
        return {**out, "why": "the reference's score falls to 0 or below in resamples: no CI"}
    alpha = (1.0 - confidence) / 2.0
    out["ci"] = [float(x) for x in np.quantile(reps, [alpha, 1.0 - alpha])]
    if min(n for n in out["seeds"] if n) == 1:
        out["why"] = "one seed: the CI leaves out seed-to-seed variance"
    return out


def _on_common_examples(arms: list[list[tuple]]):
    """Each arm's per-seed (index, gold, pred) cut to the examples every seed of every arm has:
    (gold, [(seeds, n) per arm]); None when they share none, or when their gold labels differ
    on them (then they are not the same examples: another data source)."""
    common = None
    for arm in arms:
        for index, _, _ in arm:
            common = set(index.tolist()) if common is None else common & set(index.tolist())
    if not common:
        return None
    keep = np.array(sorted(common))
    cut = [[(g[np.searchsorted(i, keep)], p[np.searchsorted(i, keep)]) for i, g, p in arm]
           for arm in arms]
    gold = cut[0][0][0]
    if any(not np.array_equal(g, gold) for arm in cut for g, _ in arm):
        return None
    return gold, [np.stack([p for _, p in arm]) for arm in cut]


def _trial_seeds(study_dir: StudyDir, row: dict, seeds) -> list[tuple]:
    parts = [trial_dev_predictions(study_dir, row["keys"][s], row["entry"]) for s in seeds]
    return [p for p in parts if p is not None]


def _teacher_seeds(teacher_run: str, entry: str) -> list[tuple]:
    if not teacher_run:
        return []
    files = sorted(Path(teacher_run).glob(f"seeds/*/outputs/{entry}.npz"))
    return [outputs_predictions(f, entry) for f in files]


def _retained(study_dir, row, reference_row, teacher: dict | None, n_resamples, seed) -> dict:
    """``row``'s retained share of its reference: the control row, else the teacher's seeds
    (or, when those are not on our dev examples, the teacher's recorded score, held fixed)."""
    view = study_dir.view()
    if not view.is_glue:   # a ratio's bootstrap over a suite's resampling unit: not yet
        return {"value": None, "ci": None, "why": f"{view.suite.title}: the retained share is "
                "computed for GLUE entries only (it resamples single examples)"}
    metrics = view.metrics(row["entry"])
    name = f"{row['task']}/{row['name']}"
    if reference_row is None and teacher is None:
        return {"value": None, "ci": None, "why": "no finished control to compare with"}
    if reference_row is not None:
        shared = [s for s in row["seeds"] if s in reference_row["seeds"]]
        arms = [_trial_seeds(study_dir, row, shared),
                _trial_seeds(study_dir, reference_row, shared)]
        paired = all(len(a) == len(shared) for a in arms)
    else:
        arms = [_trial_seeds(study_dir, row, row["seeds"]),
                _teacher_seeds(teacher["run"], row["entry"])]
        paired = False
    joined = _on_common_examples(arms) if all(arms) else None
    if joined is not None:
        gold, (variant, reference) = joined
        return retained_share(metrics, gold, variant, reference, paired=paired,
                              n_resamples=n_resamples, seed=seed, name=name)
    recorded = (teacher or {}).get("score")
    alone = _on_common_examples(arms[:1]) if arms[0] else None
    if reference_row is not None or recorded is None or alone is None:
        return {"value": None, "ci": None, "why": "no dev outputs of both on the same examples"}
    gold, (variant,) = alone
    out = retained_share(metrics, gold, variant, float(recorded), paired=False,
                         n_resamples=n_resamples, seed=seed, name=name)
    fixed = "the teacher's recorded score, held fixed (its dev outputs are not on our examples)"
    return {**out, "why": "; ".join(w for w in (fixed, out["why"]) if w)}


def _share(a, b) -> dict | None:
    return None if a is None or not b else {"value": a / b, "ci": None}


def _costs(kind: str, row: dict, ref: dict) -> dict:
    """What ``row`` spent against its reference, in the units of ``papers.UNITS``."""
    out = {} if kind == "data-diet" else {
        "parameters kept": _share(row["parameters"], ref.get("parameters"))}
    if kind == "layer-drop":
        out["layers kept"] = _share(row["x"], ref.get("layers"))
    if kind == "data-diet":
        out["training data kept"] = {"value": row["x"], "ci": None}
    seconds = row["train_seconds"]
    if seconds is not None and ref.get("train_seconds"):
        out["training time saved"] = {"value": 1 - seconds / ref["train_seconds"], "ci": None}
    latency = (row["efficiency"] or {}).get("latency_ms")
    if latency and ref.get("latency_ms"):
        out["speed-up"] = {"value": ref["latency_ms"] / latency, "ci": None}
        out["inference time saved"] = {"value": 1 - latency / ref["latency_ms"], "ci": None}
    return {k: v for k, v in out.items() if v is not None}


def _reference(kind: str, design: dict, task: str, control: dict | None,
               teacher_efficiency: dict) -> dict:
    if kind != "distill":
        return {"parameters": control["parameters"], "train_seconds": control["train_seconds"],
                "latency_ms": (control["efficiency"] or {}).get("latency_ms"),
                "layers": design.get("facts", {}).get("layers")} if control else {}
    t = design["facts"]["teachers"][task]
    return {"parameters": t["results"].get("parameters"),
            "latency_ms": (teacher_efficiency.get(task) or {}).get("latency_ms"),
            "run": design.get("facts", {}).get("teacher_run", ""),
            "entries": t["results"]["entries"]}


def measure(study_dir: StudyDir, design: dict, rows: list[dict], teacher_efficiency: dict, *,
            n_resamples: int, seed: int = 0) -> dict:
    """Each finished variant's numbers in the papers' units, per task, and the reference."""
    kind = design["study"]
    ref_kind, ref_name = REFERENCES[kind]
    out = {"reference": {"kind": ref_kind, "name": ref_name}, "tasks": {}}
    for task in design["tasks"]:
        mine = [r for r in rows if r["task"] == task]
        control = next((r for r in mine if r["name"] == "full" and r["seeds"]), None)
        ref = _reference(kind, design, task, control, teacher_efficiency)
        per_variant = {}
        for r in (r for r in mine if r["role"] == "variant" and r["seeds"]):
            teacher = {"run": ref.get("run", ""), "score": ref["entries"].get(r["entry"])} \
                if kind == "distill" else None
            kept = _retained(study_dir, r, control if teacher is None else None, teacher,
                             n_resamples, seed)
            per_variant[r["name"]] = {"score kept": kept, **_costs(kind, r, ref)}
        out["tasks"][task] = per_variant
    return out
