"""``finetune`` and ``evaluate``: every task (and seed) of a run, resumably.

Each unit of work is one task x seed: load the training split, fine-tune, save the
checkpoint, predict dev and test for each of the task's leaderboard entries (the MNLI
model also predicts AX), score dev, and write a marker file. Then the median seed's
predictions become the run's, and ``results.json`` is rewritten.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from gluebench.data import DataSource, Examples
from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.models import hf
from gluebench.models.finetuned import read_results, saved_model
from gluebench.models.outputs import model_outputs, predictions_from_logits
from gluebench.predictions import as_written, write_predictions
from gluebench.scoring import evaluation_examples, score_entry
from gluebench.stats import DEFAULT_RESAMPLES
from gluebench.tasks import BENCHMARKS, TASKS, Task, get_task, resolve_benchmarks
from gluebench.train import features, loop
from gluebench.train.config import TrainConfig
from gluebench.train.diet import diet_subset
from gluebench.train.distillation import objective_for
from gluebench.train.methods import apply_method, count_parameters, exportable
from gluebench.train.progress import RunProgress
from gluebench.train.pruning import drop_layers
from gluebench.train.rundir import (
    RunDir,
    entries_of,
    environment,
    median_seed,
    prediction_profile,
    results_document,
)
from gluebench.tsv import atomic_write, write_json


def tasks_to_run(spec: str | None) -> list[Task]:
    """The trainable tasks named by ``--tasks`` (AX is predicted by the MNLI model)."""
    names = dict.fromkeys(b.task for b in resolve_benchmarks(spec))
    if "AX" in names:
        names.pop("AX")
        names.setdefault("MNLI")
    return [TASKS[n] for n in names]


def _with_train_data(source: DataSource, tasks: list[Task], log) -> list[Task]:
    ready = [t for t in tasks if source.has(t, "train")]
    for task in tasks:
        if task not in ready:
            log(f"{task.name}: no training data in {source.description}; skipped")
    if not ready:
        raise UsageError(f"no training data for {', '.join(t.name for t in tasks)} in "
                         f"{source.description}")
    return ready


def predict_task(task: Task, model, tokenizer, source: DataSource, config: TrainConfig,
                 engine, pred_root: Path, *, perm=None, progress=None, label: str = "",
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Predict every split in ``config.splits`` for the task's entries; score dev."""
    scored, inference = {}, {"examples": 0, "seconds": 0.0}
    for entry in entries_of(task):
        benchmark = BENCHMARKS[entry]
        entry_task = get_task(benchmark.task)
        for split in config.splits:
            if not source.has(entry_task, benchmark.file_key(split)):
                continue
            examples = evaluation_examples(source, benchmark, split)
            n_available = len(examples)
            if split == "dev":
                examples = examples.subsample(config.max_eval_examples, config.data_seed)
            if progress is not None:
                progress.unit(f"{entry} {split} {label}".strip())
            encoded = features.encode(tokenizer, examples, config.max_seq_length)
            logits, seconds = loop.timed_predict(model, encoded, config, engine, progress)
            # Score exactly what the file says, so `gluebench score` agrees to the last digit.
            values = as_written(entry_task, predictions_from_logits(task, logits, perm))
            write_predictions(pred_root / split / benchmark.submission_file, entry_task,
                              examples.index, values)
            inference["examples"] += len(examples)
            inference["seconds"] += seconds
            if split == "dev":
                scored[entry] = _score_dev(benchmark, entry_task, examples, values,
                                           n_available, n_resamples, seed)
                save_outputs(pred_root.parent / "outputs" / f"{entry}.npz", examples,
                             model_outputs(task, logits, perm))
    return {"entries": scored, "inference": inference}


def score_holdout(task: Task, held_out: Examples, model, tokenizer, config: TrainConfig,
                  engine, *, progress=None, label: str = "",
                  n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Score the held-out part of train with the task's first entry's metrics (selection)."""
    benchmark = BENCHMARKS[entries_of(task)[0]]
    if progress is not None:
        progress.unit(f"{task.name} holdout {label}".strip())
    encoded = features.encode(tokenizer, held_out, config.max_seq_length)
    logits, seconds = loop.timed_predict(model, encoded, config, engine, progress)
    values = as_written(task, predictions_from_logits(task, logits, None))
    scored = score_entry(benchmark, held_out, values, n_resamples=n_resamples, seed=seed)
    return {"entry": benchmark.name, "examples": len(held_out), "seconds": seconds,
            **scored, **prediction_profile(task, values)}


def save_outputs(path: Path, examples: Examples, outputs: np.ndarray) -> None:
    """Dev probabilities beside gold labels: what calibration and error analysis read."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, index=examples.index, gold=examples.labels, outputs=outputs)
    atomic_write(path, buffer.getvalue())


def _score_dev(benchmark, task: Task, gold: Examples, values, n_available: int,
               n_resamples: int, seed: int):
    result = score_entry(benchmark, gold, values, n_resamples=n_resamples, seed=seed)
    if len(gold) < n_available:
        result["subsample"] = {"n": len(gold), "of": n_available}
    return {**result, **prediction_profile(task, values)}


def finetune(source: DataSource, config: TrainConfig, out_dir, tasks_spec: str | None = "all",
             *, overwrite: bool = False, progress: bool | None = None,
             n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Fine-tune ``config.model`` on every task x seed, resumably; returns ``results.json``."""
    ref = hf.resolve_model(config.model)
    engine = loop.Engine.choose(config)
    run = RunDir(out_dir)
    header = {"kind": "finetune", "model": ref.description, "data_source": source.description,
              "config": config.to_dict()}
    started = time.perf_counter()
    with RunProgress(progress) as bars:
        resumed = run.start(header, overwrite=overwrite)
        tasks = _with_train_data(source, tasks_to_run(tasks_spec), bars.log)
        bars.log(f"model: {ref.description}; data: {source.description}; "
                 f"device: {engine.device}{' bf16' if engine.bf16 else ''}"
                 + ("; resuming" if resumed else ""))
        tokenizer = hf.load_tokenizer(ref)
        for task in tasks:
            units = []
            for seed in config.seeds:
                unit = run.done(task.name, seed)
                if unit:
                    bars.log(f"{task.name} seed {seed}: already done, skipped (resume)")
                else:
                    bars.unit(f"{task.name} seed {seed}")
                    unit = _finetune_unit(task, seed, ref, tokenizer, source, config, engine,
                                          run, bars, n_resamples, stats_seed)
                    run.save_unit(unit)
                    bars.log(_unit_line(unit))
                units.append(unit)
            run.promote(task, median_seed(units)["seed"])
            results = _write_results(run, header, engine, n_resamples, stats_seed, started)
    return results


def _finetune_unit(task, seed, ref, tokenizer, source, config, engine, run, bars,
                   n_resamples, stats_seed) -> dict:
    from transformers import set_seed

    start = time.perf_counter()
    train_examples = source.load(task, "train")
    n_available = len(train_examples)
    train_examples = train_examples.subsample(config.max_train_examples, config.data_seed)
    held_out = None
    if config.holdout_fraction is not None:
        if len(train_examples) < 2:
            raise UsageError(f"{task.name}: holdout_fraction needs at least 2 training examples")
        train_examples, held_out = train_examples.split_off(config.holdout_fraction,
                                                            config.data_seed)
    n_pool = len(train_examples)
    train_examples = diet_subset(train_examples, config, seed)   # data diets (studies)
    encoded = features.encode(tokenizer, train_examples, config.max_seq_length)
    set_seed(seed)  # Python, numpy and torch; before the new head is initialised
    model, new = hf.load_classifier(ref, 1 if task.is_regression else len(task.labels),
                                    task=task)
    if config.drop_layers:  # layer dropping (studies): a shallower pre-trained encoder
        model = drop_layers(model, config.drop_layers)
    learning_rate = config.resolved_learning_rate(hf.hidden_size(model))
    epochs = config.resolved_epochs(len(train_examples))
    model = apply_method(model, config.method, new, config)
    parameters = count_parameters(model)
    objective = objective_for(config, train_examples, hf.hidden_size(model),
                              task.is_regression)   # knowledge distillation (studies)
    stats = loop.train(model, encoded, train_examples.labels, config, engine, seed=seed,
                       learning_rate=learning_rate, epochs=epochs, progress=bars,
                       objective=objective)
    model = exportable(model)
    holdout = None if held_out is None else score_holdout(
        task, held_out, model, tokenizer, config, engine, progress=bars, label=f"seed {seed}",
        n_resamples=n_resamples, seed=stats_seed)
    checkpoint = None
    if config.save_checkpoints:
        checkpoint = run.checkpoint(task.name, seed)
        _save_checkpoint(model, tokenizer, checkpoint)
    evaluated = predict_task(task, model, tokenizer, source, config, engine,
                             run.seed_predictions(seed), progress=bars, label=f"seed {seed}",
                             n_resamples=n_resamples, seed=stats_seed)
    return {
        "task": task.name, "seed": seed, "model": ref.description,
        "learning_rate": learning_rate, "epochs": epochs, "parameters": parameters,
        "new_parameters": new,
        "layers": getattr(model.config, "num_hidden_layers", None),
        "train": {"examples": len(train_examples), "available": n_available, "pool": n_pool,
                  "steps": stats.steps, "seconds": stats.seconds,
                  "examples_per_second": stats.examples_per_second,
                  "final_loss": stats.final_loss, "micro_batch": stats.micro_batch},
        "inference": evaluated["inference"],
        "entries": evaluated["entries"],
        "holdout": holdout,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "seconds": time.perf_counter() - start,
    }


def _save_checkpoint(model, tokenizer, path: Path) -> None:
    """Save to a temporary folder, then rename: a checkpoint folder is complete or absent."""
    import shutil

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def _unit_line(unit: dict) -> str:
    scores = ", ".join(f"{n} {e['score']:.1f}" + (" (collapsed)" if e.get("collapsed") else "")
                       for n, e in unit["entries"].items())
    train = unit.get("train")
    speed = (f"; trained {train['examples']} ex in {train['seconds']:.0f} s "
             f"({train['examples_per_second']:.0f} ex/s)") if train else ""
    return f"{unit['task']} seed {unit['seed']}: {scores or 'no dev labels'}{speed}"


def _write_results(run: RunDir, header: dict, engine, n_resamples, stats_seed, started) -> dict:
    units = run.units()
    extra = {
        "environment": {**environment(), **engine.describe()},
        "timings": {
            "run_seconds": time.perf_counter() - started,
            "train_seconds": sum(u.get("train", {}).get("seconds", 0.0) for u in units),
            "inference_seconds": sum(u["inference"]["seconds"] for u in units),
            "inference_examples": sum(u["inference"]["examples"] for u in units),
        },
    }
    results = results_document(run, units, header, n_resamples=n_resamples, seed=stats_seed,
                               extra=extra)
    write_json(run.root / "results.json", results)
    return results


# ---- evaluating already fine-tuned models -------------------------------------------------

def model_for_tasks(specs: list[str] | None, tasks: list[Task]) -> dict[str, str | None]:
    """Which model predicts each task: ``PATH``, ``TASK=PATH`` pairs, or a gluebench run dir."""
    specs = specs or [None]
    chosen: dict[str, str | None] = {}
    default: str | None = None
    for spec in specs:
        name, sep, path = (spec or "").partition("=")
        if sep and not Path(spec).exists():
            chosen[get_task(name).name] = path
        else:
            default = spec
    if default is not None and (Path(default) / "run.json").is_file():
        results = read_results(default)
        return {t.name: chosen.get(t.name) or saved_model(default, results, t)[0]
                for t in tasks}
    return {t.name: chosen.get(t.name, default) for t in tasks}


def evaluate(source: DataSource, models: list[str] | None, config: TrainConfig, out_dir,
             tasks_spec: str | None = "all", *, label_map: dict[str, str] | None = None,
             overwrite: bool = False, progress: bool | None = None,
             n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Predict (and score dev) with already fine-tuned models; returns ``results.json``."""
    tasks = tasks_to_run(tasks_spec)
    paths = model_for_tasks(models, tasks)
    if any(p is None for p in paths.values()):
        raise UsageError("evaluate needs --model: a fine-tuned model folder or hub name, "
                         "TASK=PATH pairs, or a gluebench run directory")
    refs = {t: hf.resolve_model(p) for t, p in paths.items()}
    engine = loop.Engine.choose(config)
    run = RunDir(out_dir)
    header = {"kind": "evaluate", "model": {t: r.description for t, r in refs.items()},
              "data_source": source.description, "config": config.to_dict()}
    started = time.perf_counter()
    with RunProgress(progress) as bars:
        run.start(header, overwrite=overwrite)
        for task in tasks:
            if run.done(task.name, "eval"):
                bars.log(f"{task.name}: already done, skipped (resume)")
                continue
            ref = refs[task.name]
            model, _ = hf.load_classifier(ref)
            perm = hf.output_permutation(task, model, ref.path, label_map)
            tokenizer = hf.load_tokenizer(ref)
            bars.unit(f"{task.name} eval")
            evaluated = predict_task(task, model, tokenizer, source, config, engine,
                                     run.seed_predictions("eval"), perm=perm, progress=bars,
                                     n_resamples=n_resamples, seed=stats_seed)
            if not evaluated["inference"]["examples"]:
                warnings.warn(f"{task.name}: nothing to predict in {source.description}",
                              GlueBenchWarning, stacklevel=2)
            unit = {"task": task.name, "seed": "eval", "model": ref.description,
                    "label_permutation": None if perm is None else perm.tolist(),
                    "parameters": count_parameters(model), "checkpoint": ref.path,
                    **evaluated}
            run.save_unit(unit)
            run.promote(task, "eval")
            bars.log(_unit_line(unit))
        results = _write_results(run, header, engine, n_resamples, stats_seed, started)
    return results
