"""``gluebench prompt``: a prompted LM on every task, in a ``finetune``-style run directory.

One unit of work is task x template x demonstration seed: draw the demonstrations,
predict dev and test for each of the task's leaderboard entries (MNLI's prompts also
predict AX), score dev (raw, length-normalised, calibrated), write a marker. The
median unit's predictions become the run's, so ``score``, ``submission``, ``report``,
``calibration``, ``power`` and ``robustness`` read the run as they read a fine-tuned one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.scoring import score_entry
from gluebench.benchmark.sources import DataSource
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.tasks import BENCHMARKS, Task, get_task
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.lm import fewshot, spread
from gluebench.lm.backends import check_backend, make_backend
from gluebench.lm.config import PromptConfig
from gluebench.lm.contamination import contamination_note
from gluebench.lm.predictor import PromptedPrediction, PromptPredictor
from gluebench.lm.templates import get_template, templates_by_task
from gluebench.runs.integrity import write_signed_json
from gluebench.runs.recording import (
    data_fingerprints,
    eval_splits,
    save_outputs,
    score_dev,
    tasks_to_run,
    write_prediction_file,
)
from gluebench.runs.rundir import RunDir, entries_of, environment, results_document
from gluebench.runs.units import run_units, writing

CALIBRATED = "calibrated"   # RUN_DIR/calibrated/predictions/{dev,test}: calibrated files


def unit_key(template: str, seed: int) -> str:
    return f"{template}.s{seed}"


def split_key(key: str) -> tuple[str, int]:
    """``unit_key``'s inverse: (template, demonstration seed)."""
    template, _, seed = key.rpartition(".s")
    return template, int(seed)


def _with_data(source: DataSource, tasks: list[Task], config: PromptConfig, log) -> list[Task]:
    def has_any(task: Task) -> bool:
        return any(source.has(get_task(BENCHMARKS[e].task), BENCHMARKS[e].file_key(s))
                   for e in entries_of(task) for s in config.splits)

    ready = [t for t in tasks if has_any(t)]
    for task in tasks:
        if task not in ready:
            log(f"{task.name}: no {'/'.join(config.splits)} data in {source.description}; "
                "skipped")
    if not ready:
        raise UsageError(f"no {'/'.join(config.splits)} data for "
                         f"{', '.join(t.name for t in tasks)} in {source.description}")
    return ready


def run_prompt(source: DataSource, config: PromptConfig, out_dir, tasks_spec: str | None = "all",
               *, overwrite: bool = False, progress: bool | None = None,
               n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Prompt ``config``'s model on every task x template x seed, resumably."""
    run = RunDir(out_dir)
    tasks, templates, skipped = _prepare(source, config, tasks_spec, run, overwrite=overwrite)
    backend = make_backend(config, out_dir)    # loads the model: nothing is written yet
    header = {"kind": "prompt", "model": backend.description,
              "data_source": source.description, "config": config.to_dict()}
    started = time.perf_counter()
    with writing(run, header, skipped, overwrite=overwrite, progress=progress) as (bars,
                                                                                  resumed):
        _log_start(bars, backend, source, config, templates, resumed)
        method = Prompting(templates, backend, source, config, run, bars, header, n_resamples,
                           stats_seed, started)
        return run_units(run, tasks, method, bars)


@dataclass
class Prompting:
    """A prompted LM in the unit loop (``gluebench.runs.units``): a unit is one template x
    demonstration seed, stored under ``unit_key(template, seed)``."""

    templates: dict[str, list[str]]    # each task's templates
    backend: object
    source: DataSource
    config: PromptConfig
    run: RunDir
    bars: object
    header: dict
    n_resamples: int
    stats_seed: int
    started: float                     # time.perf_counter() when the run began

    def unit_keys(self, task: Task) -> list[str]:
        return [unit_key(template, seed)
                for template in self.templates[task.name] for seed in self.config.demo_seeds]

    def fingerprints(self, task: Task) -> dict[str, str]:
        return data_fingerprints(task, self.source, self.config, train=False)

    def run_unit(self, task: Task, key: str) -> dict:
        template, seed = split_key(key)
        return prompt_unit(task, template, seed, self.backend, self.source, self.config,
                           self.run, self.bars, self.n_resamples, self.stats_seed)

    def unit_line(self, unit: dict) -> str:
        return _unit_line(unit)

    def promote(self, run: RunDir, task: Task, key: str) -> None:
        run.promote(task, key)
        _promote_calibrated(run, task, key)

    def write_results(self, run: RunDir) -> dict:
        return _write_results(run, self.header, self.backend, self.config, self.n_resamples,
                              self.stats_seed, self.started)


def _prepare(source: DataSource, config: PromptConfig, tasks_spec: str | None, run: RunDir, *,
             overwrite: bool) -> tuple[list[Task], dict[str, list[str]], list[str]]:
    """Every check before the first side effect: tasks, templates, data, demonstrations,
    backend and ``-o``. Returns the tasks, each task's templates and the lines to log."""
    tasks = tasks_to_run(tasks_spec)
    templates = templates_by_task(config.template, tasks)
    skipped: list[str] = []
    tasks = _with_data(source, tasks, config, skipped.append)
    for task in tasks:
        fewshot.check(source, task, config.shots)
    check_backend(config)
    run.check_target(overwrite=overwrite)
    return tasks, templates, skipped


def _log_start(bars, backend, source: DataSource, config: PromptConfig,
               templates: dict[str, list[str]], resumed: bool) -> None:
    names = list(dict.fromkeys(n for per_task in templates.values() for n in per_task))
    bars.log(f"model: {backend.description}; data: {source.description}; "
             f"{config.shots}-shot, scoring {config.scoring}"
             + (f"; templates: {', '.join(names)}" if len(names) > 1 else "")
             + ("; resuming" if resumed else ""))
    if config.shots == 0 and len(config.seeds) > 1:
        bars.log("0-shot: no demonstrations to draw, so one run instead of one per seed")


def prompt_unit(task: Task, template: str, seed: int, backend, source: DataSource,
                config: PromptConfig, run: RunDir, bars, n_resamples: int, stats_seed: int
                ) -> dict:
    start = time.perf_counter()
    demos = fewshot.draw(source, task, config.shots, seed, balanced=config.balanced)
    predictor = PromptPredictor(task, backend, get_template(task, template), demos,
                                config.scoring, config.calibrate, config.top_k,
                                config.max_new_tokens)
    root = run.seed_predictions(unit_key(template, seed))
    entries, inference = {}, {"examples": 0, "seconds": 0.0}
    for benchmark, split, examples, n_available in eval_splits(task, source, config):
        entry, entry_task = benchmark.name, get_task(benchmark.task)
        bars.unit(f"{entry} {split} {unit_key(template, seed)}")
        began = time.perf_counter()
        pred = predictor.predict(examples, bars)
        inference["seconds"] += time.perf_counter() - began
        inference["examples"] += len(examples)
        name = benchmark.submission_file
        write_prediction_file(root / split / name, entry_task, examples.index, pred.values)
        if pred.calibrated is not None:
            write_prediction_file(root.parent / CALIBRATED / split / name, entry_task,
                                  examples.index, pred.calibrated)
        if split == "dev":
            entries[entry] = _scored(benchmark, entry_task, examples, pred, n_available,
                                     n_resamples, stats_seed)
            save_outputs(root.parent / "outputs" / f"{entry}.npz", examples, pred.outputs,
                         loglikelihoods=pred.scores)
    inference["examples_per_second"] = inference["examples"] / max(inference["seconds"], 1e-9)
    return {"task": task.name, "seed": unit_key(template, seed), "template": template,
            "demo_seed": seed, "model": backend.description,
            "checkpoint": getattr(getattr(backend, "ref", None), "path", None) or backend.url,
            "prompt": predictor.setup(), "inference": inference, "entries": entries,
            "seconds": time.perf_counter() - start}


def _scored(benchmark, task: Task, gold, pred: PromptedPrediction, n_available: int,
            n_resamples: int, seed: int) -> dict:
    """The official score of the written predictions, and beside it the variants."""
    out = score_dev(benchmark, task, gold, pred.values, n_available, n_resamples, seed)

    def brief(values, examples=gold):
        scored = score_entry(benchmark, examples, values, n_resamples=n_resamples, seed=seed)
        return {k: scored[k] for k in (*benchmark.metrics, "score", "n", "ci")}

    if pred.normalised is not None:
        out["length_normalised"] = brief(pred.normalised)
    if pred.calibrated is not None:
        out["calibrated"] = brief(pred.calibrated)
    if pred.calibration_undefined is not None:
        out["calibration_undefined"] = pred.calibration_undefined
    if pred.parsed is not None:
        n_bad = int((~pred.parsed).sum())
        out["unparseable"] = {"n": n_bad, "share": n_bad / max(1, len(gold)),
                              "written_as": task.labels[0] if task.labels else 0.0}
        if 0 < n_bad < len(gold):
            rows = np.flatnonzero(pred.parsed)
            out["unparseable"]["parsed_only"] = brief(pred.values[rows], gold.take(rows))
    return out


def _promote_calibrated(run: RunDir, task: Task, key: str) -> None:
    """The chosen unit's calibrated files, and none of another unit's where it has none."""
    source = run.seed_predictions(key).parent / CALIBRATED
    for split in ("dev", "test"):
        for entry in entries_of(task):
            path = source / split / BENCHMARKS[entry].submission_file
            target = run.root / CALIBRATED / "predictions" / split / path.name
            if path.is_file():
                atomic_write(target, path.read_bytes())
            else:
                target.unlink(missing_ok=True)


def _unit_line(unit: dict) -> str:
    parts = []
    for name, e in unit["entries"].items():
        text = f"{name} {e['score']:.1f}"
        if "calibrated" in e:
            text += f" (calibrated {e['calibrated']['score']:.1f})"
        if "calibration_undefined" in e:
            text += f" (calibration undefined: {e['calibration_undefined']})"
        if "unparseable" in e:
            text += f" ({e['unparseable']['n']} unparseable)"
        parts.append(text)
    speed = unit["inference"]["examples_per_second"]
    return (f"{unit['task']} {unit['seed']}: {', '.join(parts) or 'no dev labels'}; "
            f"{unit['inference']['examples']} examples at {speed:.1f} ex/s")


def _write_results(run: RunDir, header: dict, backend, config: PromptConfig, n_resamples: int,
                   stats_seed: int, started: float) -> dict:
    units = run.units()
    extra = {
        "environment": {**environment(), **_device(backend)},
        "timings": {"run_seconds": time.perf_counter() - started,
                    "inference_seconds": sum(u["inference"]["seconds"] for u in units),
                    "inference_examples": sum(u["inference"]["examples"] for u in units)},
        "prompt": {"template": config.template, "shots": config.shots,
                   "scoring": config.scoring, "calibrate": config.calibrate,
                   "seeds": list(config.demo_seeds),
                   "spread": spread.template_spread(units),
                   "contamination": contamination_note(header["model"])},
    }
    results = results_document(run, units, header, n_resamples=n_resamples, seed=stats_seed,
                               extra=extra)
    return write_signed_json(Path(run.root) / "results.json", results)


def _device(backend) -> dict:
    if not hasattr(backend, "device"):
        return {"device": "endpoint", "endpoint": backend.url,
                "requests": dict(backend.stats)}
    import torch

    return {"device": backend.device, "bf16": backend.device == "cuda",
            "torch": torch.__version__, "threads": torch.get_num_threads()}
