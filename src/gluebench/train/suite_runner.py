"""``finetune --suite``: fine-tuning on a suite's tasks (SuperGLUE, FewGLUE, a user's suite).

The same engine (``train.loop``), unit loop, resume and seeds as GLUE's ``train.runner``; what
differs is read from the suite definition (``shapes.framing``):

* ``classify`` tasks (BoolQ, CB, RTE, WiC and WSC with their spans marked, MultiRC one
  decision per answer option) train ``AutoModelForSequenceClassification`` as for GLUE;
* ``choose`` tasks (COPA's alternatives, ReCoRD's candidate entities) train
  ``AutoModelForMultipleChoice``, each option scored alone and a softmax over the row's own
  options (``train.choice``: how rows of varying option counts are batched).

Each unit predicts every entry its model predicts (RTE's: RTE, AX-b, AX-g) on dev and test in
the suite's submission format (``runs.suite_units``), so ``score --suite`` and ``submission
--suite`` read the run unchanged. **Model selection:** a task with a ``dev32`` file (FewGLUE)
is scored on it in every unit, and the unit (seed) whose dev32 score is the median is the
run's: never selected on the reported validation set, as FewGLUE's protocol requires. The
median, not the best: with 32 examples, the best of several seeds is mostly the luckiest one
(a dev32 accuracy has a standard error near 9 points), and the median is the rule the unit
loop applies everywhere else. Without ``dev32`` the median is taken on dev, as for GLUE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Suite, TaskDef
from gluebench.benchmark.suite_hub import is_hub
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.suite_prediction_writer import prediction_text
from gluebench.benchmark.suite_scoring import score_entry
from gluebench.benchmark.table import NO_GOLD, ExampleTable
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.models import hf
from gluebench.models.hf import ModelRef
from gluebench.runs.integrity import model_fingerprint, read_signed_json
from gluebench.runs.rundir import RunDir
from gluebench.runs.suite_units import (
    has_split,
    model_entries,
    predicted_tables,
    record_suite_split,
    subsample,
    suite_model_tasks,
    suite_reference,
    suite_run_dir,
    table_fingerprints,
    task_score,
    write_suite_results,
)
from gluebench.runs.units import UnitMethod, run_units, writing
from gluebench.shapes.framing import Framed, frame, shape_of
from gluebench.train import choice, loop
from gluebench.train.config import TrainConfig
from gluebench.train.features import encode_texts
from gluebench.train.hooks import ComposedHooks, TrainingHooks, Unit
from gluebench.train.methods import apply_method, count_parameters, exportable
from gluebench.train.runner import _save_checkpoint as save_checkpoint

SELECTION_SPLIT = "dev32"   # FewGLUE's model-selection set
# 32 examples at batch 32 are one step an epoch: GLUE's 10 epochs would be 10 steps. Few-shot
# fine-tuning baselines run a few hundred small steps (PET's: 250 steps of 16); we run 40
# epochs of 32 on a set this small, a CPU-sized compromise (``--epochs`` overrides it).
FEW_SHOT_SIZE = 100
FEW_SHOT_EPOCHS = 40.0


def finetune_suite(suite: Suite, data_dir, config: TrainConfig, out_dir,
                   tasks_spec: str | None = "all", *, overwrite: bool = False,
                   progress: bool | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                   stats_seed: int = 0) -> dict:
    """Fine-tune ``config.model`` on the suite's tasks x seeds, resumably; ``results.json``."""
    if config.method == "probe":
        raise UsageError("finetune --suite fine-tunes; --method probe is not fine-tuning "
                         "(expected full, lora, bitfit, layernorm or head)")
    hooks = suite_hooks(config)          # before any side effect
    reader = reading_suite(suite, data_dir)
    tasks = suite_model_tasks(suite, tasks_spec)
    require_training_files(reader, tasks, data_dir)
    ref = hf.resolve_model(config.model)
    run = suite_run_dir(out_dir, suite)
    run.check_target(overwrite=overwrite)
    tokenizer = hf.load_tokenizer(ref)
    hf.check_classifier(ref, tokenizer)
    engine = loop.Engine.choose(config)
    header = {"kind": "finetune", "model": ref.description, "data_source": str(data_dir),
              "model_fingerprint": model_fingerprint(ref), "config": config.to_dict(),
              "suite": suite_reference(suite)}
    started = time.perf_counter()
    with writing(run, header, [], overwrite=overwrite, progress=progress) as (bars, resumed):
        bars.log(f"model: {ref.description}; suite: {suite.title}; data: {data_dir}; "
                 f"device: {engine.device}{' bf16' if engine.bf16 else ''}"
                 + ("; resuming" if resumed else ""))
        method = SuiteFineTuning(suite, reader, data_dir, ref, tokenizer, config, engine, run,
                                 bars, header, n_resamples, stats_seed, started)
        results = run_units(run, tasks, method, bars)
    hooks.end_run(run.root, config.to_dict(), results)    # trackers: the results
    return results


def suite_hooks(config: TrainConfig) -> ComposedHooks:
    """The studies' and trackers' hooks a suite run honours: model transforms (layer
    dropping) and observers (``--report-to``). Data diets and distillation change GLUE
    examples and their teacher's outputs, which a suite task does not have: refused in one
    line rather than silently training the plain model."""
    hooks = [h for s in config.studies if (h := s.hooks()) is not None]
    unsupported = sorted({type(h).__name__ for h in hooks
                          if type(h).transform_data is not TrainingHooks.transform_data
                          or type(h).loss_term is not TrainingHooks.loss_term})
    if unsupported:
        raise UsageError(f"{', '.join(unsupported)}: changes the training examples or the loss, "
                         "which fine-tuning on a suite other than GLUE does not support; on a "
                         "suite, studies may drop layers and runs may --report-to")
    return ComposedHooks(hooks)


def eval_tables(reader: Suite, task: TaskDef, data_dir, config: TrainConfig):
    """What a unit predicts: each of the model's entries on ``config.splits`` (dev possibly a
    seeded subsample, ``runs.suite_units.predicted_tables``)."""
    return predicted_tables(reader, task, data_dir, config.splits,
                            max_eval_examples=config.max_eval_examples,
                            data_seed=config.data_seed)


def reading_suite(suite: Suite, data_dir) -> Suite:
    """The definition the files are read with: the suite's own, except FewGLUE on the hub,
    whose tasks are SuperGLUE's full ``super_glue`` sets (there is no dev32 there)."""
    if is_hub(data_dir) and suite.name == "fewglue":
        return load_suite("superglue")
    return suite


def require_training_files(suite: Suite, tasks: list[TaskDef], data_dir) -> None:
    """Before any side effect: every task to train has its training file."""
    missing = [t.name for t in tasks if not has_split(suite, suite.task(t.name), "train",
                                                      data_dir)]
    if missing:
        where = "on the hub" if is_hub(data_dir) else f"under {data_dir}"
        raise UsageError(f"{suite.title}: no training file {where} for {', '.join(missing)}; "
                         "expected each task's train file (see `gluebench tasks --suite "
                         f"{suite.name} --data-dir DIR`), or name the others with --tasks")


@dataclass
class SuiteFineTuning(UnitMethod):
    """Fine-tuning a suite's task in the unit loop: a unit trains one seed."""

    suite: Suite
    reader: Suite              # the definition its files are read with (``reading_suite``)
    data_dir: object
    ref: ModelRef
    tokenizer: object
    config: TrainConfig
    engine: loop.Engine
    run: RunDir
    bars: object
    header: dict
    n_resamples: int
    stats_seed: int
    started: float

    def unit_keys(self, task: TaskDef) -> tuple[int, ...]:
        return self.config.seeds

    def _train_table(self, task: TaskDef) -> tuple[ExampleTable, int]:
        table = load_split(self.reader, self.reader.task(task.name), "train", self.data_dir)
        n_available = len(table)
        if self.config.max_train_examples is not None:
            unit = model_entries(self.suite, task)[0].resample
            table = subsample(table, self.config.max_train_examples, self.config.data_seed,
                              unit=unit, name=task.name)
        return table, n_available

    def _tables(self, task: TaskDef):
        return eval_tables(self.reader, task, self.data_dir, self.config)

    def _selection_table(self, task: TaskDef) -> ExampleTable | None:
        task = self.reader.task(task.name)
        if not has_split(self.reader, task, SELECTION_SPLIT, self.data_dir):
            return None
        return load_split(self.reader, task, SELECTION_SPLIT, self.data_dir)

    def fingerprints(self, task: TaskDef) -> dict[str, str]:
        train = {"train": self._train_table(task)[0]}
        selection = self._selection_table(task)
        if selection is not None:
            train[SELECTION_SPLIT] = selection
        return table_fingerprints(self._tables(task), train)

    def run_unit(self, task: TaskDef, seed: int) -> dict:
        start = time.perf_counter()
        table, n_available = self._train_table(task)
        hooks = suite_hooks(self.config)
        unit = Unit(task.name, seed, self.config.data_seed, task.target == "score",
                    str(self.run.root))
        hooks.start_unit(unit, self.config.to_dict())      # trackers: a run per unit
        trained = train_task(task, table, seed, self.ref, self.tokenizer, self.config,
                             self.engine, self.bars, hooks=hooks, unit=unit)
        model = trained.pop("model")
        checkpoint = None
        if self.config.save_checkpoints:
            checkpoint = self.run.checkpoint(task.name, seed)
            save_checkpoint(model.inner if hasattr(model, "inner") else model, self.tokenizer,
                            checkpoint)
        entries, inference = self._predict_all(task, model, seed)
        selection = self._select_score(task, model, seed)
        score = selection["score"] if selection else task_score(self.suite, entries)
        trained["train"].update(available=n_available)
        record = {"task": task.name, "seed": seed, "model": self.ref.description, **trained,
                  "inference": inference, "entries": entries, "selection": selection,
                  "task_score": score, "checkpoint": str(checkpoint) if checkpoint else None,
                  "seconds": time.perf_counter() - start}
        hooks.end_unit(unit, record)                       # trackers: its dev scores
        return record

    def _predict_all(self, task: TaskDef, model, seed: int) -> tuple[dict, dict]:
        entries, inference = {}, {"examples": 0, "seconds": 0.0}
        for entry, split, table, n in self._tables(task):
            self.bars.unit(f"{entry.name} {split} seed {seed}")
            pred, outputs, seconds = predict_table(model, self.tokenizer, table, self.config,
                                                   self.engine, self.bars)
            inference["examples"] += len(table)
            inference["seconds"] += seconds
            scored = record_suite_split(self.run.seed_predictions(seed), self.suite, entry,
                                        split, table, pred, n_available=n, outputs=outputs,
                                        n_resamples=self.n_resamples, seed=self.stats_seed)
            if scored is not None:
                entries[entry.name] = scored
        return entries, inference

    def _select_score(self, task: TaskDef, model, seed: int) -> dict | None:
        """The task's own entry scored on ``dev32`` (None: the task has no dev32 file); its
        predictions are kept beside the unit's dev and test files."""
        table = self._selection_table(task)
        if table is None:
            return None
        self.bars.unit(f"{task.name} {SELECTION_SPLIT} seed {seed}")
        pred, _, _ = predict_table(model, self.tokenizer, table, self.config, self.engine,
                                   self.bars)
        entry = next(e for e in model_entries(self.suite, task) if e.task == task.name)
        target = self.run.seed_predictions(seed) / SELECTION_SPLIT / entry.submission_file
        atomic_write(target, prediction_text(self.suite, entry, table, pred))
        scored = score_entry(entry, table, pred, n_resamples=self.n_resamples,
                             seed=self.stats_seed)
        return {"split": SELECTION_SPLIT, "entry": entry.name, "score": scored["score"],
                "n": scored["n"]}

    def write_results(self, run: RunDir) -> dict:
        return write_suite_results(run, self.suite, self.header, started=self.started,
                                   environment_extra=self.engine.describe(),
                                   n_resamples=self.n_resamples, stats_seed=self.stats_seed,
                                   more={"selection": selection_summary(run.units())})


def selection_summary(units: list[dict]) -> dict:
    """Per task: the split and rule the run's unit was chosen by, and every seed's score."""
    from gluebench.runs.rundir import median_seed

    by_task: dict[str, list[dict]] = {}
    for unit in units:
        by_task.setdefault(unit["task"], []).append(unit)
    out = {}
    for name, group in by_task.items():
        split = (group[0].get("selection") or {}).get("split", "dev")
        out[name] = {"split": split, "rule": "median",
                     "per_seed": {str(u["seed"]): u["task_score"] for u in group},
                     "selected": median_seed(group)["seed"]}
    return out


def resolved_epochs(config: TrainConfig, n_train: int) -> float:
    """GLUE's epochs by training-set size, and ``FEW_SHOT_EPOCHS`` for a few-shot set."""
    if config.epochs is None and n_train < FEW_SHOT_SIZE:
        return FEW_SHOT_EPOCHS
    return config.resolved_epochs(n_train)


def train_task(task: TaskDef, table: ExampleTable, seed: int, ref: ModelRef, tokenizer,
               config: TrainConfig, engine, bars, *, hooks: TrainingHooks | None = None,
               unit: Unit | None = None) -> dict:
    """Frame the training rows, load the model for their shape, train it: the unit's facts
    and ``model`` (a classifier, or an option scorer around a multiple-choice model)."""
    from transformers import set_seed  # deferred: loads torch

    framed = frame(table)
    data, labels = training_data(framed, tokenizer, config.max_seq_length)
    if len(labels) == 0:
        raise UsageError(f"{task.name}: no labelled training rows to learn from")
    set_seed(seed)  # Python, numpy and torch; before the new head is initialised
    model, new = load_model(framed, task, ref)
    hooks = hooks or TrainingHooks()
    if unit is not None:
        model = hooks.transform_model(model, unit)    # studies: layer dropping
    learning_rate = config.resolved_learning_rate(hf.hidden_size(model))
    model = apply_method(model, config.method, new, config)
    parameters = count_parameters(model)
    epochs = resolved_epochs(config, len(labels))
    scorer = choice.option_scorer(model) if framed.kind == "choose" else model
    stats = loop.train(scorer, data, labels, config, engine, seed=seed,
                       learning_rate=learning_rate, epochs=epochs, progress=bars,
                       log_step=None if unit is None else
                       (lambda step, logs: hooks.log_step(unit, step, logs)))
    model = exportable(model)
    scorer = choice.option_scorer(model) if framed.kind == "choose" else model
    return {"model": scorer, "shape": framed.kind, "learning_rate": learning_rate,
            "epochs": epochs, "parameters": parameters, "new_parameters": new,
            "layers": getattr(model.config, "num_hidden_layers", None),
            "train": {"examples": len(labels), "pool": len(table), "steps": stats.steps,
                      "seconds": stats.seconds,
                      "examples_per_second": stats.examples_per_second,
                      "final_loss": stats.final_loss, "micro_batch": stats.micro_batch}}


def training_data(framed: Framed, tokenizer, max_length: int):
    """(the loop's data, its targets): labelled pairs, or rows of options with a correct one."""
    if framed.kind == "choose":
        data = choice.choice_data(tokenizer, framed, max_length)
        rows, targets = choice.choice_targets(framed)
        return (choice.subset(data, rows) if len(rows) else data), targets
    data = encode_texts(tokenizer, framed.columns(), max_length)
    labels = framed.labels
    if labels.dtype.kind == "f":
        return data, labels
    keep = np.flatnonzero(labels != NO_GOLD)
    return _take(data, keep), labels[keep]


def _take(data, rows: np.ndarray):
    """Rows of an ``Encoded`` (all of them: the same object)."""
    from gluebench.train.features import Encoded

    if len(rows) == len(data):
        return data
    lengths = data.lengths[rows]
    take = np.concatenate([np.arange(data.offsets[r], data.offsets[r + 1]) for r in rows]) \
        if len(rows) else np.zeros(0, np.int64)
    return Encoded(data.ids[take], np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                   None if data.token_types is None else data.token_types[take], data.pad_id)


def load_model(framed: Framed, task: TaskDef, ref: ModelRef):
    """The model for the framing's shape, with a new head, and its untrained parameters."""
    if framed.kind == "choose":
        return hf.load_multiple_choice(ref)
    return hf.load_classifier(ref, 1 if task.target == "score" else task.n_classes, task=task)


def predict_table(model, tokenizer, table: ExampleTable, config: TrainConfig, engine,
                  progress=None) -> tuple[list | np.ndarray, np.ndarray | None, float]:
    """(predictions in the table's row order, (n, classes) probabilities or None, seconds)."""
    framed = frame(table)
    if framed.kind == "choose":
        data = choice.choice_data(tokenizer, framed, config.max_seq_length)
        logits, seconds = loop.timed_predict(model, data, config, engine, progress)
        pred = framed.decide(choice.row_scores(logits, data))
        # Options that are classes (COPA) have probabilities over them; entities have none.
        probs = (choice.row_probabilities(logits, data)
                 if table.task.target == "class" and data.width == table.task.n_classes
                 else None)
        return pred, probs, seconds
    data = encode_texts(tokenizer, framed.columns(), config.max_seq_length)
    logits, seconds = loop.timed_predict(model, data, config, engine, progress)
    if table.task.target == "score":
        return logits[:, 0].astype(np.float64), None, seconds
    return logits.argmax(axis=1), _softmax(logits), seconds


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=1, keepdims=True)


# ---- evaluating already fine-tuned models on a suite ----------------------------------------

def evaluate_suite(suite: Suite, data_dir, models: list[str] | None, config: TrainConfig,
                   out_dir, tasks_spec: str | None = "all", *, overwrite: bool = False,
                   progress: bool | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                   stats_seed: int = 0) -> dict:
    """``evaluate --suite``: predict (and score dev) with fine-tuned models; ``results.json``.

    ``models``: a ``finetune --suite`` run directory (each task's selected checkpoint), one
    model folder or hub name for every task, or ``TASK=PATH`` pairs.
    """
    tasks = suite_model_tasks(suite, tasks_spec)
    paths = suite_models(models, suite, tasks)          # every check before any side effect
    refs = {t: hf.resolve_model(p) for t, p in paths.items()}
    run = suite_run_dir(out_dir, suite)
    run.check_target(overwrite=overwrite)
    engine = loop.Engine.choose(config)
    header = {"kind": "evaluate", "model": {t: r.description for t, r in refs.items()},
              "model_fingerprint": {t: model_fingerprint(r) for t, r in refs.items()},
              "data_source": str(data_dir), "config": config.to_dict(),
              "suite": suite_reference(suite)}
    started = time.perf_counter()
    with writing(run, header, [], overwrite=overwrite, progress=progress) as (bars, _):
        method = SuiteEvaluation(suite, reading_suite(suite, data_dir), data_dir, refs, config,
                                 engine, run, bars, header, n_resamples, stats_seed, started)
        return run_units(run, tasks, method, bars)


def suite_models(specs: list[str] | None, suite: Suite, tasks: list[TaskDef]) -> dict[str, str]:
    """Which model predicts each task (see ``evaluate_suite``); one error line if one has none."""
    chosen, default = {}, None
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if sep and not Path(spec).exists():
            chosen[suite.task(name).name] = path
        else:
            default = spec
    if default is not None and (Path(default) / "run.json").is_file():
        default_of = _run_checkpoints(Path(default), suite)
        return {t.name: chosen.get(t.name) or default_of(t.name) for t in tasks}
    missing = [t.name for t in tasks if t.name not in chosen and default is None]
    if missing:
        raise UsageError(f"evaluate --suite {suite.name} needs --model for "
                         f"{', '.join(missing)}: a finetune --suite run directory, one model "
                         "folder or hub name, or TASK=PATH pairs")
    return {t.name: chosen.get(t.name, default) for t in tasks}


def _run_checkpoints(run_dir: Path, suite: Suite):
    """A ``finetune --suite`` run's selected checkpoint of a task (one error line if absent)."""
    results = read_signed_json(run_dir / "results.json", what="the run's results")
    if results.get("suite", {}).get("sha256") != suite.sha256:
        raise UsageError(f"{run_dir} is a run of suite '{results.get('suite', {}).get('name')}'"
                         f", not of this {suite.title} definition; expected a run of --suite "
                         f"{suite.name}")
    training = results.get("training", {})

    def checkpoint(task: str) -> str:
        facts = training.get(task, {})
        local = run_dir / "checkpoints" / task / f"seed-{facts.get('selected_seed')}"
        if facts.get("probe") or not (local / "config.json").is_file():
            raise UsageError(f"{run_dir}: no fine-tuned {task} model in this run ({local} not "
                             "found); expected the checkpoints of a finetune --suite run")
        return str(local)
    return checkpoint


@dataclass
class SuiteEvaluation(UnitMethod):
    """``evaluate --suite`` in the unit loop: each task's one unit ("eval") predicts with its
    model, loaded with the head its shape needs (a classifier, or multiple choice)."""

    suite: Suite
    reader: Suite
    data_dir: object
    refs: dict[str, ModelRef]
    config: TrainConfig
    engine: loop.Engine
    run: RunDir
    bars: object
    header: dict
    n_resamples: int
    stats_seed: int
    started: float

    def unit_keys(self, task: TaskDef) -> tuple[str]:
        return ("eval",)

    def _tables(self, task: TaskDef):
        return eval_tables(self.reader, task, self.data_dir, self.config)

    def fingerprints(self, task: TaskDef) -> dict[str, str]:
        return table_fingerprints(self._tables(task))

    def run_unit(self, task: TaskDef, key: str) -> dict:
        ref = self.refs[task.name]
        tokenizer = hf.load_tokenizer(ref)
        if shape_of(task) == "classify":
            model, _ = hf.load_classifier(ref)
        else:
            model = choice.option_scorer(hf.load_multiple_choice(ref)[0])
        entries, inference = {}, {"examples": 0, "seconds": 0.0}
        for entry, split, table, n in self._tables(task):
            self.bars.unit(f"{entry.name} {split}")
            pred, outputs, seconds = predict_table(model, tokenizer, table, self.config,
                                                   self.engine, self.bars)
            inference["examples"] += len(table)
            inference["seconds"] += seconds
            scored = record_suite_split(self.run.seed_predictions(key), self.suite, entry,
                                        split, table, pred, n_available=n, outputs=outputs,
                                        n_resamples=self.n_resamples, seed=self.stats_seed)
            if scored is not None:
                entries[entry.name] = scored
        return {"task": task.name, "seed": key, "model": ref.description,
                "checkpoint": ref.path, "inference": inference, "entries": entries,
                "task_score": task_score(self.suite, entries)}

    def write_results(self, run: RunDir) -> dict:
        return write_suite_results(run, self.suite, self.header, started=self.started,
                                   environment_extra=self.engine.describe(),
                                   n_resamples=self.n_resamples, stats_seed=self.stats_seed)
