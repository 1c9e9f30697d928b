"""``gluebench prompt --suite NAME``: a prompted LM on a suite's tasks (SuperGLUE, FewGLUE).

The run directory, unit loop and scoring are every suite method's (``runs.suite_units``,
``runs.units``): a unit is one template x demonstration seed; it predicts each of the
task's entries on each split (RTE's prompts also predict AX-b and AX-g), writes the suite's
official prediction files, scores dev with the suite's metrics, and records the
length-normalised and calibrated scores beside them. Demonstrations come from the task's
``train`` file (FewGLUE's 32 examples with ``--suite fewglue``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Suite, TaskDef
from gluebench.errors import UsageError
from gluebench.lm.backends import check_backend, make_backend
from gluebench.lm.config import PromptConfig
from gluebench.lm.runner import split_key, unit_key
from gluebench.lm.suite_predictor import SuitePromptPredictor, draw_demos
from gluebench.lm.suite_templates import get_suite_template, suite_templates_by_task
from gluebench.runs.rundir import RunDir
from gluebench.runs.suite_units import (
    has_split,
    predicted_tables,
    record_suite_split,
    suite_model_tasks,
    suite_reference,
    suite_run_dir,
    table_fingerprints,
    task_score,
    write_suite_results,
)
from gluebench.runs.units import UnitMethod, run_units, writing

CALIBRATED = "calibrated"     # seeds/<unit>/calibrated/{dev,test}: calibrated prediction files


def run_suite_prompt(suite: Suite, data_dir, config: PromptConfig, out_dir,
                     tasks_spec: str | None = "all", *, overwrite: bool = False,
                     progress: bool | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                     stats_seed: int = 0) -> dict:
    """Prompt ``config``'s model on every task of ``suite`` x template x seed, resumably."""
    run = suite_run_dir(out_dir, suite)
    tasks, templates = _prepare(suite, data_dir, config, tasks_spec, run, overwrite=overwrite)
    backend = make_backend(config, out_dir)    # loads the model: nothing is written yet
    header = {"kind": "prompt", "model": backend.description, "data_source": str(data_dir),
              "suite": suite_reference(suite), "config": config.to_dict()}
    with writing(run, header, [], overwrite=overwrite, progress=progress) as (bars, _):
        method = SuitePrompting(suite, data_dir, run, templates, backend, config, header,
                                n_resamples, stats_seed, time.perf_counter())
        return run_units(run, tasks, method, bars)


def _prepare(suite: Suite, data_dir, config: PromptConfig, tasks_spec: str | None,
             run: RunDir, *, overwrite: bool) -> tuple[list[TaskDef], dict[str, list[str]]]:
    """Every check before the first side effect: tasks, templates, scoring, demonstrations'
    train files, the backend and ``-o``."""
    if config.scoring != "ll":
        raise UsageError(f"--suite {suite.name}: only --scoring ll is supported (choices "
                         f"differ per example on COPA, MultiRC and ReCoRD); got {config.scoring}")
    tasks = suite_model_tasks(suite, tasks_spec)
    templates = suite_templates_by_task(config.template, tasks)
    if config.shots:
        missing = [t.name for t in tasks if not has_split(suite, t, "train", data_dir)]
        if missing:
            raise UsageError(f"--shots {config.shots} draws demonstrations from train; no train "
                             f"file for {', '.join(missing)} in {data_dir} (FewGLUE has them: "
                             "--suite fewglue)")
    check_backend(config)
    run.check_target(overwrite=overwrite)
    return tasks, templates


@dataclass
class SuitePrompting(UnitMethod):
    """A prompted LM in the unit loop for a suite's task: a unit is template x seed."""

    suite: Suite
    data_dir: object
    run: RunDir
    templates: dict[str, list[str]]
    backend: object
    config: PromptConfig
    header: dict
    n_resamples: int
    stats_seed: int
    started: float

    def unit_keys(self, task: TaskDef) -> list[str]:
        return [unit_key(t, s) for t in self.templates[task.name] for s in self.config.demo_seeds]

    def tables(self, task: TaskDef):
        return predicted_tables(self.suite, task, self.data_dir, self.config.splits,
                                max_eval_examples=self.config.max_eval_examples,
                                data_seed=self.config.data_seed)

    def train(self, task: TaskDef) -> dict:
        if not self.config.shots:
            return {}
        return {"train": load_split(self.suite, task, "train", self.data_dir, check_size=False)}

    def fingerprints(self, task: TaskDef) -> dict[str, str]:
        return table_fingerprints(self.tables(task), self.train(task))

    def run_unit(self, task: TaskDef, key: str) -> dict:
        start = time.perf_counter()
        template_name, seed = split_key(key)
        template = get_suite_template(task, template_name)
        pool = self.train(task).get("train")
        demos = draw_demos(pool, template, self.config.shots, seed) if pool else []
        entries, inference = {}, {"examples": 0, "seconds": 0.0}
        setup = None
        for entry, split, table, n_available in self.tables(task):
            entry_task = self.suite.task(entry.task)
            predictor = SuitePromptPredictor(entry_task, self.backend,
                                             get_suite_template(entry_task, template_name),
                                             demos, self.config.calibrate)
            began = time.perf_counter()
            pred = predictor.predict(table)
            inference["seconds"] += time.perf_counter() - began
            inference["examples"] += len(table)
            setup = setup or _setup(predictor, self.config)
            scored = self._record(key, entry, split, table, pred, n_available)
            if scored is not None:
                entries[entry.name] = scored
        inference["examples_per_second"] = inference["examples"] / max(inference["seconds"], 1e-9)
        return {"task": task.name, "seed": key, "template": template_name, "demo_seed": seed,
                "model": self.backend.description, "prompt": setup, "inference": inference,
                "entries": entries, "task_score": task_score(self.suite, entries),
                "seconds": time.perf_counter() - start}

    def _record(self, key: str, entry, split: str, table, pred, n_available: int) -> dict | None:
        """Write the entry's files (and calibrated ones); dev's scores with the variants."""
        root = self.run.seed_predictions(key)
        kwargs = {"n_resamples": self.n_resamples, "seed": self.stats_seed}
        scored = record_suite_split(root, self.suite, entry, split, table, pred.values,
                                    n_available=n_available, outputs=pred.probabilities, **kwargs)
        if pred.calibrated is not None:
            calibrated = record_suite_split(root.parent / CALIBRATED, self.suite, entry, split,
                                            table, pred.calibrated, **kwargs)
        if scored is None:
            return None
        from gluebench.benchmark.suite_scoring import score_entry  # deferred: scipy

        scored["length_normalised"] = _brief(entry, score_entry(entry, table, pred.normalised,
                                                                **_n(kwargs)))
        if pred.calibrated is not None:
            scored["calibrated"] = _brief(entry, calibrated)
        if pred.calibration_undefined is not None:
            scored["calibration_undefined"] = pred.calibration_undefined
        return scored

    def write_results(self, run: RunDir) -> dict:
        return write_suite_results(
            run, self.suite, self.header, started=self.started,
            n_resamples=self.n_resamples, stats_seed=self.stats_seed,
            more={"prompt": {"template": self.config.template, "shots": self.config.shots,
                             "scoring": self.config.scoring,
                             "calibrate": self.config.calibrate,
                             "seeds": list(self.config.demo_seeds)}})


def _n(kwargs: dict) -> dict:
    return {"n_resamples": kwargs["n_resamples"], "seed": kwargs["seed"]}


def _brief(entry, scored: dict) -> dict:
    return {k: scored[k] for k in (*entry.metrics, "score", "n", "ci")}


def _setup(predictor: SuitePromptPredictor, config: PromptConfig) -> dict:
    """What a unit records of its prompt (``results.json``'s ``training.<Task>.prompt``)."""
    t = predictor.template
    return {"template": t.name, "template_text": t.text, "choices": list(t.choices),
            "predicts": list(t.predicts), "entity_choice": t.entity_choice, "source": t.source,
            "shots": len(predictor.demos), "demos": predictor.demos, "scoring": config.scoring,
            "calibrate": config.calibrate}
