"""``finetune --method probe --suite NAME|PATH``: the frozen-encoder probe on a suite's tasks.

The steps, in order: the tasks a model is run for (SuperGLUE's RTE also predicts AX-b and
AX-g), skipping those without a training file; each task's train table (a seeded subsample
of whole units with ``--max-train-examples``), its ``dev32`` when the suite has one, and the
tables it predicts, all checked before anything is written; then every distinct text of the
framed rows (``probe.suite_features``) embedded once; then per task x seed the head
(``probe.suite_heads``: C chosen on dev32, else by k-fold on train) is fitted, saved, and
predicts each table into the suite's prediction files (``runs.suite_units``), which
``score --suite`` reads unchanged. Resume, the lock and the median seed come from the unit
loop (``runs.units``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Entry, Suite, TaskDef
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import UsageError
from gluebench.formats.atomic import write_json
from gluebench.models import hf
from gluebench.probe.embed import SentenceEncoder
from gluebench.probe.heads import training_problem
from gluebench.probe.predictor import PROBE_FILE
from gluebench.probe.suite_features import (
    FeatureTable,
    head_task,
    item_targets,
    predictions,
    texts_of,
)
from gluebench.probe.suite_heads import fit_suite_head
from gluebench.runs.integrity import model_fingerprint
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
from gluebench.runs.units import UnitMethod, is_current, run_units, writing
from gluebench.shapes.framing import frame
from gluebench.train import loop
from gluebench.train.config import TrainConfig

SELECTION_SPLIT = "dev32"   # FewGLUE's model-selection set, when a task has one


@dataclass
class SuiteTaskData:
    """One task's tables: what the head learns from, selects on, and predicts."""

    task: TaskDef
    entry: Entry               # the task's own entry: its metric selects C
    train: ExampleTable
    n_available: int
    dev32: ExampleTable | None
    tables: list[tuple]        # (entry, split, table, rows available)
    prints: dict[str, str] = field(default_factory=dict)

    def all_tables(self) -> list[ExampleTable]:
        return [self.train] + ([self.dev32] if self.dev32 is not None else []) + \
            [t[2] for t in self.tables]


def suite_probe(suite: Suite, data_dir, config: TrainConfig, out_dir,
                tasks_spec: str | None = "all", *, overwrite: bool = False,
                progress: bool | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                stats_seed: int = 0) -> dict:
    """Probe ``config.model`` on the suite's tasks x seeds, resumably; returns results.json."""
    ref = hf.resolve_model(config.model)
    run = suite_run_dir(out_dir, suite)
    datas, skipped = _prepare(suite, data_dir, config, tasks_spec)   # checked first
    tasks = [d.task for d in datas.values()]
    run.check_target(overwrite=overwrite)
    header = {"kind": "finetune", "model": ref.description, "data_source": str(data_dir),
              "model_fingerprint": model_fingerprint(ref), "config": config.to_dict(),
              "suite": suite_reference(suite)}
    started = time.perf_counter()
    with writing(run, header, skipped, overwrite=overwrite, progress=progress) as (bars, _):
        method = probing(suite, datas, config, run, header, bars, more={},
                         n_resamples=n_resamples, stats_seed=stats_seed, started=started)
        return run_units(run, tasks, method, bars)


def probe_problem(suite: Suite, task: TaskDef, data_dir, config: TrainConfig) -> str | None:
    """Why the probe cannot run on ``task`` with these data (None: it can)."""
    return _task_data(suite, task, data_dir, config)[1]


def task_datas(suite: Suite, tasks: list[TaskDef], data_dir, config: TrainConfig
               ) -> dict[str, SuiteTaskData]:
    """Each task's tables, checked (``probe_problem``); one that cannot be probed is an error."""
    datas = {}
    for task in tasks:
        data, why = _task_data(suite, task, data_dir, config)
        if why:
            raise UsageError(why)
        datas[task.name] = data
    return datas


def probing(suite: Suite, datas: dict[str, SuiteTaskData], config: TrainConfig, run: RunDir,
            header: dict, bars, *, more: dict, n_resamples: int, stats_seed: int,
            started: float) -> SuiteProbing:
    """The probe as the unit loop's method, in a run already started: every distinct text of
    the tasks still to do embedded once, then a head per task x seed (``SuiteProbing``)."""
    ref = hf.resolve_model(config.model)
    engine = loop.Engine.choose(config)
    todo = [d for d in datas.values()
            if not all(is_current(run, d.task.name, s, d.prints) for s in config.seeds)]
    encoder = SentenceEncoder(ref, max_length=config.max_seq_length, device=engine.device,
                              int8=config.int8, bf16=engine.bf16)
    bars.log(f"model: {ref.description}, frozen; suite: {suite.title}; device: {engine.device}")
    features, stats = _embed(encoder, todo, bars)
    more = {**more, "probe": {"encoder": encoder.describe(), "embedding": stats}}
    return SuiteProbing(suite, datas, features, encoder, config, run, header, more,
                        n_resamples, stats_seed, started)


@dataclass
class SuiteProbing(UnitMethod):
    """The probe in the unit loop: a unit fits one seed's head for one suite task."""

    suite: Suite
    datas: dict[str, SuiteTaskData]
    features: FeatureTable | None
    encoder: SentenceEncoder
    config: TrainConfig
    run: RunDir
    header: dict
    more: dict
    n_resamples: int
    stats_seed: int
    started: float             # time.perf_counter() when the run began

    def unit_keys(self, task: TaskDef) -> tuple[int, ...]:
        return self.config.seeds

    def fingerprints(self, task: TaskDef) -> dict[str, str]:
        return self.datas[task.name].prints

    def run_unit(self, task: TaskDef, seed: int) -> dict:
        return _probe_unit(self.suite, self.datas[task.name], seed, self.features,
                           self.encoder, self.run, self.n_resamples, self.stats_seed)

    def write_results(self, run: RunDir) -> dict:
        return write_suite_results(run, self.suite, self.header, started=self.started,
                                   n_resamples=self.n_resamples, stats_seed=self.stats_seed,
                                   more=self.more)


def _prepare(suite: Suite, data_dir, config: TrainConfig, tasks_spec
             ) -> tuple[dict[str, SuiteTaskData], list[str]]:
    """Every task's tables, and a line for each task left out: no training file, no file to
    predict, or training rows no head can learn from (FewGLUE's WSC: 32 rows, all "true").
    A task named in ``--tasks`` that cannot run is an error; with ``all`` it is skipped."""
    named = tasks_spec not in (None, "", "all")
    datas, reasons = {}, []
    for task in suite_model_tasks(suite, tasks_spec):
        data, why = _task_data(suite, task, data_dir, config)
        if why and named:
            raise UsageError(why)
        if why:
            reasons.append(why)
        else:
            datas[task.name] = data
    if not datas:
        raise UsageError(f"no {suite.title} task can be probed with the data under {data_dir} "
                         f"({'; '.join(reasons)})")
    return datas, [f"{why}; skipped" for why in reasons]


def _task_data(suite: Suite, task: TaskDef, data_dir, config: TrainConfig
               ) -> tuple[SuiteTaskData | None, str | None]:
    """The task's tables, or why a probe cannot run on it."""
    if not has_split(suite, task, "train", data_dir):
        return None, f"{task.name}: no training file under {data_dir}"
    entry = next(e for e in model_entries(suite, task) if e.task == task.name)
    full = load_split(suite, task, "train", data_dir)
    train = subsample(full, config.max_train_examples, config.data_seed, unit=entry.resample,
                      name=task.name) if config.max_train_examples else full
    problem = head_task(task)
    why = None if problem.is_regression else \
        training_problem(problem, item_targets(frame(train))[1])
    if why:
        return None, f"{task.name} train ({train.source}, {len(train)} rows): {why}"
    tables = predicted_tables(suite, task, data_dir, config.splits,
                              max_eval_examples=config.max_eval_examples,
                              data_seed=config.data_seed)
    if not tables:
        return None, (f"{task.name}: no {' or '.join(config.splits)} file to predict under "
                      f"{data_dir}")
    dev32 = (load_split(suite, task, SELECTION_SPLIT, data_dir)
             if has_split(suite, task, SELECTION_SPLIT, data_dir) else None)
    data = SuiteTaskData(task, entry, train, len(full), dev32, tables)
    learn = {"train": train} | ({SELECTION_SPLIT: dev32} if dev32 is not None else {})
    data.prints = table_fingerprints(tables, train=learn)
    return data, None


def _embed(encoder: SentenceEncoder, datas: list[SuiteTaskData], bars
           ) -> tuple[FeatureTable | None, dict | None]:
    """Every distinct text of the tasks' framed tables, embedded once (cached on disk)."""
    if not datas:
        return None, None
    texts = list(dict.fromkeys(t for d in datas for table in d.all_tables()
                               for t in texts_of(frame(table))))
    bars.unit(f"embedding {len(texts):,} distinct texts")
    vectors, stats = encoder.embed(texts, bars)
    described = stats.describe()
    bars.log(f"embedded {len(texts):,} distinct texts" + (" (from the cache)" if stats.cached
             else f" in {stats.seconds:.0f} s"))
    return FeatureTable(texts, vectors), described


def _probe_unit(suite: Suite, data: SuiteTaskData, seed: int, features: FeatureTable,
                encoder: SentenceEncoder, run: RunDir, n_resamples: int,
                stats_seed: int) -> dict:
    start = time.perf_counter()
    task = data.task
    head = fit_suite_head(task, data.entry, features, data.train, data.dev32, seed=seed)
    fit_seconds = time.perf_counter() - start
    checkpoint = run.checkpoint(task.name, seed)
    head.save(checkpoint)
    framing = frame(data.train).kind
    write_json(checkpoint / PROBE_FILE, {"encoder": encoder.describe(),
                                         "model_path": encoder.ref.path, "framing": framing,
                                         "features": FEATURES})
    entries, inference = {}, {"examples": 0, "seconds": 0.0}
    for entry, split, table, n_available in data.tables:
        t0 = time.perf_counter()
        framed = frame(table)
        pred, probs = predictions(task, framed, head.scores(features.features(framed)))
        inference["examples"] += len(table)
        inference["seconds"] += time.perf_counter() - t0
        scored = record_suite_split(run.seed_predictions(seed), suite, entry, split, table,
                                    pred, n_available=n_available, outputs=probs,
                                    n_resamples=n_resamples, seed=stats_seed)
        if scored is not None:
            entries[entry.name] = scored
    n = len(data.train)
    return {
        "task": task.name, "seed": seed, "model": encoder.ref.description,
        "parameters": {"total": encoder.parameters + head.parameters,
                       "trainable": head.parameters},
        "train": {"examples": n, "available": data.n_available, "steps": None,
                  "seconds": fit_seconds,
                  "examples_per_second": n / fit_seconds if fit_seconds else 0.0},
        "probe": {"head": head.kind, **head.facts, "framing": framing, "features": FEATURES},
        "inference": inference, "entries": entries, "checkpoint": str(checkpoint),
        "task_score": task_score(suite, entries), "seconds": time.perf_counter() - start,
    }


FEATURES = "[u, v, |u-v|, u*v] of the framed pair (u alone for a single text)"
