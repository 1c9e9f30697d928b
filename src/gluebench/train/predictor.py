"""A fine-tuned checkpoint as a predictor: examples in, predictions (and probabilities) out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.benchmark.logits import Prediction, model_outputs, predictions_from_logits
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.tasks import Task
from gluebench.models import hf
from gluebench.train import features, loop


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
            ref = hf.resolve_model(self.checkpoint)
            model, _ = hf.load_classifier(ref)
            self._loaded = (model, hf.load_tokenizer(ref))
        return self._loaded

    def predict(self, examples: Examples, progress=None) -> Prediction:
        model, tokenizer = self.load()
        encoded = features.encode(tokenizer, examples, self.config.max_seq_length)
        logits = loop.predict(model, encoded, self.config, self.engine, progress)
        values = as_written(self.task, predictions_from_logits(self.task, logits,
                                                               self.permutation))
        return Prediction(values, model_outputs(self.task, logits, self.permutation))
