"""``gluebench robustness``: a run's models on adversarial, perturbed and out-of-domain data.

Three sections, each scored with the official metrics and set beside the clean score:

* AdvGLUE dev (see ``advglue``), with the benign originals where annotated;
* the perturbation suite (see ``transformations``) on a seeded dev subsample: for each
  task x transformation the score, its change against the same clean examples with a
  paired bootstrap CI and permutation p-value, and the share of flipped predictions;
* out-of-distribution files in a task's dev format (``--extra [TASK:]NAME=PATH``).

Results go to ``RUN_DIR/analysis/robustness.json`` after every finished cell, so an
interrupted run resumes where it stopped; cells are reused only for the same settings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from gluebench.about import SCHEMA_VERSION
from gluebench.benchmark.scoring import evaluation_examples, score_entry
from gluebench.benchmark.sources import Examples, read_split
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, paired_test
from gluebench.benchmark.tasks import BENCHMARKS, get_task, resolve_benchmarks
from gluebench.errors import DataError, GlueBenchError, GlueBenchWarning, UsageError
from gluebench.formats.atomic import read_json, write_json
from gluebench.robustness import transformations as tf
from gluebench.robustness.advglue import ADV_TASKS, advglue_score, load_advglue
from gluebench.run_models import RunModels
from gluebench.runs.rundir import entries_of

DEFAULT_MAX_EXAMPLES = 500


# ---- choosing what to run ---------------------------------------------------------------

def chosen_transformations(spec: str | None) -> tuple[list, dict[str, str]]:
    """The transformations to run, and those skipped with the reason.

    A missing spaCy model is an error (the corruption probes are the core of the
    suite); missing WordNet data skips the synonym swap unless it was asked for by name.
    """
    named = spec not in (None, "", "all")
    ready, skipped = [], {}
    for t in tf.resolve(spec):
        reason = tf.available(t.name)
        if reason is None:
            ready.append(t)
        elif named or t.needs == "spacy":
            raise UsageError(f"perturbation '{t.name}': {reason}")
        else:
            skipped[t.name] = reason
    return ready, skipped


def chosen_tasks(models: RunModels, spec: str | None) -> list[str]:
    if spec in (None, "", "all"):
        return models.tasks
    names = list(dict.fromkeys(b.task for b in resolve_benchmarks(spec)))
    for name in names:
        models.predictor(name)   # a task without a model fails here, in one line
    return names


def describe(t) -> dict:
    return {"description": t.description, "label_preserving": t.label_preserving,
            "family": t.family, "source": t.source, "needs": t.needs}


def find_advglue(path: str | None, source) -> Path | None:
    if path:
        return Path(path)
    roots = [Path(os.environ["GLUEBENCH_ADVGLUE"])] if os.environ.get("GLUEBENCH_ADVGLUE") else []
    root = getattr(source, "root", None)
    if root is not None:
        roots += [root / "advglue" / "dev.json", root.parent / "advglue" / "dev.json"]
    return next((p for p in roots if p.is_file()), None)


# ---- the three sections -----------------------------------------------------------------

def perturbed(examples: Examples, name: str, seed: int) -> Examples:
    """The same examples with every input field transformed (one call, one spaCy pass)."""
    fields = list(examples.inputs)
    texts = [t for f in fields for t in examples.inputs[f]]
    changed = tf.perturb(name, texts, seed=seed)
    n = len(examples)
    inputs = {f: changed[i * n:(i + 1) * n] for i, f in enumerate(fields)}
    return Examples(examples.task, f"{examples.split}+{name}", examples.source, examples.index,
                    inputs, examples.labels, examples.meta)


def compare(entry: str, gold: Examples, clean: np.ndarray, changed: np.ndarray, *,
            n_resamples: int, seed: int, name: str) -> dict:
    """Score of ``changed``, its difference from ``clean`` (CI, p) and the flip rate."""
    benchmark = BENCHMARKS[entry]
    test = paired_test(benchmark.metrics, gold.labels, changed, clean, n_resamples=n_resamples,
                       seed=seed, name=name)["score"]
    out = {"score": test.a, "clean": test.b, "delta": test.diff, "ci": test.ci,
           "p_value": test.p_value}
    if gold.task.labels is None:
        out["mean_abs_change"] = float(np.mean(np.abs(changed - clean)))
    else:
        out["flip_rate"] = float(np.mean(changed != clean))
    return out


def perturbation_cells(models, entry: str, clean_examples: Examples, transformations, done: dict,
                       *, seed: int, n_resamples: int, progress, save) -> dict:
    predictor = models.predictor(get_task(BENCHMARKS[entry].task).name)
    clean = predictor.predict(clean_examples, progress).values
    cells = dict(done)
    for t in transformations:
        if t.name in cells:
            continue
        if progress is not None:
            progress.unit(f"{entry} {t.name}")
        examples = perturbed(clean_examples, t.name, seed)
        changed_text = np.mean([a != b for f in examples.inputs
                                for a, b in zip(examples.inputs[f], clean_examples.inputs[f],
                                                strict=True)])
        values = predictor.predict(examples, progress).values
        cells[t.name] = {**compare(entry, clean_examples, clean, values, seed=seed,
                                   n_resamples=n_resamples, name=f"{entry}/{t.name}"),
                         "label_preserving": t.label_preserving,
                         "texts_changed": float(changed_text)}
        save(cells)
    return cells


def advglue_section(models, path: Path, data: dict, tasks: list[str], results: dict, *,
                    n_resamples: int, seed: int, progress) -> tuple[dict, dict]:
    entries, predictions = {}, {}
    missing = [entry for key, (task, entry) in ADV_TASKS.items()
               if task not in tasks or key not in data]
    for key, (adversarial, originals) in data.items():
        task, entry = ADV_TASKS[key]
        if task not in tasks:
            continue
        if progress is not None:
            progress.unit(f"AdvGLUE {key}")
        predictor = models.predictor(task)
        values = predictor.predict(adversarial, progress).values
        predictions[key] = values.astype(int).tolist()
        scored = score_entry(BENCHMARKS[entry], adversarial, values, n_resamples=n_resamples,
                             seed=seed)
        clean = results.get("tasks", {}).get(entry, {}).get("score")
        row = {"adv_task": key, **scored, "clean_score": clean,
               "drop": None if clean is None else clean - scored["score"]}
        if originals is not None:
            rows = np.array([int(r) for r in originals.meta["rows"]])
            benign = predictor.predict(originals, progress).values
            row["benign"] = {"n": len(rows), **compare(
                entry, originals, benign, values[rows], n_resamples=n_resamples, seed=seed,
                name=f"advglue/{key}")}
            row["benign_score"] = row["benign"]["clean"]
        entries[entry] = row
    scores = {entries[e]["adv_task"]: entries[e]["score"] for e in entries}
    return ({"file": str(path), "entries": entries, "score": advglue_score(scores),
             "partial": bool(missing), "missing": missing}, predictions)


def parse_extra(spec: str, tasks: list[str]) -> tuple[str, str, Path]:
    """``[TASK:]NAME=PATH`` -> (task, name, path); the task is inferred when unambiguous."""
    head, sep, path = spec.partition("=")
    if not sep or not head or not path:
        raise UsageError(f"--extra '{spec}': expected NAME=PATH or TASK:NAME=PATH")
    task, _, name = head.rpartition(":")
    if task:
        return get_task(task).name, name, Path(path)
    fits = []
    for candidate in tasks:
        try:
            read_split(get_task(candidate), "dev", path)
            fits.append(candidate)
        except GlueBenchError:
            continue
    if len(fits) != 1:
        what = f"it fits {', '.join(fits)}" if fits else "it fits no task's dev format"
        raise UsageError(f"--extra '{spec}': {what}; write TASK:{name}={path}")
    return fits[0], name, Path(path)


def ood_section(models, extras: list[tuple[str, str, Path]], results: dict, *,
                n_resamples: int, seed: int, progress) -> dict:
    """``extras``: (task, name, path) as ``parse_extra`` gives them."""
    out = {}
    for task_name, name, path in extras:
        task = get_task(task_name)
        entry = entries_of(task)[0]
        examples = read_split(task, BENCHMARKS[entry].dev, path)
        if examples.labels is None:
            raise DataError(path, "no gold labels: an out-of-distribution file needs them")
        if progress is not None:
            progress.unit(f"OOD {name}")
        values = models.predictor(task.name).predict(examples, progress).values
        scored = score_entry(BENCHMARKS[entry], examples, values, n_resamples=n_resamples,
                             seed=seed)
        inside = results.get("tasks", {}).get(entry, {}).get("score")
        out[name] = {"task": task.name, "entry": entry, "path": str(path), **scored,
                     "in_distribution": inside,
                     "delta": None if inside is None else scored["score"] - inside}
    return out


# ---- the command ------------------------------------------------------------------------

def _earlier_cells(path: Path, settings: dict) -> dict:
    """Finished perturbation cells of an interrupted run with the same settings."""
    if not path.is_file():
        return {}
    try:
        before = read_json(path)
    except DataError:   # a half-written or foreign file: start afresh
        return {}
    if before.get("settings") != settings:
        return {}
    return {e: r.get("results", {}) for e, r in before.get("perturbations", {}).items()}


def perturbation_section(models, source, task_name: str, transformations, done: dict,
                         section: dict, *, max_examples: int, seed: int, n_resamples: int,
                         progress, save) -> None:
    """Fill ``section`` (part of the saved document) for one task, saving after each cell."""
    entry = entries_of(get_task(task_name))[0]
    if not source.has(get_task(task_name), BENCHMARKS[entry].dev):
        section["skipped"] = f"no dev data in {source.description}"
        return
    clean = evaluation_examples(source, BENCHMARKS[entry], "dev").subsample(max_examples, seed)
    section.update({"n": len(clean), "metric": " + ".join(BENCHMARKS[entry].metrics),
                    "results": {}})

    def keep(cells):
        section["results"] = cells
        if cells:
            section["clean_score"] = next(iter(cells.values()))["clean"]
        save()

    keep(perturbation_cells(models, entry, clean, transformations, done, seed=seed,
                            n_resamples=n_resamples, progress=progress, save=keep))


def run_robustness(run_dir, source, *, tasks_spec: str | None = None,
                   perturbations: str | None = "all", advglue: str | None = None,
                   extras: list[str] | None = None, max_examples: int = DEFAULT_MAX_EXAMPLES,
                   seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES, device: str = "auto",
                   progress=None) -> dict:
    # Everything that can be wrong is checked before the first prediction.
    models = RunModels(run_dir, device=device)
    tasks = chosen_tasks(models, tasks_spec)
    transformations, skipped = chosen_transformations(perturbations)
    extras = [parse_extra(spec, tasks) for spec in extras or []]
    adv_path = find_advglue(advglue, source)
    adv_data = load_advglue(adv_path) if adv_path else None
    for name, reason in skipped.items():
        warnings.warn(f"perturbation '{name}' skipped: {reason}", GlueBenchWarning, stacklevel=2)

    out_path = Path(run_dir) / "analysis" / "robustness.json"
    settings = {"seed": seed, "max_examples": max_examples, "data_source": source.description,
                "n_resamples": n_resamples}
    earlier = _earlier_cells(out_path, settings)
    doc = {"schema_version": SCHEMA_VERSION, "kind": "robustness", "run": str(run_dir),
           "settings": settings, "seed": seed, "max_examples": max_examples,
           "transformations": {t.name: describe(t) for t in tf.resolve(perturbations)},
           "skipped_transformations": skipped, "perturbations": {}}
    save = lambda: write_json(out_path, doc)  # noqa: E731
    for task_name in tasks:
        entry = entries_of(get_task(task_name))[0]
        perturbation_section(models, source, task_name, transformations,
                             earlier.get(entry, {}), doc["perturbations"].setdefault(entry, {}),
                             max_examples=max_examples, seed=seed, n_resamples=n_resamples,
                             progress=progress, save=save)
    doc["advglue"] = {"skipped": "no AdvGLUE dev.json found; pass --advglue PATH"}
    if adv_data is not None:
        doc["advglue"], predictions = advglue_section(
            models, adv_path, adv_data, tasks, models.results, n_resamples=n_resamples,
            seed=seed, progress=progress)
        write_json(out_path.with_name("advglue_predictions.json"), predictions)
    doc["ood"] = ood_section(models, extras, models.results, n_resamples=n_resamples,
                             seed=seed, progress=progress)
    save()
    return doc
