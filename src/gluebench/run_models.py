"""A finished run's models as predictors, whichever method made them.

Robustness, out-of-distribution and profiling all need "the model this run trained
for task T": its checkpoint (``results.json`` -> ``training.<T>.checkpoint``), the
label order it predicts in (a permutation for ``evaluate`` runs of foreign models),
and the run's tokenisation settings. ``RunModels`` finds and loads them once: a fine-tuned
checkpoint (``train.predictor``), a probe's frozen encoder and head (``probe.predictor``), or
a prompted LM rebuilt from its setup (``lm.predictor``).
"""

from __future__ import annotations

from pathlib import Path

from gluebench.benchmark.tasks import TASKS, Task, get_task
from gluebench.lm.predictor import prompted_run_predictor
from gluebench.probe.predictor import ProbePredictor
from gluebench.runs.readers import read_results, saved_model
from gluebench.train.config import build_config
from gluebench.train.loop import Engine
from gluebench.train.predictor import TaskPredictor


class RunModels:
    """The run's fine-tuned model per task, loaded lazily."""

    def __init__(self, run_dir: str | Path, *, device: str = "auto"):
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
            self._predictors[task.name] = prompted_run_predictor(self.root, self.results, task,
                                                                 self.device)
        elif self.is_probe(task):
            self._predictors[task.name] = ProbePredictor.from_run(self.root, self.results, task,
                                                                  self.engine)
        else:
            checkpoint, perm = saved_model(self.root, self.results, task)
            self._predictors[task.name] = TaskPredictor(task, checkpoint, perm, self.config,
                                                        self.engine)
        return self._predictors[task.name]
