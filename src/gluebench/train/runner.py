"""``finetune`` and ``evaluate``: every task (and seed) of a run, resumably.

Each unit of work is one task x seed: load the training split, fine-tune, save the
checkpoint, predict dev and test for each of the task's leaderboard entries (the MNLI
model also predicts AX), score dev, and write a marker file. Then the median seed's
predictions become the run's, and ``results.json`` is rewritten.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from gluebench.benchmark.logits import predictions_from_logits
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.scoring import score_entry
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.tasks import BENCHMARKS, Task, get_task
from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.models import hf
from gluebench.models.hf import ModelRef
from gluebench.runs.integrity import model_fingerprint
from gluebench.runs.readers import read_results, saved_model
from gluebench.runs.recording import (
    data_fingerprints,
    eval_splits,
    prepare,
    record_split,
    run_header,
    tasks_to_run,
    training_examples,
    write_results,
)
from gluebench.runs.rundir import RunDir, entries_of, prediction_profile
from gluebench.runs.units import UnitMethod, run_units, writing
from gluebench.train import features, loop
from gluebench.train.config import TrainConfig
from gluebench.train.hooks import Unit
from gluebench.train.methods import apply_method, count_parameters, exportable


def predict_task(task: Task, model, tokenizer, source: DataSource, config: TrainConfig,
                 engine, pred_root: Path, *, perm=None, progress=None, label: str = "",
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict:
    """Predict every split in ``config.splits`` for the task's entries; score dev."""
    scored, inference = {}, {"examples": 0, "seconds": 0.0}
    for benchmark, split, examples, n_available in eval_splits(task, source, config):
        if progress is not None:
            progress.unit(f"{benchmark.name} {split} {label}".strip())
        encoded = features.encode(tokenizer, examples, config.max_seq_length)
        logits, seconds = loop.timed_predict(model, encoded, config, engine, progress)
        inference["examples"] += len(examples)
        inference["seconds"] += seconds
        result = record_split(task, benchmark, split, examples, n_available, logits, pred_root,
                              perm=perm, n_resamples=n_resamples, seed=seed)
        if result is not None:
            scored[benchmark.name] = result
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


def finetune(source: DataSource, config: TrainConfig, out_dir, tasks_spec: str | None = "all",
             *, overwrite: bool = False, progress: bool | None = None,
             n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Fine-tune ``config.model`` on every task x seed, resumably; returns ``results.json``.

    ``--method probe`` is not fine-tuning: ``recipes.finetune`` runs it with ``probe.run``.
    """
    ref = hf.resolve_model(config.model)
    run = RunDir(out_dir)
    tasks, skipped = prepare(source, tasks_spec, run, overwrite=overwrite)
    tokenizer = hf.load_tokenizer(ref)
    hf.check_classifier(ref, tokenizer)
    engine = loop.Engine.choose(config)
    header = run_header(ref, source, config)
    started = time.perf_counter()
    with writing(run, header, skipped, overwrite=overwrite, progress=progress) as (bars, resumed):
        bars.log(f"model: {ref.description}; data: {source.description}; "
                 f"device: {engine.device}{' bf16' if engine.bf16 else ''}"
                 + ("; resuming" if resumed else ""))
        method = FineTuning(ref, tokenizer, source, config, engine, run, bars, header,
                            n_resamples, stats_seed, started)
        results = run_units(run, tasks, method, bars)
    config.hooks().end_run(run.root, config.to_dict(), results)    # trackers: the results
    return results


@dataclass
class FineTuning(UnitMethod):
    """Fine-tuning in the unit loop (``gluebench.runs.units``): a unit trains one seed."""

    ref: ModelRef
    tokenizer: object
    source: DataSource
    config: TrainConfig
    engine: loop.Engine
    run: RunDir
    bars: object
    header: dict
    n_resamples: int
    stats_seed: int
    started: float             # time.perf_counter() when the run began

    def unit_keys(self, task: Task) -> tuple[int, ...]:
        return self.config.seeds

    def fingerprints(self, task: Task) -> dict[str, str]:
        return data_fingerprints(task, self.source, self.config)

    def run_unit(self, task: Task, seed: int) -> dict:
        return _finetune_unit(task, seed, self.ref, self.tokenizer, self.source, self.config,
                              self.engine, self.run, self.bars, self.n_resamples,
                              self.stats_seed)

    def write_results(self, run: RunDir) -> dict:
        return write_results(run, self.header, self.engine, self.n_resamples, self.stats_seed,
                             self.started)


def _finetune_unit(task, seed, ref, tokenizer, source, config, engine, run, bars,
                   n_resamples, stats_seed) -> dict:
    from transformers import set_seed

    start = time.perf_counter()
    train_examples, n_available = training_examples(task, source, config)  # one read of train
    held_out = None
    if config.holdout_fraction is not None:
        if len(train_examples) < 2:
            raise UsageError(f"{task.name}: holdout_fraction needs at least 2 training examples")
        train_examples, held_out = train_examples.split_off(config.holdout_fraction,
                                                            config.data_seed)
    n_pool = len(train_examples)
    hooks = config.hooks()
    unit = Unit(task.name, seed, config.data_seed, task.is_regression, str(run.root))
    hooks.start_unit(unit, config.to_dict())      # trackers: a run per unit, with the config
    train_examples = hooks.transform_data(train_examples, unit)   # studies: data diets
    encoded = features.encode(tokenizer, train_examples, config.max_seq_length)
    set_seed(seed)  # Python, numpy and torch; before the new head is initialised
    model, new = hf.load_classifier(ref, 1 if task.is_regression else len(task.labels),
                                    task=task)
    model = hooks.transform_model(model, unit)   # studies: layer dropping
    learning_rate = config.resolved_learning_rate(hf.hidden_size(model))
    epochs = config.resolved_epochs(len(train_examples))
    model = apply_method(model, config.method, new, config)
    parameters = count_parameters(model)
    loss_term = hooks.loss_term(train_examples, model, unit)   # studies: distillation
    stats = loop.train(model, encoded, train_examples.labels, config, engine, seed=seed,
                       learning_rate=learning_rate, epochs=epochs, progress=bars,
                       loss_term=loss_term,
                       log_step=lambda step, logs: hooks.log_step(unit, step, logs))
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
    record = {
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
    hooks.end_unit(unit, record)                  # trackers: its dev scores
    return record


def _save_checkpoint(model, tokenizer, path: Path) -> None:
    """Save to a temporary folder, then rename: a checkpoint folder is complete or absent."""
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
    missing = [t for t, p in paths.items() if p is None]
    if len(missing) == len(paths):
        raise UsageError("evaluate needs --model: a fine-tuned model folder or hub name, "
                         "TASK=PATH pairs, or a gluebench run directory")
    if missing:
        raise UsageError(f"no --model for {', '.join(missing)}: name only the tasks of your "
                         "TASK=PATH pairs with --tasks, or give a model for every task")
    refs = {t: hf.resolve_model(p) for t, p in paths.items()}
    run = RunDir(out_dir)
    run.check_target(overwrite=overwrite)
    engine = loop.Engine.choose(config)
    header = {"kind": "evaluate", "model": {t: r.description for t, r in refs.items()},
              "model_fingerprint": {t: model_fingerprint(r) for t, r in refs.items()},
              "data_source": source.description, "config": config.to_dict()}
    started = time.perf_counter()
    with writing(run, header, [], overwrite=overwrite, progress=progress) as (bars, _):
        method = Evaluation(refs, label_map, source, config, engine, run, bars, header,
                            n_resamples, stats_seed, started)
        return run_units(run, tasks, method, bars)


@dataclass
class Evaluation(UnitMethod):
    """``evaluate`` in the unit loop: each task's one unit ("eval") predicts with its model."""

    refs: dict[str, ModelRef]
    label_map: dict[str, str] | None
    source: DataSource
    config: TrainConfig
    engine: loop.Engine
    run: RunDir
    bars: object
    header: dict
    n_resamples: int
    stats_seed: int
    started: float             # time.perf_counter() when the run began

    def unit_keys(self, task: Task) -> tuple[str]:
        return ("eval",)

    def fingerprints(self, task: Task) -> dict[str, str]:
        return data_fingerprints(task, self.source, self.config, train=False)

    def run_unit(self, task: Task, key: str) -> dict:
        ref = self.refs[task.name]
        model, _ = hf.load_classifier(ref)
        perm = hf.output_permutation(task, model, ref.path, self.label_map)
        tokenizer = hf.load_tokenizer(ref)
        evaluated = predict_task(task, model, tokenizer, self.source, self.config, self.engine,
                                 self.run.seed_predictions(key), perm=perm, progress=self.bars,
                                 n_resamples=self.n_resamples, seed=self.stats_seed)
        if not evaluated["inference"]["examples"]:
            warnings.warn(f"{task.name}: nothing to predict in {self.source.description}",
                          GlueBenchWarning, stacklevel=2)
        return {"task": task.name, "seed": key, "model": ref.description,
                "label_permutation": None if perm is None else perm.tolist(),
                "parameters": count_parameters(model), "checkpoint": ref.path,
                "checkpoint_source": "hub" if ref.description.endswith("(hub)") else "folder",
                **evaluated}

    def write_results(self, run: RunDir) -> dict:
        return write_results(run, self.header, self.engine, self.n_resamples, self.stats_seed,
                             self.started)
