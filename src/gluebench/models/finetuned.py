"""The fine-tuned models of a run directory as predictors: examples in, predictions out.

Robustness, out-of-distribution and profiling all need "the model this run trained
for task T": its checkpoint (``results.json`` -> ``training.<T>.checkpoint``), the
label order it predicts in (a permutation for ``evaluate`` runs of foreign models),
and the run's tokenisation settings. ``RunModels`` finds and loads them once; a probe
run's tasks get a ``models.probe.ProbePredictor`` (frozen encoder + saved head) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.sources import Examples
from gluebench.benchmark.tasks import TASKS, Task, get_task
from gluebench.errors import UsageError
from gluebench.formats.atomic import read_json
from gluebench.models.outputs import Prediction, model_outputs, predictions_from_logits
from gluebench.runs.integrity import CHECKSUM_KEY, read_signed_json, verify_file

__all__ = ["Prediction", "RunModels", "TaskPredictor", "read_results", "saved_model"]

def read_results(run_dir: str | Path) -> dict:
    """A run's ``results.json``; one line if it is missing, damaged or was edited."""
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a gluebench run directory (no results.json); "
                         "run gluebench finetune or evaluate first")
    results = read_json(path)
    if CHECKSUM_KEY in results:  # written by a run (hand-made documents carry none)
        results = read_signed_json(path, what="the run's results (results.json)")
    return results


def run_file(run_dir: str | Path, results: dict, relative: str) -> Path:
    """``RUN_DIR/relative``, checked against the hash the run recorded for it."""
    path = Path(run_dir) / relative
    verify_file(path, results.get("files", {}).get(relative), what=f"{relative} of the run")
    return path


def saved_model(run_dir: str | Path, results: dict, task: Task) -> tuple[str, np.ndarray | None]:
    """Where the run's fine-tuned ``task`` model is, and its label permutation (if any).

    A fine-tuning run's model is its own checkpoint, never anything else: if that is gone,
    one line says so (a recorded path could name another run's model). An ``evaluate`` run
    uses the model folder or hub name it was given.
    """
    training = results.get("training", {})
    facts = training.get(task.name, {})
    recorded = facts.get("checkpoint")
    if not recorded:
        have = [t for t in TASKS if training.get(t, {}).get("checkpoint")]
        raise UsageError(f"{run_dir}: no fine-tuned {task.name} model in this run "
                         f"(it has: {', '.join(have) or 'none'})")
    if facts.get("probe"):
        raise UsageError(f"{run_dir}: its {task.name} model is a frozen-encoder probe, not a "
                         "fine-tuned model folder; robustness, calibration, power and report "
                         "take the run directory itself")
    perm = facts.get("label_permutation")
    perm = None if perm is None else np.asarray(perm)
    local = Path(run_dir) / "checkpoints" / task.name / f"seed-{facts.get('selected_seed')}"
    if (local / "config.json").is_file():
        return str(local), perm
    if results.get("kind", "finetune") == "finetune":
        raise UsageError(f"{run_dir}: the fine-tuned {task.name} model of this run is gone "
                         f"({local} not found; were the checkpoints deleted or not copied "
                         "with the run?); fine-tune again to analyse it")
    if facts.get("checkpoint_source") == "hub":
        return recorded, perm
    if not Path(recorded).exists():
        raise UsageError(f"{run_dir}: the {task.name} model this run evaluated is gone "
                         f"({recorded} not found)")
    return recorded, perm


@dataclass
class TaskPredictor:
    task: Task
    checkpoint: str
    permutation: np.ndarray | None
    config: object                 # TrainConfig: max_seq_length, eval batch sizes
    engine: object                 # loop.Engine
    _loaded: tuple | None = field(default=None, repr=False)

    def load(self):
        """(model, tokenizer), loaded on first use."""
        if self._loaded is None:
            from gluebench.models import hf

            ref = hf.resolve_model(self.checkpoint)
            model, _ = hf.load_classifier(ref)
            self._loaded = (model, hf.load_tokenizer(ref))
        return self._loaded

    def predict(self, examples: Examples, progress=None) -> Prediction:
        from gluebench.train import features, loop

        model, tokenizer = self.load()
        encoded = features.encode(tokenizer, examples, self.config.max_seq_length)
        logits = loop.predict(model, encoded, self.config, self.engine, progress)
        values = as_written(self.task, predictions_from_logits(self.task, logits,
                                                               self.permutation))
        return Prediction(values, model_outputs(self.task, logits, self.permutation))


class RunModels:
    """The run's fine-tuned model per task, loaded lazily."""

    def __init__(self, run_dir: str | Path, *, device: str = "auto"):
        from gluebench.train.config import build_config
        from gluebench.train.loop import Engine

        self.root = Path(run_dir)
        self.results = read_results(run_dir)
        saved = self.results.get("config", {})
        keep = {k: saved[k] for k in ("max_seq_length", "eval_batch_size", "eval_batch_tokens",
                                      "precision") if saved.get(k) is not None}
        self.config = build_config(**keep, device=device)
        self.engine = Engine.choose(self.config)
        self.device = device
        self._predictors: dict[str, TaskPredictor] = {}

    def is_probe(self, task: Task) -> bool:
        """Whether the run's model for ``task`` is a frozen-encoder probe."""
        return bool(self.results.get("training", {}).get(task.name, {}).get("probe"))

    @property
    def tasks(self) -> list[str]:
        """Tasks with a saved model, in GLUE order."""
        training = self.results.get("training", {})
        return [t for t in TASKS if training.get(t, {}).get("checkpoint")]

    def predictor(self, task_name: str) -> TaskPredictor:
        task = get_task(task_name)
        if task.name in self._predictors:
            return self._predictors[task.name]
        if self.results.get("kind") == "prompt":   # a prompted LM: rebuilt from its setup
            from gluebench.lm.predictor import prompted_run_predictor

            self._predictors[task.name] = prompted_run_predictor(self.root, self.results, task,
                                                                 self.device)
        elif self.is_probe(task):
            from gluebench.models.probe import ProbePredictor

            self._predictors[task.name] = ProbePredictor.from_run(self.root, self.results, task,
                                                                  self.engine)
        else:
            checkpoint, perm = saved_model(self.root, self.results, task)
            self._predictors[task.name] = TaskPredictor(task, checkpoint, perm, self.config,
                                                        self.engine)
        return self._predictors[task.name]
