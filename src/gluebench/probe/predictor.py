"""A probe run's model for one task as a predictor: the frozen encoder plus the saved head.

``finetune --method probe`` saves each head under ``checkpoints/<Task>/seed-<S>/``
(``head.npz`` and ``head.json``, no pickle) with ``probe.json`` naming the encoder and
its settings; this rebuilds them, so robustness and the other analyses run on a probe
exactly as on a fine-tuned model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gluebench.benchmark.logits import Prediction, model_outputs, predictions_from_logits
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.sources import Examples
from gluebench.benchmark.tasks import Task
from gluebench.errors import UsageError
from gluebench.formats.atomic import read_json
from gluebench.models.hf import resolve_model
from gluebench.probe.embed import SentenceEncoder, embed_examples
from gluebench.probe.heads import Head

PROBE_FILE = "probe.json"
HEAD_FILES = ("head.npz", "head.json", PROBE_FILE)


def probe_folder(run_dir: str | Path, results: dict, task: Task) -> Path:
    """The run's own copy of the head first (a run may have moved), else the recorded one."""
    facts = results.get("training", {}).get(task.name, {})
    local = Path(run_dir) / "checkpoints" / task.name / f"seed-{facts.get('selected_seed')}"
    for folder in (local, Path(facts.get("checkpoint") or local)):
        if all((folder / name).is_file() for name in HEAD_FILES):
            return folder
    raise UsageError(f"{run_dir}: the {task.name} probe head is gone ({local} has no "
                     f"{', '.join(HEAD_FILES)})")


@dataclass
class ProbePredictor:
    task: Task
    checkpoint: str
    engine: object                 # loop.Engine
    _loaded: tuple | None = field(default=None, repr=False)

    @classmethod
    def from_run(cls, run_dir, results: dict, task: Task, engine) -> ProbePredictor:
        return cls(task, str(probe_folder(run_dir, results, task)), engine)

    def load(self):
        """(encoder, head), loaded on first use."""
        if self._loaded is None:
            folder = Path(self.checkpoint)
            saved = read_json(folder / PROBE_FILE)
            settings = saved["encoder"]
            device = "cpu" if settings["int8"] else self.engine.device
            encoder = SentenceEncoder(resolve_model(saved["model_path"]),
                                      max_length=settings["max_seq_length"], device=device,
                                      int8=settings["int8"], bf16=settings["dtype"] == "bf16")
            self._loaded = (encoder, Head.load(folder))
        return self._loaded

    def predict(self, examples: Examples, progress=None) -> Prediction:
        encoder, head = self.load()
        scores: np.ndarray = head.scores(embed_examples(encoder, [examples],
                                                        progress).features(examples))
        values = as_written(self.task, predictions_from_logits(self.task, scores, None))
        return Prediction(values, model_outputs(self.task, scores, None))
