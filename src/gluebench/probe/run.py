"""``finetune --method probe``: every task (and seed) of a run with a frozen encoder.

The steps, in order: find the tasks with training data; take each task's seeded,
stratified train subsample and check that a head can learn from it (before anything is
written); gather the other splits the run needs (dev, test); embed each distinct sentence
once; then per task x seed fit the scikit-learn head on train, save it, predict and score
each split exactly as fine-tuning does (``train.recording``), and write the unit's marker.
The run directory, prediction files, dev outputs and ``results.json`` are those of
fine-tuning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gluebench.benchmark import metrics
from gluebench.benchmark.sources import DataSource, Examples
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.tasks import Task
from gluebench.errors import UsageError
from gluebench.formats.atomic import write_json
from gluebench.models import hf
from gluebench.probe.embed import SentenceEncoder, SentenceTable, embed_examples
from gluebench.probe.heads import cosine, fit_head, training_problem
from gluebench.probe.predictor import PROBE_FILE
from gluebench.runs.recording import (
    data_fingerprints,
    eval_splits,
    prepare,
    record_split,
    run_header,
    unit_line,
    write_results,
)
from gluebench.runs.rundir import RunDir
from gluebench.runs.units import UnitMethod, is_current, run_units, writing
from gluebench.train import loop
from gluebench.train.config import TrainConfig


@dataclass
class TaskData:
    """What one task's units need: the train subsample and every split to predict."""

    task: Task
    train: Examples
    n_available: int
    splits: list[tuple]        # (benchmark, split, examples, examples available)


def _all_examples(data: TaskData) -> list[Examples]:
    return [data.train] + [s[2] for s in data.splits]


def probe(source: DataSource, config: TrainConfig, out_dir, tasks_spec: str | None = "all",
          *, overwrite: bool = False, progress: bool | None = None,
          n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Probe ``config.model`` on every task x seed, resumably; returns ``results.json``."""
    ref = hf.resolve_model(config.model)
    run = RunDir(out_dir)
    tasks, skipped = prepare(source, tasks_spec, run, overwrite=overwrite)
    trains = {t.name: _training_data(t, source, config) for t in tasks}   # checked, unwritten
    engine = loop.Engine.choose(config)
    header = run_header(ref, source, config)
    started = time.perf_counter()
    with writing(run, header, skipped, overwrite=overwrite, progress=progress) as (bars, resumed):
        prints = {t.name: data_fingerprints(t, source, config, train=False)
                  | {"train": trains[t.name][0].fingerprint()} for t in tasks}
        todo = [t for t in tasks
                if not all(is_current(run, t.name, s, prints[t.name]) for s in config.seeds)]
        datas = [TaskData(t, *trains[t.name], list(eval_splits(t, source, config)))
                 for t in todo]
        encoder = SentenceEncoder(ref, max_length=config.max_seq_length, device=engine.device,
                                  int8=config.int8, bf16=engine.bf16)
        bars.log(f"model: {ref.description}, frozen ({encoder.pooling.declared_by}: "
                 f"{'+'.join(encoder.pooling.modes)} pooling"
                 f"{', normalised' if encoder.pooling.normalize else ''}"
                 f"{', int8' if config.int8 else ''}); data: {source.description}; device: "
                 f"{engine.device}" + ("; resuming" if resumed else ""))
        embeddings = embed_examples(encoder, [e for d in datas for e in _all_examples(d)],
                                    bars) if datas else None
        if embeddings is not None:
            bars.log(_embedding_line(embeddings.stats.describe()))
        more = {"probe": {"encoder": encoder.describe(),
                          "embedding": embeddings.stats.describe() if embeddings else None}}
        method = Probing({d.task.name: d for d in datas}, prints, embeddings, encoder, config,
                         engine, run, header, more, n_resamples, stats_seed, started)
        return run_units(run, tasks, method, bars)


@dataclass
class Probing(UnitMethod):
    """The probe in the unit loop (``gluebench.runs.units``): a unit fits one seed's head.

    ``datas`` holds only the tasks with a unit to run (the others were not embedded).
    """

    datas: dict[str, TaskData]
    prints: dict[str, dict[str, str]]
    embeddings: SentenceTable | None
    encoder: SentenceEncoder
    config: TrainConfig
    engine: loop.Engine
    run: RunDir
    header: dict
    more: dict
    n_resamples: int
    stats_seed: int
    started: float             # time.perf_counter() when the run began

    def unit_keys(self, task: Task) -> tuple[int, ...]:
        return self.config.seeds

    def fingerprints(self, task: Task) -> dict[str, str]:
        return self.prints[task.name]

    def run_unit(self, task: Task, seed: int) -> dict:
        return _probe_unit(self.datas[task.name], seed, self.embeddings, self.encoder, self.run,
                           self.n_resamples, self.stats_seed)

    def unit_line(self, unit: dict) -> str:
        return unit_line(unit) + _cosine_note(unit)

    def write_results(self, run: RunDir) -> dict:
        return write_results(run, self.header, self.engine, self.n_resamples, self.stats_seed,
                             self.started, self.more)


def _training_data(task: Task, source: DataSource, config: TrainConfig
                   ) -> tuple[Examples, int]:
    """(the seeded, stratified train subsample, the split's size), or one line if no head
    can be fitted on it. Stratified: each class keeps its share, and every class is present
    when the subsample is large enough (fine-tuning's subsample is a plain random one).
    """
    full = source.load(task, "train")
    train = full.stratified_subsample(config.max_train_examples, config.data_seed)
    problem = training_problem(task, train.labels)
    if problem:
        size = (f"the seeded subsample of {len(train)} of {len(full)} examples"
                if len(train) < len(full) else f"{len(full)} examples")
        raise UsageError(f"{task.name} train ({full.source}, {size}): {problem}")
    return train, len(full)


def _probe_unit(data: TaskData, seed: int, embeddings: SentenceTable, encoder: SentenceEncoder,
                run: RunDir, n_resamples: int, stats_seed: int) -> dict:
    start = time.perf_counter()
    task = data.task
    head = fit_head(task, embeddings.features(data.train), data.train.labels, seed=seed)
    fit_seconds = time.perf_counter() - start
    checkpoint = run.checkpoint(task.name, seed)
    head.save(checkpoint)
    write_json(checkpoint / PROBE_FILE, {"encoder": encoder.describe(),
                                         "model_path": encoder.ref.path,
                                         "features": _feature_kind(task)})
    entries, inference = {}, {"examples": 0, "seconds": 0.0}
    pred_root = run.seed_predictions(seed)
    for benchmark, split, examples, n_available in data.splits:
        t0 = time.perf_counter()
        scores = head.scores(embeddings.features(examples))
        inference["examples"] += len(examples)
        inference["seconds"] += time.perf_counter() - t0
        scored = record_split(task, benchmark, split, examples, n_available, scores, pred_root,
                              n_resamples=n_resamples, seed=stats_seed)
        if scored is not None:
            entries[benchmark.name] = scored | _zero_shot(benchmark, task, embeddings, examples)
    n = len(data.train)
    return {
        "task": task.name, "seed": seed, "model": encoder.ref.description,
        "parameters": {"total": encoder.parameters + head.parameters,
                       "trainable": head.parameters},
        "train": {"examples": n, "available": data.n_available, "steps": None,
                  "seconds": fit_seconds,
                  "examples_per_second": n / fit_seconds if fit_seconds else 0.0},
        "probe": {"head": head.kind, **head.facts, "features": _feature_kind(task)},
        "inference": inference, "entries": entries, "checkpoint": str(checkpoint),
        "seconds": time.perf_counter() - start,
    }


def _feature_kind(task: Task) -> str:
    return "u" if len(task.input_fields) == 1 else "[u, v, |u-v|, u*v]"


def _zero_shot(benchmark, task: Task, embeddings: SentenceTable, examples: Examples) -> dict:
    """STS-B: the untrained cosine of the two sentence vectors, scored beside the head."""
    if not task.is_regression or examples.labels is None:
        return {}
    similarity = cosine(*embeddings.columns(examples))
    pearson = metrics.pearson(examples.labels, similarity)
    spearman = metrics.spearman(examples.labels, similarity)
    return {"zero_shot_cosine": {"pearson": pearson, "spearman": spearman,
                                 "score": 50 * (pearson + spearman),
                                 "note": "cosine of the frozen sentence vectors, no training; "
                                         "not the prediction written to "
                                         f"{benchmark.submission_file} (the ridge head's)"}}


def _cosine_note(unit: dict) -> str:
    zero = next((e["zero_shot_cosine"] for e in unit["entries"].values()
                 if e.get("zero_shot_cosine")), None)
    if not zero:
        return ""
    return (f" (ridge head; zero-shot cosine: Pearson {100 * zero['pearson']:.1f} / "
            f"Spearman {100 * zero['spearman']:.1f})")


def _embedding_line(stats: dict) -> str:
    if stats["cached"]:
        return f"embeddings of {stats['sentences']:,} distinct sentences: from the cache"
    return (f"embedded {stats['sentences']:,} distinct sentences ({stats['tokens']:,} tokens) "
            f"in {stats['seconds']:.0f} s ({stats['sentences_per_second']:.0f} sentences/s)")
